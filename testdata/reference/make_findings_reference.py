"""Independent references for analytics::findings (tests/findings.rs).

Part 1, pandas groupby on the UCI Online Retail II 2009-2010 data
(testdata/uci_online_retail_ii_2009-2010.parquet): November 2010 against October 2010, the
contribution of every country, product and customer type (new: first purchase in the data falls
in the period; returning; lines without a customer) to revenue, orders and customers.
Definitions as the Overview's: revenue sums quantity x price over lines of invoices not starting
with "C"; an order is such an invoice unless it is an adjustment (no customer on any of its lines
in the period and its value, rounded to cents, 0 or less); a customer counts once a period, in the
country and type of their first order of the period (earliest line time, then invoice number).
Writes testdata/reference/findings_uci_contributions_pandas.csv.

Part 2, SciPy and statsmodels on fixed inputs: Welch's t (scipy.stats.ttest_ind, equal_var=False),
the conditional Poisson test (scipy.stats.binomtest), the two-proportion z test
(statsmodels proportions_ztest), the paired t test (scipy.stats.ttest_rel), Sen's slope (scipy.stats.theilslopes),
Kendall's S (from scipy.stats.kendalltau's tau-a), Benjamini-Hochberg (statsmodels multipletests),
and the weekday-and-trend least squares (statsmodels OLS) with robust z-scores
(scipy.stats.median_abs_deviation, scale="normal"). Writes testdata/reference/findings_stats_scipy.csv.

Run from the repository root:  python3 testdata/reference/make_findings_reference.py
Needs pandas, pyarrow, scipy and statsmodels.
"""
import numpy as np
import pandas as pd
from scipy import stats
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

# ---- Part 1 ----
df = pd.read_parquet("testdata/uci_online_retail_ii_2009-2010.parquet")
df["Invoice"] = df["Invoice"].astype(str)
df = df[~df["Invoice"].str.match(r"^C\d+$")].copy()
df["value"] = df["Quantity"] * df["Price"]
df["time"] = pd.to_datetime(df["InvoiceDate"])
df["day"] = df["time"].dt.normalize()
df["customer"] = df["Customer ID"].map(lambda c: None if pd.isna(c) else str(int(c)))
first_purchase = df.dropna(subset=["customer"]).groupby("customer")["day"].min()

periods = {"previous": ("2010-10-01", "2010-10-31"), "current": ("2010-11-01", "2010-11-30")}
rows = []
frames = {}
for name, (start, end) in periods.items():
    p = df[(df["day"] >= start) & (df["day"] <= end)].copy()
    start = pd.Timestamp(start)
    p["customer_type"] = p["customer"].map(
        lambda c: "lines without a customer" if pd.isna(c) else ("new customers" if first_purchase[c] >= start else "returning customers")
    )
    frames[name] = p

def invoices(p):
    p = p.sort_values(["time"], kind="stable")
    inv = p.groupby("Invoice", sort=False).agg(
        value=("value", "sum"),
        with_customer=("customer", lambda s: s.notna().any()),
        country=("Country", "first"),
        customer=("customer", "first"),
        customer_type=("customer_type", "first"),
        time=("time", "min"),
    )
    adjustment = (~inv["with_customer"]) & ((inv["value"] * 100).round() <= 0)
    return inv[~adjustment]

for dimension, column in [("country", "Country"), ("product", "StockCode"), ("customer type", "customer_type")]:
    for name, p in frames.items():
        for subject, value in p.groupby(column)["value"].sum().items():
            rows.append(("revenue", dimension, subject, name, value))
for dimension, column in [("country", "country"), ("customer type", "customer_type")]:
    for name, p in frames.items():
        orders = invoices(p)
        for subject, n in orders.groupby(column).size().items():
            rows.append(("orders", dimension, subject, name, float(n)))
        firsts = orders.dropna(subset=["customer"]).reset_index().sort_values(["time", "Invoice"]).groupby("customer").first()
        for subject, n in firsts.groupby(column).size().items():
            rows.append(("customers", dimension, subject, name, float(n)))
out = pd.DataFrame(rows, columns=["metric", "dimension", "subject", "period", "value"])
out = out.pivot_table(index=["metric", "dimension", "subject"], columns="period", values="value", aggfunc="sum", fill_value=0.0).reset_index()
out = out[["metric", "dimension", "subject", "previous", "current"]]
out.to_csv("testdata/reference/findings_uci_contributions_pandas.csv", index=False, float_format="%.6f")
print("contributions:", len(out))

