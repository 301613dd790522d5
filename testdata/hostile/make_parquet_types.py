"""Writes the Parquet files of the hostile corpus (run from this folder with pyarrow installed).

Each holds logical types a shop export can contain; see README.md for what must load.
"""
import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

# Order lines (UCI layout) with a decimal price, dictionary strings, a naive timestamp and
# pandas' float customer ids (NaN for a missing one).
orders = pa.table({
    "Invoice": pa.array(["489434", "489434", "489435", "C489436"]).dictionary_encode(),
    "StockCode": ["85048", "79323P", "22195", "85048"],
    "Description": ["CRÈME BRÛLÉE SET", "PINK CHERRY LIGHTS", "HEART MEASURING SPOONS", "CRÈME BRÛLÉE SET"],
    "Quantity": pa.array([12, 6, 24, -1], pa.int32()),
    "InvoiceDate": pa.array([dt.datetime(2009, 12, 1, 7, 45), dt.datetime(2009, 12, 1, 7, 45),
                             dt.datetime(2009, 12, 1, 9, 6, 30), dt.datetime(2009, 12, 2, 10, 0)], pa.timestamp("us")),
    "Price": pa.array([Decimal("6.95"), Decimal("1234.50"), Decimal("0.85"), Decimal("6.95")], pa.decimal128(10, 2)),
    "Customer ID": pa.array([13085.0, 13085.0, float("nan"), 13085.0], pa.float64()),
    "Country": pa.array(["United Kingdom"] * 4).dictionary_encode(),
})
pq.write_table(orders, "orders_types.parquet")

# REES46 events with a time-zone-aware event_time (Europe/Berlin: 02:00 there is 00:00 UTC), a
# 19-digit category id, a float32 price and one event without a session (REES46 has them).
berlin = dt.timezone(dt.timedelta(hours=2))
events = pa.table({
    "event_time": pa.array([dt.datetime(2019, 10, 1, 2, 0, 0, tzinfo=berlin), dt.datetime(2019, 10, 1, 2, 0, 5, 250000, tzinfo=berlin),
                            dt.datetime(2019, 10, 1, 2, 1, 0, tzinfo=berlin)], pa.timestamp("us", tz="Europe/Berlin")),
    "event_type": pa.array(["view", "cart", "view"]).dictionary_encode(),
    "product_id": pa.array([44600062, 44600062, 3900821], pa.int64()),
    "category_id": pa.array([2103807459595387724, 2103807459595387724, 2053013552326770905], pa.int64()),
    "category_code": [None, None, "appliances.environment.water_heater"],
    "brand": ["shiseido", "shiseido", "aqua"],
    "price": pa.array([35.79, 35.79, 33.20], pa.float32()),
    "user_id": pa.array([541312140, 541312140, 554748717], pa.int64()),
    "user_session": ["72d76fde-8bb3-4e00-8c23-a032dfed738c", "72d76fde-8bb3-4e00-8c23-a032dfed738c", None],
})
pq.write_table(events, "events_tz.parquet")

# A table of no known kind: a date, INT96 timestamps (old Spark and Impala), a wide decimal, and
# strings written as plain binary (no UTF-8 annotation, as older writers do).
other = pa.table({
    "order_date": pa.array([dt.date(2024, 2, 29), dt.date(1999, 12, 31)], pa.date32()),
    "shipped_at": pa.array([dt.datetime(2024, 3, 1, 12, 30, 15), dt.datetime(2000, 1, 1)], pa.timestamp("ns")),
    "amount": pa.array([Decimal("12345678901234567890.0123456789"), Decimal("-0.0000000001")], pa.decimal128(38, 10)),
    "code": pa.array([b"A-17", b"B-\xc3\xa9"], pa.binary()),
})
pq.write_table(other, "int96_dates.parquet", use_deprecated_int96_timestamps=True, store_schema=False)

# A list column: nested values are refused, naming the column.
nested = pa.table({"order_id": [1, 2], "tags": pa.array([["gift"], ["sale", "gift"]], pa.list_(pa.string()))})
pq.write_table(nested, "nested.parquet")
