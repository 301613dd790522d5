"""CDNOW fitted by the `lifetimes` package (Cameron Davidson-Pilon), for tests/customers.rs.

lifetimes 0.11.3 fits BG/NBD (BetaGeoFitter) and Gamma-Gamma (GammaGammaFitter) with its own
likelihood code and SciPy's optimiser. This script fits both to
testdata/cdnow_customers_summary_with_transactions.csv (weeks; the file ships in the lifetimes
wheel too) and writes the fitted parameters and, per customer, P(alive), the expected number
of purchases in the next 39 weeks and the expected average order value. Our fit of the same
data must give the same numbers: an external reference for the whole chain (likelihood,
optimiser, predictions), not only for the formulas.

Run from the repository root:
    pip install lifetimes==0.11.3
    python3 testdata/reference/make_cdnow_lifetimes_reference.py
"""
import csv

import lifetimes
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

data = pd.read_csv("testdata/cdnow_customers_summary_with_transactions.csv")
bg = BetaGeoFitter(penalizer_coef=0.0)
bg.fit(data["x"], data["t_x"], data["T"])
repeat = data[data["x"] > 0]
gg = GammaGammaFitter(penalizer_coef=0.0)
gg.fit(repeat["x"], repeat["zbar"])

with open("testdata/reference/cdnow_lifetimes_params.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "parameter", "value"])
    for name in ["r", "alpha", "a", "b"]:
        w.writerow(["bgnbd", name, repr(float(bg.params_[name]))])
    for name in ["p", "q", "v"]:
        w.writerow(["gamma_gamma", name, repr(float(gg.params_[name]))])
    w.writerow(["meta", "lifetimes_version", lifetimes.__version__])

p_alive = bg.conditional_probability_alive(data["x"], data["t_x"], data["T"])
expected = bg.conditional_expected_number_of_purchases_up_to_time(39, data["x"], data["t_x"], data["T"])
spend = gg.conditional_expected_average_profit(data["x"], data["zbar"])
with open("testdata/reference/cdnow_predictions_lifetimes.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["ID", "x", "t_x", "T", "zbar", "p_alive", "expected_39_weeks", "expected_spend"])
    for i, row in data.iterrows():
        w.writerow([int(row["ID"]), int(row["x"]), row["t_x"], row["T"], row["zbar"],
                    repr(float(p_alive[i])), repr(float(expected[i])), repr(float(spend[i]))])
