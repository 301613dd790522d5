"""Price elasticities fitted by statsmodels, for tests/pricing.rs.

Writes a fixture of daily sales for six products over 150 days (2024-01-01 on): our price in
spells of 2-6 weeks, units drawn from a Poisson with a planted elasticity and a weekday effect,
zeros included. Two more products test the hard cases: E7 never sells on Sundays (a shop
closed that day: its weekday coefficient runs to minus infinity) and E8 sells two years with a
Christmas peak while its price is higher in November and December (month-of-year terms).

Then fits each product with statsmodels' GLM(family=Poisson()),
`units ~ log(price) + C(weekday)` (+ `C(month)` for E8, the rule in src/analytics/elasticity.rs:
a year of history and every month in two different years), and writes the elasticity, its model-based standard
error, the quasi-Poisson one (`fit(scale="X2")`) and the 95% quasi-Poisson interval: an
independent fitter for src/analytics/glm.rs and src/analytics/elasticity.rs.

Monthly totals: the Kaggle retail-price excerpt (testdata/kaggle_retail_price_excerpt.csv),
`qty ~ log(unit_price)` per product, same outputs (elasticity_monthly_statsmodels.csv).

Pooling: statsmodels' `combine_effects(method_re="dl")` on five hand-set estimates
(elasticity_pooling_statsmodels.csv): the DerSimonian-Laird between-product variance and the
random-effects mean with its variance.

Run from the repository root (needs numpy, pandas and statsmodels):
    python3 testdata/reference/make_elasticity_reference.py
"""
import csv
import datetime as dt

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

rng = np.random.default_rng(20261129)
start = dt.date(2024, 1, 1)
weekday_effect = np.array([0.9, 0.95, 1.0, 1.0, 1.1, 1.3, 1.2])
rows = []


def spelled_product(product_id, elasticity, demand, list_price, closed_weekday=None):
    """150 days at prices in spells of 2-6 weeks around `list_price`; no sale on `closed_weekday`."""
    day, price = 0, list_price
    spells = []
    while day < 150:
        spells.append((day, price))
        day += int(rng.integers(14, 42))
        price = round(list_price * rng.uniform(0.8, 1.2), 2)
    spell = 0
    for d in range(150):
        while spell + 1 < len(spells) and spells[spell + 1][0] <= d:
            spell += 1
        p = spells[spell][1]
        date = start + dt.timedelta(days=d)
        mean = 0.0 if date.weekday() == closed_weekday else demand * (p / list_price) ** elasticity * weekday_effect[date.weekday()]
        rows.append((product_id, date.isoformat(), p, int(rng.poisson(mean))))


for product, (elasticity, demand, list_price) in enumerate(
    [(-2.5, 12.0, 10.0), (-1.2, 4.0, 25.0), (-0.6, 30.0, 3.5), (-3.0, 2.0, 80.0), (-1.8, 8.0, 12.0), (-1.0, 0.6, 40.0)]
):
    spelled_product(f"E{product + 1}", elasticity, demand, list_price)

# E7: like the others but closed on Sundays (never a sale).
spelled_product("E7", -1.5, 5.0, 20.0, closed_weekday=6)

# E8: two years; demand triples in November and December, when the price is the higher tier.
for d in range(730):
    date = start + dt.timedelta(days=d)
    christmas = date.month in (11, 12)
    p = 15.0 if christmas else (12.0 if (d // 45) % 2 == 0 else 13.0)
    mean = 3.0 * (p / 12.0) ** -1.0 * (3.0 if christmas else 1.0) * weekday_effect[date.weekday()]
    rows.append(("E8", date.isoformat(), p, int(rng.poisson(mean))))

with open("testdata/reference/elasticity_fixture.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["product_id", "date", "price", "units"])
    w.writerows(rows)

frame = pd.DataFrame(rows, columns=["product_id", "date", "price", "units"])
frame["weekday"] = pd.to_datetime(frame["date"]).dt.day_of_week
with open("testdata/reference/elasticity_statsmodels.csv", "w", newline="") as f:
    w = csv.writer(f)
frame["month"] = pd.to_datetime(frame["date"]).dt.month


def fit_row(product, formula, data):
    model = smf.glm(formula, data=data, family=sm.families.Poisson())
    plain = model.fit(tol=1e-13, maxiter=300)
    quasi = model.fit(tol=1e-13, maxiter=300, scale="X2")
    assert plain.converged and quasi.converged
    term = [t for t in plain.params.index if t.startswith("np.log")][0]
    low, high = quasi.conf_int().loc[term]
    return [product, repr(float(plain.params[term])), repr(float(plain.bse[term])), repr(float(quasi.bse[term])), repr(float(low)), repr(float(high))]


header = ["product_id", "elasticity", "std_err", "quasi_std_err", "ci_low", "ci_high"]
with open("testdata/reference/elasticity_statsmodels.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    for product, group in frame.groupby("product_id"):
        formula = "units ~ np.log(price) + C(weekday)" + (" + C(month)" if product == "E8" else "")
        w.writerow(fit_row(product, formula, group))

kaggle = pd.read_csv("testdata/kaggle_retail_price_excerpt.csv")
with open("testdata/reference/elasticity_monthly_statsmodels.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    for product, group in kaggle.groupby("product_id"):
        if group["unit_price"].nunique() > 1 and len(group) > 3:
            w.writerow(fit_row(product, "qty ~ np.log(unit_price)", group))

from statsmodels.stats.meta_analysis import combine_effects

effects = np.array([-2.1, -1.4, -0.6, -1.9, -1.2])
std_errs = np.array([0.3, 0.25, 0.4, 0.2, 0.35])
combined = combine_effects(effects, std_errs**2, method_re="dl")
with open("testdata/reference/elasticity_pooling_statsmodels.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["effects", "std_errs", "tau2", "re_mean", "re_variance"])
    w.writerow([" ".join(map(str, effects)), " ".join(map(str, std_errs)), repr(float(combined.tau2)), repr(float(combined.mean_effect_re)), repr(float(combined.var_eff_w_re))])
