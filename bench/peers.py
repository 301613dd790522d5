"""The peers `shoplens bench --what instant --peers` measures shoplens against: DuckDB and polars
(Python), on the same generated files, in the same run, pinned to the same cores.

Each call does one task and exits; the bench times the whole process, as it times shoplens's
own commands (interpreter and library start-up included, as a user's script would pay them).

    python peers.py duckdb import-orders ORDERS.csv STORE.duckdb
    python peers.py polars import-orders ORDERS.csv STORE.parquet
    python peers.py duckdb overview STORE.duckdb
    python peers.py polars overview STORE.parquet
    python peers.py duckdb import-events EVENTS.csv STORE.duckdb
    python peers.py polars import-events EVENTS.csv STORE.parquet
    python peers.py duckdb funnel STORE.duckdb
    python peers.py polars funnel STORE.parquet
    python peers.py duckdb first-rfm ORDERS.csv STORE.duckdb OUT.csv
    python peers.py polars first-rfm ORDERS.csv STORE.parquet OUT.csv
    python peers.py duckdb first-funnel EVENTS.csv STORE.duckdb
    python peers.py polars first-funnel EVENTS.csv STORE.parquet

"Import" is each tool's own way to keep the data: DuckDB loads the CSV into its database file,
polars reads the CSV and writes Parquet. "Overview" and "funnel" then open what the import kept
and compute what shoplens's Overview and default funnel show:

- Overview (all dates): revenue, orders, customers, cancelled and all invoices; per month the
  revenue, placed and cancelled orders and active customers; new customers by first month;
  every order's value; the ten best countries (revenue, orders) and fifty best products
  (revenue, units). A cancelled line is one whose invoice starts with "C".
- Funnel: view -> cart -> purchase by session in strict order (the session's first view; the
  first cart at or after it; the first purchase at or after that), overall and per top-level
  category (the funnel run per session and category).

The "first-" tasks are a user's first look at a new export (`shoplens bench --what first-look`):
import into the tool's durable store and compute the figures in one process, as
`shoplens import FILE --then rfm|funnel` does:

- RFM: per customer (not cancelled, with a customer id) the days from the last purchase to the
  day after the data's last, the number of invoices and the revenue, each scored 1-5 by
  quintile; written as CSV, one row per customer.

Each prints a one-line summary of what it computed, so a run can be checked by eye against
shoplens's own figures, and then its peak memory (`peak_rss_kib=N`).
"""

import resource
import sys

TOP_COUNTRIES = 10
TOP_PRODUCTS = 50


def duckdb_import(csv, store, table):
    import duckdb

    con = duckdb.connect(store)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS FROM read_csv('{csv}', header = true)")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.close()
    print(f"{rows} rows")


def polars_import(csv, store):
    import polars as pl

    # Codes are text even where the first rows look numeric ("C" invoices, lettered stock codes).
    text = {"Invoice": pl.String, "StockCode": pl.String, "Description": pl.String, "Country": pl.String}
    df = pl.read_csv(csv, try_parse_dates=True, schema_overrides=text)
    df.write_parquet(store)
    print(f"{df.height} rows")


def polars_import_events(csv, store):
    import polars as pl

    # REES46 times end in " UTC", which polars' date inference does not take: parsed explicitly.
    text = {"event_time": pl.String, "category_code": pl.String, "brand": pl.String, "user_session": pl.String}
    df = pl.read_csv(csv, schema_overrides=text).with_columns(
        pl.col("event_time").str.strip_suffix(" UTC").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
    )
    df.write_parquet(store)
    print(f"{df.height} rows")


OVERVIEW_LINES = """
    CREATE TEMP VIEW l AS SELECT Invoice AS invoice, StockCode AS product, "Customer ID" AS customer,
        Country AS country, Quantity AS quantity, Quantity * Price AS value,
        starts_with(CAST(Invoice AS VARCHAR), 'C') AS cancelled, date_trunc('month', InvoiceDate) AS month
    FROM order_lines
"""

OVERVIEW_QUERIES = [
    """SELECT sum(value) FILTER (NOT cancelled), count(DISTINCT invoice) FILTER (NOT cancelled),
              count(DISTINCT customer) FILTER (NOT cancelled AND customer IS NOT NULL),
              count(DISTINCT invoice) FILTER (cancelled), count(DISTINCT invoice) FROM l""",
    """SELECT month, sum(value) FILTER (NOT cancelled), count(DISTINCT invoice) FILTER (NOT cancelled),
              count(DISTINCT invoice) FILTER (cancelled),
              count(DISTINCT customer) FILTER (NOT cancelled AND customer IS NOT NULL)
       FROM l GROUP BY month ORDER BY month""",
    """SELECT first, count(*) FROM (SELECT customer, min(month) AS first FROM l
       WHERE NOT cancelled AND customer IS NOT NULL GROUP BY customer) GROUP BY first""",
    "SELECT invoice, sum(value) FROM l WHERE NOT cancelled GROUP BY invoice",
    f"""SELECT country, sum(value) AS revenue, count(DISTINCT invoice) FROM l WHERE NOT cancelled
        GROUP BY country ORDER BY revenue DESC LIMIT {TOP_COUNTRIES}""",
    f"""SELECT product, sum(value) AS revenue, sum(quantity) FROM l WHERE NOT cancelled
        GROUP BY product ORDER BY revenue DESC LIMIT {TOP_PRODUCTS}""",
]