# ---- Part 2 ----
ref = []
a = [12.0, 15.5, 9.0, 14.0, 11.0, 13.5, 10.0]
b = [16.0, 18.5, 14.0, 21.0, 17.5]
t = stats.ttest_ind(b, a, equal_var=False)
ref += [("welch_t", t.statistic), ("welch_p", t.pvalue)]
for (x, n, days_a, days_b) in [(23, 35, 31, 30), (79, 79, 31, 30), (5, 30, 30, 30), (40, 60, 28, 31)]:
    ref.append((f"poisson_p_{x}_{n}_{days_a}_{days_b}", stats.binomtest(x, n, days_b / (days_a + days_b)).pvalue))
months = [820.0, 790.0, 860.0, 900.0, 880.0, 950.0, 1010.0, 990.0, 1080.0, 1100.0, 1100.0, 1180.0]
ref.append(("sen_slope", stats.theilslopes(months).slope))
tau = stats.kendalltau(np.arange(len(months)), months, variant="b")
n = len(months)
# S from tau-b: no ties in time, so tau_b = S / sqrt(n0 (n0 - n1)) with n1 the tied pairs of x.
counts = pd.Series(months).value_counts()
n0 = n * (n - 1) / 2
n1 = sum(c * (c - 1) / 2 for c in counts)
ref.append(("mann_kendall_s", tau.statistic * np.sqrt(n0 * (n0 - n1))))
var = (n * (n - 1) * (2 * n + 5) - sum(c * (c - 1) * (2 * c + 5) for c in counts)) / 18
s = round(tau.statistic * np.sqrt(n0 * (n0 - n1)))
z = (s - np.sign(s)) / np.sqrt(var)
ref += [("mann_kendall_var", var), ("mann_kendall_p", 2 * stats.norm.sf(abs(z)))]
from statsmodels.stats.proportion import proportions_ztest
for (x0, n0, x1, n1) in [(150, 420, 120, 400), (30, 100, 45, 100), (512, 2000, 560, 2100)]:
    z, p = proportions_ztest([x1, x0], [n1, n0])
    ref += [(f"two_proportion_z_{x0}_{n0}_{x1}_{n1}", z), (f"two_proportion_p_{x0}_{n0}_{x1}_{n1}", p)]
differences = [6.1, 7.4, 5.2, 9.9, 4.8, 6.6, 8.1, 3.9]
t = stats.ttest_rel(np.array(differences), np.zeros(len(differences)))
ref += [("paired_t", t.statistic), ("paired_p", t.pvalue)]
p_values = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
reject = multipletests(p_values, alpha=0.05, method="fdr_bh")[0]
ref.append(("bh_passed", float(reject.sum())))

rng = np.random.default_rng(7)
days = np.arange(18900, 18900 + 70)  # 2021-09-30 onwards
weekday = (days + 3) % 7  # Monday = 0
level = np.array([100, 110, 105, 120, 140, 60, 20], dtype=float)
y = level[weekday] + 0.8 * (days - days[0]) + rng.normal(0, 8, len(days))
y[50] += 120
pd.DataFrame({"day": days, "value": y}).to_csv("testdata/reference/findings_daily_fixture.csv", index=False, float_format="%.6f")
X = pd.get_dummies(pd.Categorical(weekday, categories=range(7)), drop_first=True).astype(float)
X["trend"] = days - days[0]
X = sm.add_constant(X)
fit = sm.OLS(y, X).fit()
resid = y - fit.fittedvalues
zs = (resid - np.median(resid)) / stats.median_abs_deviation(resid, scale="normal")
ref += [("ols_fitted_0", fit.fittedvalues[0]), ("ols_fitted_50", fit.fittedvalues[50]), ("ols_fitted_69", fit.fittedvalues[69]),
        ("robust_z_50", zs[50]), ("robust_z_10", zs[10]), ("robust_z_above_3_5", float((np.abs(zs) >= 3.5).sum()))]
pd.DataFrame(ref, columns=["name", "value"]).to_csv("testdata/reference/findings_stats_scipy.csv", index=False, float_format="%.10g")
print(pd.DataFrame(ref, columns=["name", "value"]))
