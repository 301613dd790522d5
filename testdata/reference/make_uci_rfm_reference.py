"""Independent RFM reference for tests/customers.rs on the UCI Online Retail II 2009-2010 data
(testdata/uci_online_retail_ii_2009-2010.parquet).

Scores (R, F, M): equal values get equal scores. Each customer's score is the quintile of the
average rank of their value, `rank(method="average", pct=True)` cut at 0.2, 0.4, 0.6, 0.8
(right-closed); recency is reversed (the most recent score 5). The widespread recipe that breaks
ties by order (`qcut(frequency.rank(method="first"))`) is kept beside it as R_first, F_first,
M_first, for the agreement figure printed at the end.

Run from the repository root:  python3 testdata/reference/make_uci_rfm_reference.py
Needs pandas and pyarrow. Writes testdata/reference/uci_rfm_pandas.csv.
"""
import pandas as pd

df = pd.read_parquet("testdata/uci_online_retail_ii_2009-2010.parquet")
df = df[~df["Invoice"].astype(str).str.startswith("C")]
df = df.dropna(subset=["Customer ID"])
df["value"] = df["Quantity"] * df["Price"]
df["day"] = pd.to_datetime(df["InvoiceDate"]).dt.normalize()
analysis_date = df["day"].max() + pd.Timedelta(days=1)

rfm = df.groupby("Customer ID").agg(
    recency=("day", lambda d: (analysis_date - d.max()).days),
    frequency=("Invoice", "nunique"),
    monetary=("value", "sum"),
)
bins = [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def quintile(values):
    return pd.cut(values.rank(method="average", pct=True), bins, labels=[1, 2, 3, 4, 5]).astype(int)


rfm["R"] = 6 - quintile(rfm["recency"])
rfm["F"] = quintile(rfm["frequency"])
rfm["M"] = quintile(rfm["monetary"])
rfm["R_first"] = pd.qcut(rfm["recency"], 5, labels=[5, 4, 3, 2, 1]).astype(int)
rfm["F_first"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
rfm["M_first"] = pd.qcut(rfm["monetary"], 5, labels=[1, 2, 3, 4, 5]).astype(int)

seg_map = {
    r"[1-2][1-2]": "Hibernating",
    r"[1-2][3-4]": "At Risk",
    r"[1-2]5": "Can't Lose Them",
    r"3[1-2]": "About to Sleep",
    r"33": "Need Attention",
    r"[3-4][4-5]": "Loyal Customers",
    r"41": "Promising",
    r"51": "New Customers",
    r"[4-5][2-3]": "Potential Loyalists",
    r"5[4-5]": "Champions",
}
rfm["segment"] = (rfm["R"].astype(str) + rfm["F"].astype(str)).replace(seg_map, regex=True)
rfm.index = rfm.index.astype(int).astype(str)
rfm.index.name = "customer_id"
rfm["monetary"] = rfm["monetary"].round(2)
rfm["segment_first"] = (rfm["R_first"].astype(str) + rfm["F_first"].astype(str)).replace(seg_map, regex=True)
print("analysis date", analysis_date.date(), "customers", len(rfm))
same = (rfm[["R", "F", "M"]].values == rfm[["R_first", "F_first", "M_first"]].values)
print("same R, F and M as the order-breaking recipe: %.1f%%" % (100 * same.all(axis=1).mean()))
for i, d in enumerate("RFM"):
    print("  same %s: %.1f%%" % (d, 100 * same[:, i].mean()))
print("same segment: %.1f%%" % (100 * (rfm["segment"] == rfm["segment_first"]).mean()))
rfm.to_csv("testdata/reference/uci_rfm_pandas.csv")
