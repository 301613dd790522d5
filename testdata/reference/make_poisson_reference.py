"""The demand forecast's Poisson regression fitted by statsmodels, for tests/events.rs.

Writes a fixture of 400 rows shaped like the forecast's training rows (ln(1 + purchases, views,
carts) of two earlier weeks and ln(1 + mean price), then the week's purchases), drawn with a
fixed seed, and the coefficients statsmodels' GLM(family=Poisson()) finds for it by IRLS: an
independent fitter for the L-BFGS fit in src/analytics/forecast.rs.

Run from the repository root (needs numpy and statsmodels):
    python3 testdata/reference/make_poisson_reference.py
"""
import csv

import numpy as np
import statsmodels.api as sm

rng = np.random.default_rng(20261129)
n = 400
counts = rng.poisson(lam=[2.0, 30.0, 5.0, 2.0, 30.0, 5.0], size=(n, 6))
price = rng.uniform(2.0, 150.0, size=n)
X = np.column_stack([np.log1p(counts), np.log1p(price)])
beta = np.array([-1.0, 0.45, 0.12, 0.25, 0.15, 0.05, 0.08, -0.05])
y = rng.poisson(np.exp(beta[0] + X @ beta[1:]))

fit = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-13, maxiter=200)
assert fit.converged

names = ["purchases_1", "views_1", "carts_1", "purchases_2", "views_2", "carts_2", "price"]
with open("testdata/reference/poisson_fixture.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(names + ["target"])
    for row, target in zip(X, y):
        w.writerow([repr(float(v)) for v in row] + [int(target)])
with open("testdata/reference/poisson_statsmodels.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["coefficient", "value", "std_err"])
    for name, value, se in zip(["intercept"] + names, fit.params, fit.bse):
        w.writerow([name, repr(float(value)), repr(float(se))])
    w.writerow(["log_likelihood", repr(float(fit.llf)), ""])