def duckdb_overview(store):
    import duckdb

    con = duckdb.connect(store, read_only=True)
    con.execute(OVERVIEW_LINES)
    results = [con.execute(q).fetchall() for q in OVERVIEW_QUERIES]
    revenue, orders, customers, cancelled, invoices = results[0][0]
    print(f"revenue {revenue:.2f}, orders {orders}, customers {customers}, months {len(results[1])}, order values {len(results[3])}")


def polars_overview(store):
    import polars as pl

    lines = pl.scan_parquet(store).select(
        invoice=pl.col("Invoice").cast(pl.String),
        product=pl.col("StockCode").cast(pl.String),
        customer=pl.col("Customer ID"),
        country=pl.col("Country"),
        quantity=pl.col("Quantity"),
        value=pl.col("Quantity") * pl.col("Price"),
        cancelled=pl.col("Invoice").cast(pl.String).str.starts_with("C"),
        month=pl.col("InvoiceDate").dt.truncate("1mo"),
    )
    placed = ~pl.col("cancelled")
    buyer = placed & pl.col("customer").is_not_null()
    totals = lines.select(
        revenue=pl.col("value").filter(placed).sum(),
        orders=pl.col("invoice").filter(placed).n_unique(),
        customers=pl.col("customer").filter(buyer).n_unique(),
        cancelled=pl.col("invoice").filter(pl.col("cancelled")).n_unique(),
        invoices=pl.col("invoice").n_unique(),
    )
    months = (
        lines.group_by("month")
        .agg(
            revenue=pl.col("value").filter(placed).sum(),
            placed=pl.col("invoice").filter(placed).n_unique(),
            cancelled=pl.col("invoice").filter(pl.col("cancelled")).n_unique(),
            active=pl.col("customer").filter(buyer).n_unique(),
        )
        .sort("month")
    )
    first = lines.filter(buyer).group_by("customer").agg(first=pl.col("month").min()).group_by("first").len()
    order_values = lines.filter(placed).group_by("invoice").agg(pl.col("value").sum())
    countries = (
        lines.filter(placed)
        .group_by("country")
        .agg(revenue=pl.col("value").sum(), orders=pl.col("invoice").n_unique())
        .top_k(TOP_COUNTRIES, by="revenue")
    )
    products = (
        lines.filter(placed)
        .group_by("product")
        .agg(revenue=pl.col("value").sum(), units=pl.col("quantity").sum())
        .top_k(TOP_PRODUCTS, by="revenue")
    )
    totals, months, first, order_values, countries, products = pl.collect_all([totals, months, first, order_values, countries, products])
    t = totals.row(0, named=True)
    print(f"revenue {t['revenue']:.2f}, orders {t['orders']}, customers {t['customers']}, months {months.height}, order values {order_values.height}")


FUNNEL = """
    WITH e AS (SELECT user_session AS s, split_part(coalesce(category_code, ''), '.', 1) AS top, event_type AS kind,
                      event_time AS t FROM events WHERE user_session IS NOT NULL),
    v AS (SELECT {keys}, min(t) AS t FROM e WHERE kind = 'view' GROUP BY {keys}),
    c AS (SELECT {keys_e}, min(e.t) AS t FROM e JOIN v USING ({keys}) WHERE e.kind = 'cart' AND e.t >= v.t GROUP BY {keys_e}),
    p AS (SELECT {keys_e}, min(e.t) AS t FROM e JOIN c USING ({keys}) WHERE e.kind = 'purchase' AND e.t >= c.t GROUP BY {keys_e})
    SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM c), (SELECT count(*) FROM p)
"""


def duckdb_funnel(store):
    import duckdb

    con = duckdb.connect(store, read_only=True)
    overall = con.execute(FUNNEL.format(keys="s", keys_e="e.s")).fetchone()
    by_top = con.execute(FUNNEL.format(keys="s, top", keys_e="e.s, e.top")).fetchone()
    print(f"sessions view/cart/purchase {overall}; per session and top category {by_top}")


