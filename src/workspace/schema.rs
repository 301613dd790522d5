//! The one place that owns the workspace's SQLite schema.
//!
//! Every table lives in [`MIGRATIONS`]; `PRAGMA user_version` records how many have been applied.
//! To change the schema, append a migration; never edit one that has shipped, because workspaces
//! created by older builds replay only the migrations they have not seen.
//!
//! The tables an import fills are also described by the catalogue ([`super::catalogue`]), which
//! the importer and the push-down read; [`migrate`] checks a migrated workspace against it. A new
//! column of such a table is a migration here and a line in the catalogue.

use rusqlite::Connection;

/// Ordered schema migrations. Index `i` upgrades a workspace from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: canonical tables, import bookkeeping and saved column mappings.
    r#"
    -- One row per invoice line (UCI Online Retail layout). `cancelled` = invoice starts with "C".
    CREATE TABLE order_lines (
        invoice      TEXT    NOT NULL,
        stock_code   TEXT,
        description  TEXT,
        quantity     INTEGER NOT NULL,
        invoice_date TEXT    NOT NULL,   -- 'YYYY-MM-DD HH:MM:SS', as exported (shop local time)
        unit_price   REAL    NOT NULL,
        customer_id  TEXT,               -- normalised: '13085.0' becomes '13085'; NULL when missing
        country      TEXT,
        cancelled    INTEGER NOT NULL,   -- 0 or 1
        import_id    INTEGER NOT NULL    -- imports.id that loaded the row
    );

    -- One row per shop event (REES46 layout): view, cart, remove_from_cart, purchase.
    CREATE TABLE events (
        event_time    TEXT    NOT NULL,  -- 'YYYY-MM-DD HH:MM:SS', UTC
        event_type    TEXT    NOT NULL,
        product_id    INTEGER NOT NULL,
        category_id   INTEGER,           -- up to 19 digits: INTEGER, never REAL
        category_code TEXT,
        brand         TEXT,
        price         REAL,
        user_id       INTEGER NOT NULL,
        user_session  TEXT    NOT NULL,
        import_id     INTEGER NOT NULL
    );

    -- Every import attempt, including failed and cancelled ones (which loaded nothing).
    CREATE TABLE imports (
        id            INTEGER PRIMARY KEY,
        file          TEXT    NOT NULL,
        file_size     INTEGER NOT NULL,
        file_hash     TEXT    NOT NULL,  -- BLAKE3 of the file's bytes ('' if the import failed first)
        fingerprint   TEXT    NOT NULL,  -- BLAKE3 of size, first and last MiB: a cheap first check
        format        TEXT    NOT NULL,
        encoding      TEXT    NOT NULL,
        kind          TEXT    NOT NULL,  -- detected or requested kind, e.g. 'uci_online_retail_ii'
        target_table  TEXT    NOT NULL,
        mapping       TEXT,              -- JSON: target column -> source column
        rows_read     INTEGER NOT NULL,
        rows_loaded   INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        report        TEXT    NOT NULL,  -- JSON quality report
        started_at    TEXT    NOT NULL,
        finished_at   TEXT    NOT NULL,
        status        TEXT    NOT NULL   -- 'loaded', 'failed' or 'cancelled'
    );
    CREATE INDEX imports_by_fingerprint ON imports(fingerprint, status);

    -- Every row that was read but not loaded, with the reason.
    CREATE TABLE rejects (
        import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        line      INTEGER NOT NULL,      -- line in the file (CSV) or row number (Parquet, Excel, JSON lines)
        raw       TEXT    NOT NULL,      -- the row as read, re-joined as CSV
        reason    TEXT    NOT NULL
    );
    CREATE INDEX rejects_by_import ON rejects(import_id, line);

    -- Column mappings the user confirmed, reused for files with the same header.
    CREATE TABLE mappings (
        signature TEXT PRIMARY KEY,      -- normalised header names joined by ','
        kind      TEXT NOT NULL,         -- target kind: 'order_lines' or 'events'
        mapping   TEXT NOT NULL,         -- JSON: target column -> source column
        saved_at  TEXT NOT NULL
    );

    -- Tables created for files of no known kind (all columns text unless every value parses).
    CREATE TABLE raw_tables (
        name      TEXT PRIMARY KEY,
        import_id INTEGER NOT NULL REFERENCES imports(id)
    );
    "#,
    // 2: saved SQL queries for the console, with a starter set.
    r#"
    CREATE TABLE saved_queries (
        name    TEXT PRIMARY KEY,
        sql     TEXT NOT NULL,
        starter INTEGER NOT NULL DEFAULT 0   -- 1 for the queries shoplens ships with
    );
    INSERT INTO saved_queries (name, sql, starter) VALUES
    ('Top products by revenue',
     'SELECT stock_code, min(description) AS description, round(sum(quantity * unit_price), 2) AS revenue, sum(quantity) AS units
FROM order_lines WHERE cancelled = 0
GROUP BY stock_code ORDER BY revenue DESC LIMIT 20', 1),
    ('Revenue by country',
     'SELECT country, round(sum(quantity * unit_price), 2) AS revenue, count(DISTINCT invoice) AS orders
FROM order_lines WHERE cancelled = 0
GROUP BY country ORDER BY revenue DESC', 1),
    ('Repeat purchase rate',
     'SELECT count(*) AS customers, sum(orders > 1) AS repeat_customers, round(100.0 * sum(orders > 1) / count(*), 1) AS repeat_rate_pct
FROM (SELECT customer_id, count(DISTINCT invoice) AS orders FROM order_lines
      WHERE cancelled = 0 AND customer_id IS NOT NULL GROUP BY customer_id)', 1),
    ('Monthly revenue',
     'SELECT substr(invoice_date, 1, 7) AS month, round(sum(quantity * unit_price), 2) AS revenue, count(DISTINCT invoice) AS orders
FROM order_lines WHERE cancelled = 0 GROUP BY month ORDER BY month', 1),
    ('Cancellations by product',
     'SELECT stock_code, min(description) AS description, count(DISTINCT invoice) AS cancellations, -sum(quantity) AS units_returned
FROM order_lines WHERE cancelled = 1 GROUP BY stock_code ORDER BY cancellations DESC LIMIT 20', 1),
    ('Events by type',
     'SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users FROM events GROUP BY event_type ORDER BY events DESC', 1),
    ('Import history',
     'SELECT id, file, kind, rows_read, rows_loaded, rows_rejected, status, finished_at FROM imports ORDER BY id DESC', 1);
    "#,
    // 3: the Segments panel's editable R×F map and its marketing actions. No rows = the standard
    // map (analytics::rfm::SegmentGrid::default).
    r#"
    CREATE TABLE rfm_segment_cells (
        r       INTEGER NOT NULL CHECK (r BETWEEN 1 AND 5),
        f       INTEGER NOT NULL CHECK (f BETWEEN 1 AND 5),
        segment TEXT    NOT NULL,
        PRIMARY KEY (r, f)
    );
    CREATE TABLE segment_actions (
        segment TEXT PRIMARY KEY,
        action  TEXT NOT NULL
    );
    "#,
    // 4: REES46 exports hold real events without a session (an empty user_session). They are
    // kept, with user_session NULL, counted in the quality report, and left out only of the
    // session-based funnels and carts (which say how many). SQLite cannot drop NOT NULL in place,
    // so the table is rebuilt with its rowids (live mode reads new events by rowid).
    r#"
    CREATE TABLE events_v4 (
        event_time    TEXT    NOT NULL,  -- 'YYYY-MM-DD HH:MM:SS', UTC
        event_type    TEXT    NOT NULL,
        product_id    INTEGER NOT NULL,
        category_id   INTEGER,           -- up to 19 digits: INTEGER, never REAL
        category_code TEXT,
        brand         TEXT,
        price         REAL,
        user_id       INTEGER NOT NULL,
        user_session  TEXT,              -- NULL: an event the export recorded without a session
        import_id     INTEGER NOT NULL
    );
    INSERT INTO events_v4 (rowid, event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session, import_id)
        SELECT rowid, event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session, import_id FROM events;
    DROP TABLE events;
    ALTER TABLE events_v4 RENAME TO events;
    "#,
    // 5: pricing. The catalogue with costs, our price history, competitor observations, and the
    // Pricing panel's settings, reviews of signals and decisions.
    r#"
    -- A product's current catalogue entry is its latest row (highest rowid): a newer catalogue
    -- export simply adds rows. product_id is the code order_lines calls stock_code.
    CREATE TABLE products (
        product_id TEXT    NOT NULL,
        name       TEXT,
        category   TEXT,
        brand      TEXT,
        cost       REAL,                 -- unit cost; NULL: no recommendation can be made
        price      REAL,                 -- the catalogue's current price
        stock      INTEGER,
        import_id  INTEGER NOT NULL
    );
    -- Our price from valid_from on, until the product's next row.
    CREATE TABLE our_prices (
        product_id TEXT    NOT NULL,
        price      REAL    NOT NULL,
        valid_from TEXT    NOT NULL,     -- 'YYYY-MM-DD HH:MM:SS'
        import_id  INTEGER NOT NULL      -- 0: a decision taken in shoplens (price_decisions)
    );
    CREATE TABLE competitor_prices (
        product_id  TEXT    NOT NULL,
        competitor  TEXT    NOT NULL,
        price       REAL    NOT NULL,
        observed_at TEXT    NOT NULL,    -- 'YYYY-MM-DD HH:MM:SS'
        in_stock    INTEGER,             -- 1, 0, or NULL when the feed does not say
        url         TEXT,
        currency    TEXT,                -- as the feed says; NULL: the feed's currency (price_feeds)
        import_id   INTEGER NOT NULL
    );
    -- What an import said about its prices: the currency and whether they include tax. Prices
    -- are compared only like with like.
    CREATE TABLE price_feeds (
        import_id          INTEGER PRIMARY KEY REFERENCES imports(id),
        currency           TEXT,         -- NULL: not stated
        prices_include_tax INTEGER       -- 1, 0, or NULL: not stated
    );
    -- Signal thresholds and rules, one JSON value per name (defaults when absent).
    CREATE TABLE pricing_settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- Alerts the user acknowledged or snoozed in the panel. Exports list every signal regardless.
    CREATE TABLE signal_reviews (
        signal      TEXT NOT NULL,
        product_id  TEXT NOT NULL,
        competitor  TEXT NOT NULL,       -- '' for signals about our own price or stock
        at          TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('acknowledged', 'snoozed')),
        until       TEXT,                -- a snooze's end
        PRIMARY KEY (signal, product_id, competitor, at)
    );
    -- The decision log: every accepted or rejected proposal.
    CREATE TABLE price_decisions (
        id          INTEGER PRIMARY KEY,
        product_id  TEXT    NOT NULL,
        old_price   REAL,
        new_price   REAL,
        status      TEXT    NOT NULL CHECK (status IN ('accepted', 'rejected')),
        reasons     TEXT    NOT NULL,
        decided_by  TEXT    NOT NULL,
        decided_at  TEXT    NOT NULL
    );
    "#,
    // 6: a resale marketplace. Users, what collectors own, listings, orders between users and
    // interactions with listings, for the Sellers and Listings panels. Ids are kept as text,
    // exactly as exported.
    r#"
    CREATE TABLE users (
        user_id    TEXT NOT NULL,
        signup_at  TEXT,                 -- 'YYYY-MM-DD HH:MM:SS'
        country    TEXT,
        import_id  INTEGER NOT NULL
    );
    CREATE TABLE collection_items (
        user_id    TEXT NOT NULL,
        item_id    TEXT,
        category   TEXT,
        brand      TEXT,
        added_at   TEXT,
        import_id  INTEGER NOT NULL
    );
    -- listed_at NULL: a draft never submitted (the listing flow's first step only).
    CREATE TABLE listings (
        listing_id TEXT NOT NULL,
        seller_id  TEXT NOT NULL,
        category   TEXT,
        brand      TEXT,
        price      REAL,
        created_at TEXT,                 -- the draft was started; NULL when the export has none
        listed_at  TEXT,
        sold_at    TEXT,                 -- NULL: not sold (yet)
        import_id  INTEGER NOT NULL
    );
    CREATE TABLE marketplace_orders (
        order_id   TEXT NOT NULL,
        listing_id TEXT,
        buyer_id   TEXT NOT NULL,
        seller_id  TEXT NOT NULL,
        amount     REAL,
        ordered_at TEXT NOT NULL,
        import_id  INTEGER NOT NULL
    );
    -- kind: view, like (a wishlist add), cart, offer, ... as exported.
    CREATE TABLE interactions (
        user_id    TEXT NOT NULL,
        listing_id TEXT,
        kind       TEXT NOT NULL,
        at         TEXT NOT NULL,
        import_id  INTEGER NOT NULL
    );
    INSERT INTO saved_queries (name, sql, starter) VALUES
    ('Listing success by category',
     'SELECT category, count(*) AS listed, sum(sold_at IS NOT NULL) AS sold,
       round(1.0 * sum(sold_at IS NOT NULL) / count(*), 3) AS success_rate
FROM listings WHERE listed_at IS NOT NULL GROUP BY category ORDER BY listed DESC', 1),
    ('Days to sell by brand',
     'SELECT brand, count(*) AS sold, round(avg(julianday(sold_at) - julianday(listed_at)), 2) AS mean_days_to_sell
FROM listings WHERE sold_at IS NOT NULL AND listed_at IS NOT NULL GROUP BY brand ORDER BY sold DESC', 1),
    ('Views, likes and conversion by category',
     'SELECT l.category, sum(i.kind = ''view'') AS views, sum(i.kind = ''like'') AS likes,
       (SELECT count(*) FROM marketplace_orders o JOIN listings x USING (listing_id) WHERE x.category IS l.category) AS orders
FROM interactions i JOIN listings l USING (listing_id) GROUP BY l.category ORDER BY views DESC', 1),
    ('Active sellers (3+ sales in the last 12 months)',
     'SELECT seller_id, count(*) AS sales FROM marketplace_orders
WHERE ordered_at > (SELECT datetime(max(ordered_at), ''-12 months'') FROM marketplace_orders)
GROUP BY seller_id HAVING sales >= 3 ORDER BY sales DESC', 1),
    ('Active listings per category',
     'SELECT category, count(*) AS active_listings FROM listings
WHERE listed_at IS NOT NULL AND sold_at IS NULL GROUP BY category ORDER BY active_listings', 1);
    "#,
    // 7: saved views and the stories that order them (presenting). A view is a panel's state
    // (JSON the panel reads back) with a title, a caption and its date range (fixed days, or
    // relative to the data's last date: analytics::period::DateRange as JSON).
    r#"
    CREATE TABLE stories (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE saved_views (
        id         INTEGER PRIMARY KEY,
        story_id   INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        position   INTEGER NOT NULL,     -- order within the story, from 0
        title      TEXT NOT NULL,
        caption    TEXT NOT NULL DEFAULT '',
        panel      TEXT NOT NULL,        -- Panel::id
        state      TEXT NOT NULL,        -- the panel's state, JSON
        dates      TEXT NOT NULL,        -- DateRange, JSON
        country    TEXT,                 -- the country filter, NULL: all
        created_at TEXT NOT NULL
    );
    CREATE INDEX saved_views_by_story ON saved_views(story_id, position);
    "#,
    // 8: competitor feeds keyed by product name (no id we share), and the matches of their
    // products to ours (or, without a catalogue of ours, across competitors into groups).
    // Only confirmed matches feed the monitor and the signals.
    r#"
    CREATE TABLE named_prices (
        competitor     TEXT    NOT NULL,
        product_name   TEXT    NOT NULL,  -- as the feed writes it
        price          REAL    NOT NULL,
        observed_at    TEXT    NOT NULL,  -- 'YYYY-MM-DD HH:MM:SS'
        old_price      REAL,              -- the price shown struck through (a promotion)
        price_decrease REAL,              -- or the feed's saving: old price = price + decrease
        in_stock       INTEGER,
        import_id      INTEGER NOT NULL
    );
    CREATE INDEX named_prices_by_product ON named_prices(competitor, product_name);
    CREATE TABLE name_matches (
        competitor         TEXT NOT NULL,
        competitor_product TEXT NOT NULL,
        product_id         TEXT NOT NULL,  -- ours, or a group id ('G0001') without a catalogue
        similarity         REAL NOT NULL,
        status             TEXT NOT NULL CHECK (status IN ('suggested', 'confirmed', 'rejected')),
        decided_at         TEXT,
        PRIMARY KEY (competitor, competitor_product)
    );
    "#,
    // 9: warehouse sources (PostgreSQL-protocol servers). Never a password: that comes from
    // PGPASSWORD, ~/.pgpass or a prompt each time. `source_tables` remembers how a server
    // table maps to order_lines or events, so push-down runs need the mapping once.
    r#"
    CREATE TABLE sources (
        name      TEXT PRIMARY KEY,
        host      TEXT    NOT NULL,
        port      INTEGER NOT NULL,
        database  TEXT    NOT NULL,
        user_name TEXT    NOT NULL,
        tls       INTEGER NOT NULL DEFAULT 0,
        added_at  TEXT    NOT NULL
    );
    CREATE TABLE source_tables (
        source       TEXT NOT NULL REFERENCES sources(name) ON DELETE CASCADE,
        server_table TEXT NOT NULL,   -- as written: schema.table or table
        target       TEXT NOT NULL,   -- 'order_lines' or 'events'
        mapping      TEXT NOT NULL,   -- JSON: target column -> server column
        saved_at     TEXT NOT NULL,
        PRIMARY KEY (source, server_table, target)
    );
    "#,
    // 10: real shop exports. An order line keeps the order's status as exported (Olist's
    // `order_status`, Shopify's financial status), the freight charged on it (never revenue)
    // and the currency of its money (NULL: not stated). `cancelled` now follows the import's
    // stated rule (the quality report names it) instead of an invoice's first letter.
    r#"
    ALTER TABLE order_lines ADD COLUMN status TEXT;
    ALTER TABLE order_lines ADD COLUMN freight REAL;
    ALTER TABLE order_lines ADD COLUMN currency TEXT;
    -- A product table (REES46's item.csv) carries the shop system's category id. A product on
    -- several rows keeps, column by column, the value of its latest row that has one
    -- (workspace::copies::read_products).
    ALTER TABLE products ADD COLUMN category_id INTEGER;
    -- Listings exported as a snapshot (Vestiaire Collective): no dates, but whether each had
    -- sold by the export (1/0) and its likes. A listing with listed_at NULL and sold set is such
    -- a listing, not a draft.
    ALTER TABLE listings ADD COLUMN sold INTEGER;
    ALTER TABLE listings ADD COLUMN likes INTEGER;
    -- Joins the user made between related files (a lines file and the orders and customers
    -- files it refers to): import::join::Recipe as JSON, found again by the files' columns.
    CREATE TABLE joins (
        lines_signature TEXT PRIMARY KEY,  -- the lines file's normalised column names
        recipe          TEXT NOT NULL,
        saved_at        TEXT NOT NULL
    );
    "#,
    // 11: a workspace is data, never code. Raw tables record their columns at import (the open
    // checks the table against them); sources say how they may be reached: plain text to another
    // machine only when asked in so many words (never with a password), a private CA, a bound
    // on waiting. All nullable: older files open as they are.
    r#"
    ALTER TABLE raw_tables ADD COLUMN columns TEXT;   -- JSON [[name, type], ...]
    ALTER TABLE sources ADD COLUMN plain_text INTEGER;
    ALTER TABLE sources ADD COLUMN ca_file TEXT;
    ALTER TABLE sources ADD COLUMN connect_timeout INTEGER;
    "#,
    // 12: events may say how many units they are about (a wholesale cart of 48 is one event;
    // NULL, as in every older file, is one unit) and name their product (GA4's item_name): the
    // panels show names where the shop has no catalogue keyed by the events' ids. The partial
    // index holds only named events, so an export without names pays nothing for it and the
    // names are read without scanning every event.
    r#"
    ALTER TABLE events ADD COLUMN quantity INTEGER;
    ALTER TABLE events ADD COLUMN product_name TEXT;
    CREATE INDEX events_product_names ON events(product_id, product_name) WHERE product_name IS NOT NULL;
    "#,
    // 13: what a decision expected. The change a day in units, revenue and profit that the
    // recommendation predicted for the price set (recommended or edited), recorded when it was
    // decided so that what happened can be held against it (analytics::impact). NULL: nothing
    // was predicted (no cost, elasticity or sales then), or a decision from an older file.
    r#"
    ALTER TABLE price_decisions ADD COLUMN predicted_units REAL;
    ALTER TABLE price_decisions ADD COLUMN predicted_revenue REAL;
    ALTER TABLE price_decisions ADD COLUMN predicted_profit REAL;
    "#,
];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings `conn` up to [`current_version`], one transaction per migration.
///
/// Refuses a workspace written by a newer shoplens rather than guessing at its tables.
pub fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > current_version() {
        return Err(SchemaError::TooNew { found, supported: current_version() });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        // IMMEDIATE takes the write lock before reading the version again: two connections
        // opening a new workspace at once (the app's jobs do) must not both apply a migration.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    // What the migrations made must be the catalogue's tables, which the importer and the
    // push-down read. A file already at this version was checked object by object against the
    // same migrations when it opened (`trust::check`), and a test holds the migrations equal to
    // the catalogue; an upgraded file is checked here, with the column named if it differs.
    if found < current_version() {
        super::catalogue::check_tables(conn)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("this workspace was written by a newer shoplens (schema {found}, this build knows {supported}); update shoplens")]
    TooNew { found: i64, supported: i64 },
    #[error(transparent)]
    TableDiffers(#[from] super::catalogue::CheckError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_fresh_database_to_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, current_version());
        // Running again is a no-op, not an error.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn concurrent_opens_of_a_new_workspace_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.shoplens");
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                crate::jobs::Job::spawn("open", move |_| Ok(crate::workspace::Workspace::open(&path).map(|_| ())?))
            })
            .collect();
        for job in opened {
            job.join().unwrap();
        }
    }

    #[test]
    fn refuses_a_workspace_from_a_newer_build() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer shoplens"), "{err}");
    }
}
