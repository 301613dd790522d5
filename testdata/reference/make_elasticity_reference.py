"""Price elasticities fitted by statsmodels, for tests/pricing.rs.

Writes a fixture of daily sales for six products over 150 days (2024-01-01 on): our price in
spells of 2-6 weeks, units drawn from a Poisson with a planted elasticity and a weekday effect,
zeros included. Then fits each product with statsmodels' GLM(family=Poisson()),
`units ~ log(price) + C(weekday)`, and writes the elasticity, its standard error and the 95%
interval: an independent fitter for the IRLS in src/analytics/elasticity.rs.

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
for product, (elasticity, demand, list_price) in enumerate(
    [(-2.5, 12.0, 10.0), (-1.2, 4.0, 25.0), (-0.6, 30.0, 3.5), (-3.0, 2.0, 80.0), (-1.8, 8.0, 12.0), (-1.0, 0.6, 40.0)]
):
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
        mean = demand * (p / list_price) ** elasticity * weekday_effect[date.weekday()]
        rows.append((f"E{product + 1}", date.isoformat(), p, int(rng.poisson(mean))))

with open("testdata/reference/elasticity_fixture.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["product_id", "date", "price", "units"])
    w.writerows(rows)

frame = pd.DataFrame(rows, columns=["product_id", "date", "price", "units"])
frame["weekday"] = pd.to_datetime(frame["date"]).dt.day_of_week
with open("testdata/reference/elasticity_statsmodels.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["product_id", "elasticity", "std_err", "ci_low", "ci_high"])
    for product, group in frame.groupby("product_id"):
        fit = smf.glm("units ~ np.log(price) + C(weekday)", data=group, family=sm.families.Poisson()).fit(tol=1e-13, maxiter=200)
        assert fit.converged
        low, high = fit.conf_int().loc["np.log(price)"]
        w.writerow([product, repr(float(fit.params["np.log(price)"])), repr(float(fit.bse["np.log(price)"])), repr(float(low)), repr(float(high))])
