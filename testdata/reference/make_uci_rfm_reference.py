"""Independent RFM reference for tests/customers.rs: the widespread pandas recipe on the UCI
Online Retail II 2009-2010 data (testdata/uci_online_retail_ii_2009-2010.parquet).

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
rfm["R"] = pd.qcut(rfm["recency"], 5, labels=[5, 4, 3, 2, 1]).astype(int)
rfm["F"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
rfm["M"] = pd.qcut(rfm["monetary"], 5, labels=[1, 2, 3, 4, 5]).astype(int)

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
print("analysis date", analysis_date.date(), "customers", len(rfm))
rfm.to_csv("testdata/reference/uci_rfm_pandas.csv")
