"""Per-customer predictions of the published CDNOW models, for tests/customers.rs.

BG/NBD (Fader, Hardie & Lee 2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, weekly units.
Gamma-Gamma (Fader & Hardie 2013): p = 6.25, q = 3.74, v = 15.44.
Evaluated straight from the papers' formulas with SciPy's hyp2f1 (no Euler transformation), on
the first 200 customers of testdata/cdnow_customers_summary_with_transactions.csv.

Run from the repository root:  python3 testdata/reference/make_cdnow_reference.py
"""
import csv

from scipy.special import hyp2f1

r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
p, q, v = 6.25, 3.74, 15.44
t = 39.0


def p_alive(x, tx, T):
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x))


def expected(x, tx, T):
    z = t / (alpha + T + t)
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    den = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return num / den


def spend(x, m):
    return p * (v + x * m) / (p * x + q - 1) if x > 0 else p * v / (q - 1)


with open("testdata/cdnow_customers_summary_with_transactions.csv") as f, open("testdata/reference/cdnow_predictions_scipy.csv", "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["ID", "x", "t_x", "T", "zbar", "p_alive", "expected_39_weeks", "expected_spend"])
    for i, row in enumerate(csv.DictReader(f)):
        if i == 200:
            break
        x, tx, T, m = int(row["x"]), float(row["t_x"]), float(row["T"]), float(row["zbar"])
        w.writerow([row["ID"], x, tx, T, m, repr(float(p_alive(x, tx, T))), repr(float(expected(x, tx, T))), repr(float(spend(x, m)))])
