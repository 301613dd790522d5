"""Independent reference for analytics::impact's difference-in-differences (tests/pricing.rs).

A committed panel (testdata/reference/impact_panel.csv): one treated product and four controls,
14 days before and 14 days after a price change on day 14, daily units drawn with a seed. The
reference is statsmodels OLS of units on product and day fixed effects and the treated-after
indicator, with heteroskedasticity-robust (HC2) standard errors, the 95% interval from the t
distribution on the residual degrees of freedom (use_t=True), and P(effect > 0) as the t
distribution's probability below effect / se. HC2, not OLS's default: products sell at very
different volumes, and the treated product's own noise is what the estimate carries; not HC1:
with one treated product and few controls its days have high leverage.

Run from the repository root:  python3 testdata/reference/make_impact_reference.py
Needs numpy, pandas, scipy and statsmodels.
"""
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

rng = np.random.default_rng(33)
rows = []
for product in range(5):
    base = [20.0, 12.0, 15.0, 9.0, 30.0][product]
    for day in range(28):
        post = day >= 14
        treated = product == 0
        season = 2.0 * np.sin(day / 4.0)
        effect = -4.0 if (treated and post) else 0.0
        units = max(0.0, base + season + effect + rng.normal(0, 2.0))
        rows.append((f"P{product}", day, round(units, 3), int(treated), int(post)))
panel = pd.DataFrame(rows, columns=["product", "day", "units", "treated", "post"])
panel.to_csv("testdata/reference/impact_panel.csv", index=False)
panel["treated_post"] = panel["treated"] * panel["post"]
fit = smf.ols("units ~ C(product) + C(day) + treated_post", data=panel).fit(cov_type="HC2", use_t=True)
effect, se = fit.params["treated_post"], fit.bse["treated_post"]
low, high = fit.conf_int(0.05).loc["treated_post"]
df = fit.df_resid
p_positive = stats.t.cdf(effect / se, df)
out = pd.DataFrame([("effect", effect), ("se", se), ("ci_low", low), ("ci_high", high), ("df", df), ("p_positive", p_positive)], columns=["name", "value"])
out.to_csv("testdata/reference/impact_statsmodels.csv", index=False, float_format="%.12g")
print(out)
