"""A/B price test reference (issue 14): a seeded fixture of two products' order lines, and SciPy's
Welch comparison of arm B against arm A per day, which `shoplens pricing abtest` must reproduce.

Run from the repository root with numpy and SciPy installed:
    python testdata/reference/make_abtest_reference.py
Writes testdata/abtest_orders.csv, testdata/abtest_catalogue.csv and
testdata/reference/abtest_scipy.csv (one row per test and metric).

Arms, dates inclusive:
  period: product AB1 at 10.00 from 2024-01-01 to 2024-02-11 (A, 6 weeks), at 9.00 from
          2024-02-12 to 2024-03-24 (B, 6 weeks);
  group:  AB1 (A) against AB2 (B), both over 2024-01-01..2024-03-24.
Days without a sale count as zero. profit = revenue - units * cost.
P(B > A) is the Student t CDF of the Welch statistic with the Welch-Satterthwaite degrees of
freedom (a flat prior on the difference); the interval is SciPy's `confidence_interval(0.95)`.
"""
import csv
import datetime as dt

import numpy as np
from scipy import stats

rng = np.random.default_rng(14)
start = dt.date(2024, 1, 1)
days = [start + dt.timedelta(days=i) for i in range(84)]
switch = dt.date(2024, 2, 12)
COST = {"AB1": 6.0, "AB2": 4.0}

lines = []
invoice = 500000
for day in days:
    for product, (rate_a, rate_b, price_a, price_b) in {"AB1": (3.0, 4.2, 10.0, 9.0), "AB2": (2.0, 2.0, 7.5, 7.5)}.items():
        after = day >= switch
        price = price_b if after else price_a
        orders = rng.poisson(rate_b if after else rate_a)
        for k in range(orders):
            invoice += 1
            quantity = int(rng.integers(1, 4))
            time = dt.datetime.combine(day, dt.time(9 + k % 8, int(rng.integers(0, 60))))
            lines.append([str(invoice), product, f"TEST PRODUCT {product}", quantity, time.strftime("%Y-%m-%d %H:%M:%S"), f"{price:.2f}", "12345", "United Kingdom"])

with open("testdata/abtest_orders.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"])
    w.writerows(lines)
with open("testdata/abtest_catalogue.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["product_id", "name", "category", "brand", "cost", "price", "stock"])
    w.writerow(["AB1", "TEST PRODUCT AB1", "test", "fixture", "6.00", "9.00", "100"])
    w.writerow(["AB2", "TEST PRODUCT AB2", "test", "fixture", "4.00", "7.50", "100"])


def daily(products, first, last):
    span = [d for d in days if first <= d <= last]
    index = {d: i for i, d in enumerate(span)}
    units, revenue, profit = np.zeros(len(span)), np.zeros(len(span)), np.zeros(len(span))
    for inv, product, _, quantity, time, price, _, _ in lines:
        day = dt.datetime.strptime(time, "%Y-%m-%d %H:%M:%S").date()
        if product in products and day in index:
            i = index[day]
            units[i] += quantity
            revenue[i] += quantity * float(price)
            profit[i] += quantity * float(price) - quantity * COST[product]
    return {"units_per_day": units, "revenue_per_day": revenue, "profit_per_day": profit}


tests = {
    "period": (daily({"AB1"}, start, switch - dt.timedelta(days=1)), daily({"AB1"}, switch, days[-1])),
    "group": (daily({"AB1"}, start, days[-1]), daily({"AB2"}, start, days[-1])),
}
with open("testdata/reference/abtest_scipy.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["test", "metric", "a", "b", "difference", "ci_low", "ci_high", "p_b_greater"])
    for test, (a, b) in tests.items():
        for metric in ["units_per_day", "revenue_per_day", "profit_per_day"]:
            res = stats.ttest_ind(b[metric], a[metric], equal_var=False)
            ci = res.confidence_interval(0.95)
            p = stats.t.cdf(res.statistic, res.df)
            diff = b[metric].mean() - a[metric].mean()
            w.writerow([test, metric] + [f"{v:.6f}" for v in (a[metric].mean(), b[metric].mean(), diff, ci.low, ci.high, p)])
print("wrote the fixture and testdata/reference/abtest_scipy.csv")