def polars_funnel(store):
    import polars as pl

    events = (
        pl.scan_parquet(store)
        .filter(pl.col("user_session").is_not_null())
        .select(
            s=pl.col("user_session"),
            top=pl.col("category_code").fill_null("").str.split(".").list.first(),
            kind=pl.col("event_type"),
            t=pl.col("event_time"),
        )
    )

    def funnel(keys):
        view = events.filter(pl.col("kind") == "view").group_by(keys).agg(v=pl.col("t").min())
        cart = (
            events.filter(pl.col("kind") == "cart")
            .join(view, on=keys)
            .filter(pl.col("t") >= pl.col("v"))
            .group_by(keys)
            .agg(c=pl.col("t").min())
        )
        purchase = (
            events.filter(pl.col("kind") == "purchase")
            .join(cart, on=keys)
            .filter(pl.col("t") >= pl.col("c"))
            .group_by(keys)
            .agg(p=pl.col("t").min())
        )
        return [view.select(pl.len()), cart.select(pl.len()), purchase.select(pl.len())]

    counts = pl.collect_all(funnel(["s"]) + funnel(["s", "top"]))
    counts = [c.item() for c in counts]
    print(f"sessions view/cart/purchase {tuple(counts[:3])}; per session and top category {tuple(counts[3:])}")


RFM = """
    WITH l AS (SELECT "Customer ID" AS customer, Invoice AS invoice, InvoiceDate AS t, Quantity * Price AS value
               FROM order_lines WHERE NOT starts_with(CAST(Invoice AS VARCHAR), 'C') AND "Customer ID" IS NOT NULL),
    c AS (SELECT customer, max(t) AS last, count(DISTINCT invoice) AS frequency, sum(value) AS monetary FROM l GROUP BY customer),
    r AS (SELECT customer, date_diff('day', last, (SELECT max(t) FROM l) + INTERVAL 1 DAY) AS recency, frequency, monetary FROM c)
    SELECT customer, recency, frequency, monetary, ntile(5) OVER (ORDER BY recency DESC) AS r_score,
           ntile(5) OVER (ORDER BY frequency) AS f_score, ntile(5) OVER (ORDER BY monetary) AS m_score
    FROM r
"""


def duckdb_first_rfm(csv, store, out):
    import duckdb

    duckdb_import(csv, store, "order_lines")
    con = duckdb.connect(store, read_only=True)
    con.execute(f"COPY ({RFM}) TO '{out}' (HEADER, DELIMITER ',')")
    customers = con.execute(f"SELECT count(*) FROM ({RFM})").fetchone()[0]
    print(f"{customers} customers")


def polars_first_rfm(csv, store, out):
    import polars as pl

    polars_import(csv, store)
    lines = pl.scan_parquet(store).filter(
        ~pl.col("Invoice").cast(pl.String).str.starts_with("C") & pl.col("Customer ID").is_not_null()
    )
    end = lines.select(pl.col("InvoiceDate").max()).collect().item()
    rfm = (
        lines.group_by("Customer ID")
        .agg(
            last=pl.col("InvoiceDate").max(),
            frequency=pl.col("Invoice").n_unique(),
            monetary=(pl.col("Quantity") * pl.col("Price")).sum(),
        )
        .with_columns(recency=((end - pl.col("last")).dt.total_days() + 1))
        .with_columns(
            r_score=pl.col("recency").qcut(5, labels=["5", "4", "3", "2", "1"], allow_duplicates=True),
            f_score=pl.col("frequency").rank("ordinal").qcut(5, labels=["1", "2", "3", "4", "5"]),
            m_score=pl.col("monetary").qcut(5, labels=["1", "2", "3", "4", "5"], allow_duplicates=True),
        )
        .drop("last")
        .collect()
    )
    rfm.write_csv(out)
    print(f"{rfm.height} customers")


def first_funnel(tool, csv, store):
    if tool == "duckdb":
        duckdb_import(csv, store, "events")
        duckdb_funnel(store)
    else:
        polars_import_events(csv, store)
        polars_funnel(store)


def main(argv):
    tool, task, *args = argv
    tasks = {
        ("duckdb", "import-orders"): lambda csv, store: duckdb_import(csv, store, "order_lines"),
        ("polars", "import-orders"): polars_import,
        ("duckdb", "import-events"): lambda csv, store: duckdb_import(csv, store, "events"),
        ("polars", "import-events"): polars_import_events,
        ("duckdb", "overview"): duckdb_overview,
        ("polars", "overview"): polars_overview,
        ("duckdb", "funnel"): duckdb_funnel,
        ("polars", "funnel"): polars_funnel,
        ("duckdb", "first-rfm"): duckdb_first_rfm,
        ("polars", "first-rfm"): polars_first_rfm,
        ("duckdb", "first-funnel"): lambda csv, store: first_funnel("duckdb", csv, store),
        ("polars", "first-funnel"): lambda csv, store: first_funnel("polars", csv, store),
    }
    tasks[(tool, task)](*args)
    print(f"peak_rss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main(sys.argv[1:])
