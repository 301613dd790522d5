//! Loading the in-memory copies the analyses run on: `order_lines` into an [`OrderFrame`] and
//! `events` into an [`EventFrame`]. The frames know nothing of SQLite; this module reads the
//! rows and hands them to the frames' builders.

use rusqlite::Connection;

use crate::analytics::event_frame::{Appended, EventFrame, EventFrameBuilder, EventKind};
use crate::analytics::marketplace::{MarketplaceBuilder, MarketplaceData};
use crate::analytics::order_frame::{OrderFrame, OrderFrameBuilder, OrderLine};
use crate::analytics::pricing::{CatalogueProduct, PricingData, PricingDataBuilder};
use crate::jobs::{Cancelled, JobContext};
use crate::timestamp::{SlashOrder, Timestamp};

/// Why a copy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("reading {table}: {source}")]
    Sqlite { table: &'static str, source: rusqlite::Error },
    #[error("building the columnar copy: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("{table} holds an invalid time '{text}'")]
    BadTime { table: &'static str, text: String },
    #[error("{table} holds an invalid {column} '{value}'")]
    BadValue { table: &'static str, column: &'static str, value: String },
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
    #[error(transparent)]
    Workspace(Box<super::WorkspaceError>),
}

/// Rows between progress reports and cancel checks.
const REPORT_EVERY: u64 = 65_536;

/// One row's cells, read with errors that name the table.
struct Cells<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    table: &'static str,
}

impl Cells<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T, CopyError> {
        self.row.get(i).map_err(|source| CopyError::Sqlite { table: self.table, source })
    }

    fn text_or_null(&self, i: usize) -> Result<Option<&str>, CopyError> {
        let sqlite = |source| CopyError::Sqlite { table: self.table, source };
        self.row.get_ref(i).map_err(sqlite)?.as_str_or_null().map_err(|e| sqlite(e.into()))
    }

    /// Text, with NULL read as empty.
    fn text(&self, i: usize) -> Result<&str, CopyError> {
        Ok(self.text_or_null(i)?.unwrap_or(""))
    }

    /// A stored time, read with the one timestamp parser.
    fn time(&self, i: usize) -> Result<Timestamp, CopyError> {
        let text = self.text(i)?;
        Timestamp::parse(text, SlashOrder::MonthFirst).ok_or_else(|| CopyError::BadTime { table: self.table, text: text.to_string() })
    }
}

/// Runs `sql` and hands every row to `visit`, checking for a cancel and reporting progress (in
/// rows) as it goes; returns the number of rows.
fn each_row(
    conn: &Connection,
    table: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    ctx: &JobContext,
    mut visit: impl FnMut(&Cells<'_, '_>) -> Result<(), CopyError>,
) -> Result<u64, CopyError> {
    let sqlite = |source| CopyError::Sqlite { table, source };
    let mut stmt = conn.prepare(sql).map_err(sqlite)?;
    let mut rows = stmt.query(params).map_err(sqlite)?;
    // Rows count on from the phases before (a loader reading several tables shows one bar).
    let before = ctx.progress().done;
    let mut n = 0u64;
    while let Some(row) = rows.next().map_err(sqlite)? {
        n += 1;
        if n.is_multiple_of(REPORT_EVERY) {
            ctx.check()?;
            ctx.set_done(before + n);
        }
        visit(&Cells { row, table })?;
    }
    ctx.set_done(before + n);
    Ok(n)
}

/// Starts a loader's progress bar at 0 of `total` rows.
fn start_progress(ctx: &JobContext, total: u64, message: &str) {
    ctx.set_total(total);
    ctx.set_done(0);
    ctx.set_message(message);
}

fn count(conn: &Connection, table: &'static str, sql: &str) -> Result<u64, CopyError> {
    let n: i64 = conn.query_row(sql, [], |r| r.get(0)).map_err(|source| CopyError::Sqlite { table, source })?;
    Ok(n.max(0) as u64)
}

/// Reads every order line. Progress is reported in rows.
pub fn load_order_lines(conn: &Connection, ctx: &JobContext) -> Result<OrderFrame, CopyError> {
    let total = count(conn, "order lines", "SELECT count(*) FROM order_lines")?;
    start_progress(ctx, total, "loading order lines");
    let mut builder = OrderFrameBuilder::with_capacity(total as usize);
    read_order_lines(conn, i64::MIN, &mut builder, ctx)?;
    Ok(builder.finish()?)
}

/// Adds the order lines with a rowid above `after` to `builder`; returns how many.
pub fn read_order_lines(conn: &Connection, after: i64, builder: &mut OrderFrameBuilder, ctx: &JobContext) -> Result<u64, CopyError> {
    let sql = "SELECT invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country, cancelled, currency
               FROM order_lines WHERE rowid > ?1";
    each_row(conn, "order lines", sql, [after], ctx, |cells| {
        builder.push(OrderLine {
            invoice: cells.text(0)?,
            stock_code: cells.text(1)?,
            description: cells.text(2)?,
            quantity: cells.get(3)?,
            invoice_date: cells.time(4)?,
            unit_price: cells.get(5)?,
            customer_id: cells.text_or_null(6)?,
            country: cells.text_or_null(7)?.unwrap_or("Unspecified"),
            cancelled: cells.get::<i64>(8)? != 0,
            currency: cells.text(9)?,
        });
        Ok(())
    })
}

/// Reads the catalogue, our price history and the competitor observations. Observations in a
/// currency other than ours are left out and counted (prices are compared like with like); our
/// currency is the `currency` pricing setting, else the feeds' most common one.
pub fn load_pricing(conn: &Connection, ctx: &JobContext) -> Result<PricingData, CopyError> {
    let total = count(
        conn,
        "pricing",
        "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM our_prices) + (SELECT count(*) FROM competitor_prices)
              + (SELECT count(*) FROM order_lines WHERE cancelled = 0 AND unit_price > 0 AND stock_code IN (SELECT product_id FROM products))",
    )?;
    start_progress(ctx, total, "loading prices");
    let mut builder = PricingDataBuilder::default();
    for product in read_products(conn, ctx)? {
        builder.product(product);
    }
    each_row(conn, "our prices", "SELECT product_id, price, valid_from FROM our_prices ORDER BY rowid", [], ctx, |cells| {
        builder.our_price(cells.text(0)?, cells.time(2)?.epoch_seconds(), cells.get(1)?);
        Ok(())
    })?;
    let settings_error = |source| CopyError::Sqlite { table: "pricing settings", source };
    let ours = super::settings::our_currency(conn).map_err(settings_error)?;
    let our_tax: Option<bool> =
        super::settings::load_pricing_setting(conn, super::settings::OUR_PRICES_INCLUDE_TAX).map_err(settings_error)?;
    let sql = "SELECT cp.product_id, cp.competitor, cp.price, cp.observed_at, cp.in_stock, coalesce(cp.currency, pf.currency),
                      pf.prices_include_tax
               FROM competitor_prices cp LEFT JOIN price_feeds pf ON pf.import_id = cp.import_id ORDER BY cp.rowid";
    let (mut other_currency, mut other_tax_basis) = (0, 0);
    let mut unknown_basis: std::collections::BTreeMap<String, u64> = Default::default();
    each_row(conn, "competitor prices", sql, [], ctx, |cells| {
        match (cells.text_or_null(5)?.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty()), ours.as_deref()) {
            (Some(theirs), Some(ours)) if !theirs.eq_ignore_ascii_case(ours) => {
                other_currency += 1;
                return Ok(());
            }
            // Their currency is stated, ours is not: comparing would assume it is ours. Left
            // out until the user says, and asked (`PricingData::unknown_basis`).
            (Some(theirs), None) => {
                *unknown_basis.entry(theirs).or_default() += 1;
                return Ok(());
            }
            _ => {}
        }
        // Known on both sides and different: gross and net prices are not compared.
        if let (Some(theirs), Some(ours)) = (cells.get::<Option<bool>>(6)?, our_tax) {
            if theirs != ours {
                other_tax_basis += 1;
                return Ok(());
            }
        }
        let in_stock: Option<i64> = cells.get(4)?;
        builder.observation(cells.text(0)?, cells.text(1)?, cells.time(3)?.epoch_seconds(), cells.get(2)?, in_stock.map(|s| s != 0));
        Ok(())
    })?;
    // Name-keyed feeds: only their confirmed matches are compared (a group id without a
    // catalogue of ours becomes a product of its own, named after one of its members). A
    // workspace from before migration 8, read without upgrading, has no such feeds.
    let has_named: bool = conn
        .query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'name_matches'", [], |r| r.get(0))
        .map_err(|source| CopyError::Sqlite { table: "competitor prices by name", source })?;
    if has_named {
        let sql = "SELECT m.product_id, n.competitor, n.price, n.observed_at, n.in_stock, coalesce(n.old_price, n.price + n.price_decrease)
                   FROM named_prices n JOIN name_matches m ON m.competitor = n.competitor AND m.competitor_product = n.product_name
                   WHERE m.status = 'confirmed' ORDER BY n.rowid";
        each_row(conn, "competitor prices by name", sql, [], ctx, |cells| {
            let in_stock: Option<i64> = cells.get(4)?;
            builder.observation(cells.text(0)?, cells.text(1)?, cells.time(3)?.epoch_seconds(), cells.get(2)?, in_stock.map(|s| s != 0));
            builder.promotion(cells.get(5)?);
            Ok(())
        })?;
        let sql = "SELECT product_id, min(competitor_product) FROM name_matches
                   WHERE status = 'confirmed' AND product_id NOT IN (SELECT product_id FROM products) GROUP BY product_id";
        each_row(conn, "competitor prices by name", sql, [], ctx, |cells| {
            let mut product = CatalogueProduct::unnamed(cells.text(0)?);
            product.name = cells.text(1)?.to_string();
            builder.product(product);
            Ok(())
        })?;
    }
    builder.other_currency(other_currency);
    builder.unknown_basis(unknown_basis);
    builder.other_tax_basis(other_tax_basis);
    // Sales of catalogue products (stock_code = product_id), cancellations left out, and lines
    // in a currency other than ours (when both are stated): money is never summed across them.
    // Lines at no price are not sales at a price: UCI's stock write-offs ("damaged", -90 at
    // 0.00) would make a day's units negative and its lowest price 0.
    let sql = "SELECT stock_code, invoice_date, quantity, unit_price FROM order_lines
               WHERE cancelled = 0 AND unit_price > 0 AND stock_code IN (SELECT product_id FROM products)
                 AND (?1 IS NULL OR currency IS NULL OR upper(currency) = upper(?1))";
    each_row(conn, "order lines", sql, [ours.as_deref()], ctx, |cells| {
        builder.sale(cells.text(0)?, cells.time(1)?.epoch_seconds(), cells.get::<i64>(2)? as f64, cells.get(3)?);
        Ok(())
    })?;
    // Views per catalogue product and day, where the shop has events (product ids compared as
    // text: the catalogue's are text, the events' integers). Not counted in the progress total:
    // counting them first would cost as much as reading them.
    let sql = "SELECT CAST(product_id AS TEXT) AS id, substr(event_time, 1, 10), count(*) FROM events
               WHERE event_type = 'view' AND id IN (SELECT product_id FROM products) GROUP BY id, substr(event_time, 1, 10)";
    let sqlite = |source| CopyError::Sqlite { table: "events", source };
    let mut stmt = conn.prepare(sql).map_err(sqlite)?;
    let mut rows = stmt.query([]).map_err(sqlite)?;
    while let Some(row) = rows.next().map_err(sqlite)? {
        ctx.check()?;
        let id: String = row.get(0).map_err(sqlite)?;
        let day: String = row.get(1).map_err(sqlite)?;
        let date =
            chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| CopyError::BadTime { table: "events", text: day.clone() })?;
        let views: i64 = row.get(2).map_err(sqlite)?;
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
        builder.views(&id, (date - epoch).num_days(), views as u64);
    }
    Ok(builder.finish())
}

/// The product table, one entry per product in the order first seen. A product on several rows
/// (a newer catalogue export, or REES46's `item.csv`, which spreads a product's attributes over
/// rows) keeps, column by column, the value of its latest row that has one.
pub fn read_products(conn: &Connection, ctx: &JobContext) -> Result<Vec<CatalogueProduct>, CopyError> {
    let mut products: Vec<CatalogueProduct> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let sql = "SELECT product_id, name, category, brand, cost, price, stock FROM products ORDER BY rowid";
    each_row(conn, "products", sql, [], ctx, |cells| {
        let id = cells.text(0)?;
        let i = *index.entry(id.to_string()).or_insert_with(|| {
            products.push(CatalogueProduct::unnamed(id));
            products.len() - 1
        });
        let product = &mut products[i];
        let text = |column: usize, value: &mut String| -> Result<(), CopyError> {
            if let Some(new) = cells.text_or_null(column)?.filter(|t| !t.trim().is_empty()) {
                *value = new.to_string();
            }
            Ok(())
        };
        text(1, &mut product.name)?;
        text(2, &mut product.category)?;
        text(3, &mut product.brand)?;
        product.cost = cells.get::<Option<f64>>(4)?.or(product.cost);
        product.price = cells.get::<Option<f64>>(5)?.or(product.price);
        product.stock = cells.get::<Option<i64>>(6)?.or(product.stock);
        Ok(())
    })?;
    Ok(products)
}

/// Product names by events' (integer) product id: the name the events themselves give (their
/// optional `product_name`; the alphabetically first where a product's events disagree), else
/// the product table's.
pub fn product_names(conn: &Connection, ctx: &JobContext) -> Result<crate::analytics::forecast::ProductNames, CopyError> {
    let mut names: crate::analytics::forecast::ProductNames = read_products(conn, ctx)?
        .into_iter()
        .filter(|p| !p.name.trim().is_empty())
        .filter_map(|p| Some((p.id.trim().parse::<i64>().ok()?, p.name)))
        .collect();
    // Read through the partial index `events_product_names` (named events only). A workspace
    // from before migration 12, read without upgrading, has no names in its events.
    if !has_column(conn, "events", "product_name")? {
        return Ok(names);
    }
    let sql = "SELECT product_id, min(product_name) FROM events WHERE product_name IS NOT NULL AND trim(product_name) <> ''
               GROUP BY product_id";
    each_row(conn, "events", sql, [], ctx, |cells| {
        names.insert(cells.get(0)?, cells.text(1)?.to_string());
        Ok(())
    })?;
    Ok(names)
}

/// Category and brand by events' (integer) product id, from the product table: what fills an
/// event that leaves them empty (REES46's cosmetics events carry neither; its `item.csv` does).
#[derive(Default)]
struct ProductAttributes(std::collections::HashMap<i64, (String, String)>);

impl ProductAttributes {
    fn read(conn: &Connection, ctx: &JobContext) -> Result<Self, CopyError> {
        let products = read_products(conn, ctx)?;
        Ok(Self(
            products
                .into_iter()
                .filter(|p| !p.category.is_empty() || !p.brand.is_empty())
                // Events' product ids are integers; a product table keeps them as text.
                .filter_map(|p| Some((p.id.trim().parse::<i64>().ok()?, (p.category, p.brand))))
                .collect(),
        ))
    }

    /// The event's category and brand, each from the product table where the event has none.
    fn fill<'a>(&'a self, product: i64, category: &'a str, brand: &'a str) -> (&'a str, &'a str) {
        if !category.trim().is_empty() && !brand.trim().is_empty() {
            return (category, brand);
        }
        match self.0.get(&product) {
            Some((c, b)) => (if category.trim().is_empty() { c } else { category }, if brand.trim().is_empty() { b } else { brand }),
            None => (category, brand),
        }
    }
}

/// Reads the marketplace tables: users, collections, listings, orders and interactions.
pub fn load_marketplace(conn: &Connection, ctx: &JobContext) -> Result<MarketplaceData, CopyError> {
    let total = count(
        conn,
        "marketplace",
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM collection_items) + (SELECT count(*) FROM listings)
              + (SELECT count(*) FROM marketplace_orders) + (SELECT count(*) FROM interactions)",
    )?;
    start_progress(ctx, total, "loading the marketplace");
    let mut builder = MarketplaceBuilder::default();
    let epoch = |cells: &Cells<'_, '_>, i: usize| -> Result<Option<i64>, CopyError> {
        Ok(match cells.text_or_null(i)? {
            Some(_) => Some(cells.time(i)?.epoch_seconds()),
            None => None,
        })
    };
    each_row(conn, "users", "SELECT user_id, signup_at, country FROM users ORDER BY rowid", [], ctx, |cells| {
        builder.user(cells.text(0)?, epoch(cells, 1)?, cells.text_or_null(2)?);
        Ok(())
    })?;
    let sql = "SELECT user_id, category, brand, added_at FROM collection_items ORDER BY rowid";
    each_row(conn, "collection items", sql, [], ctx, |cells| {
        builder.item(cells.text(0)?, cells.text_or_null(1)?, cells.text_or_null(2)?, epoch(cells, 3)?);
        Ok(())
    })?;
    let sql =
        "SELECT listing_id, seller_id, category, brand, price, created_at, listed_at, sold_at, sold, likes FROM listings ORDER BY rowid";
    each_row(conn, "listings", sql, [], ctx, |cells| {
        let id = cells.text(0)?;
        builder.listing(
            id,
            cells.text(1)?,
            cells.text_or_null(2)?,
            cells.text_or_null(3)?,
            cells.get(4)?,
            epoch(cells, 5)?,
            epoch(cells, 6)?,
            epoch(cells, 7)?,
        );
        let (sold, likes): (Option<i64>, Option<i64>) = (cells.get(8)?, cells.get(9)?);
        if sold.is_some() || likes.is_some() {
            builder.listing_state(id, sold.map(|s| s != 0), likes.map(|l| l.max(0) as u64));
        }
        Ok(())
    })?;
    let sql = "SELECT listing_id, buyer_id, seller_id, amount, ordered_at FROM marketplace_orders ORDER BY rowid";
    each_row(conn, "marketplace orders", sql, [], ctx, |cells| {
        builder.order(cells.text_or_null(0)?, cells.text(1)?, cells.text(2)?, cells.get(3)?, cells.time(4)?.epoch_seconds());
        Ok(())
    })?;
    each_row(conn, "interactions", "SELECT user_id, listing_id, kind, at FROM interactions ORDER BY rowid", [], ctx, |cells| {
        builder.interaction(cells.text(0)?, cells.text_or_null(1)?, cells.text(2)?, cells.time(3)?.epoch_seconds());
        Ok(())
    })?;
    Ok(builder.finish())
}

// The demo generator's inputs (`generate::BestSeller`, `generate::ShopOrder`) are read here:
// the generator is pure and knows nothing of workspaces.
use crate::generate::BestSeller;

/// The shop's orders with a customer id, one per invoice in time order, with their product
/// lines (real product codes only, as in [`best_sellers`]): what the demo's shop events are built around.
pub fn shop_orders(conn: &Connection) -> Result<Vec<crate::generate::ShopOrder>, CopyError> {
    use crate::generate::{ShopLine, ShopOrder};
    let sql = "SELECT invoice, invoice_date, customer_id, stock_code, coalesce(description, ''), unit_price, quantity FROM order_lines
               WHERE cancelled = 0 AND quantity BETWEEN 1 AND 4294967295 AND unit_price > 0 AND customer_id IS NOT NULL
                 AND stock_code GLOB '[0-9][0-9][0-9][0-9][0-9]*'
               ORDER BY invoice_date, invoice";
    let sqlite = |source| CopyError::Sqlite { table: "order lines", source };
    let mut stmt = conn.prepare(sql).map_err(sqlite)?;
    let mut rows = stmt.query([]).map_err(sqlite)?;
    let mut orders: Vec<ShopOrder> = Vec::new();
    let mut invoice = String::new();
    while let Some(row) = rows.next().map_err(sqlite)? {
        let this: String = row.get(0).map_err(sqlite)?;
        if this != invoice || orders.is_empty() {
            orders.push(ShopOrder { customer: row.get(2).map_err(sqlite)?, time: row.get(1).map_err(sqlite)?, lines: Vec::new() });
            invoice = this;
        }
        let line = ShopLine {
            stock_code: row.get(3).map_err(sqlite)?,
            description: row.get(4).map_err(sqlite)?,
            unit_price: row.get(5).map_err(sqlite)?,
            quantity: row.get(6).map_err(sqlite)?,
        };
        orders.last_mut().expect("pushed above").lines.push(line);
    }
    Ok(orders)
}

/// The `limit` products with the most revenue (real product codes only: five digits first,
/// which leaves out postage, fees and manual lines).
pub fn best_sellers(conn: &Connection, limit: usize) -> Result<Vec<BestSeller>, CopyError> {
    let sql = "WITH top AS (
                   SELECT stock_code, min(description) AS description, sum(quantity * unit_price) AS revenue FROM order_lines
                   WHERE cancelled = 0 AND quantity > 0 AND unit_price > 0 AND stock_code GLOB '[0-9][0-9][0-9][0-9][0-9]*'
                   GROUP BY stock_code ORDER BY revenue DESC LIMIT ?1),
               monthly AS (
                   SELECT o.stock_code, substr(o.invoice_date, 1, 7) AS month, o.unit_price, count(*) AS lines
                   FROM order_lines o JOIN top USING (stock_code)
                   WHERE o.cancelled = 0 AND o.quantity > 0 AND o.unit_price > 0
                   GROUP BY o.stock_code, month, o.unit_price)
               SELECT m.stock_code, t.description, m.month, m.unit_price FROM monthly m JOIN top t USING (stock_code)
               WHERE m.lines = (SELECT max(lines) FROM monthly x WHERE x.stock_code = m.stock_code AND x.month = m.month)
               ORDER BY t.revenue DESC, m.stock_code, m.month, m.unit_price";
    let sqlite = |source| CopyError::Sqlite { table: "order lines", source };
    let mut stmt = conn.prepare(sql).map_err(sqlite)?;
    let mut rows = stmt.query([limit as i64]).map_err(sqlite)?;
    let mut out: Vec<BestSeller> = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite)? {
        let code: String = row.get(0).map_err(sqlite)?;
        let month: String = row.get(2).map_err(sqlite)?;
        let first_day = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| CopyError::BadTime { table: "order lines", text: month.clone() })?;
        let price: f64 = row.get(3).map_err(sqlite)?;
        if out.last().is_none_or(|b| b.stock_code != code) {
            out.push(BestSeller { stock_code: code, description: row.get(1).map_err(sqlite)?, monthly_prices: Vec::new() });
        }
        let seller = out.last_mut().expect("pushed above");
        // Ties between prices: the lowest (first in order) stands for the month.
        if seller.monthly_prices.last().is_none_or(|&(m, _)| m != first_day) {
            seller.monthly_prices.push((first_day, price));
        }
    }
    Ok(out)
}

/// Whether `table` has `column` (a workspace read without upgrading may predate it).
fn has_column(conn: &Connection, table: &'static str, column: &str) -> Result<bool, CopyError> {
    conn.query_row("SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2", [table, column], |r| r.get(0))
        .map_err(|source| CopyError::Sqlite { table, source })
}

/// Reads every event. Progress is reported in rows.
pub fn load_events(conn: &Connection, ctx: &JobContext) -> Result<EventFrame, CopyError> {
    start_progress(ctx, count(conn, "events", "SELECT count(*) FROM events")?, "loading events");
    let mut builder = EventFrameBuilder::new();
    let rowid = read_events(conn, 0, &mut builder, ctx)?;
    ctx.set_message("ordering events by session");
    let mut frame = builder.finish();
    frame.workspace_rowid = Some(rowid);
    Ok(frame)
}

/// `frame` plus the events added to the workspace since it was read (live mode, or a cache that
/// lags behind): only the new rows are read, and only the sessions they touch are regrouped
/// ([`EventFrame::appended`], written into `spare` when it is of `frame`'s lineage). `None`
/// when `frame` did not come from the workspace.
pub fn extend_events(
    frame: &EventFrame,
    spare: Option<EventFrame>,
    conn: &Connection,
    ctx: &JobContext,
) -> Result<Option<(EventFrame, Appended)>, CopyError> {
    let Some(since) = frame.workspace_rowid else { return Ok(None) };
    ctx.set_message("adding new events");
    let mut added = EventFrameBuilder::new();
    let rowid = read_events(conn, since, &mut added, ctx)?.max(since);
    let (mut extended, appended) = frame.appended(added, spare);
    extended.workspace_rowid = Some(rowid);
    Ok(Some((extended, appended)))
}

/// Adds the events with a rowid above `after` to `builder`; returns the highest rowid read
/// (or `after`).
fn read_events(conn: &Connection, after: i64, builder: &mut EventFrameBuilder, ctx: &JobContext) -> Result<i64, CopyError> {
    // A workspace from before migration 12, read without upgrading, has no quantities: one unit each.
    let quantity = if has_column(conn, "events", "quantity")? { "quantity" } else { "NULL" };
    let sql = format!(
        "SELECT event_time, event_type, product_id, category_code, brand, price, user_id, user_session, rowid, {quantity} FROM events WHERE rowid > ?1"
    );
    let mut last = after;
    // Read once, and only when an event lacks a category or brand.
    let mut products: Option<ProductAttributes> = None;
    each_row(conn, "events", &sql, [after], ctx, |cells| {
        let (product, category, brand) = (cells.get(2)?, cells.text(3)?, cells.text(4)?);
        let (category, brand) = if category.trim().is_empty() || brand.trim().is_empty() {
            if products.is_none() {
                products = Some(ProductAttributes::read(conn, &JobContext::detached())?);
            }
            products.as_ref().map_or((category, brand), |p| p.fill(product, category, brand))
        } else {
            (category, brand)
        };
        builder.push(
            cells.time(0)?.epoch_seconds(),
            EventKind::parse(cells.text(1)?.as_bytes()),
            product,
            category,
            brand,
            cells.get::<Option<f64>>(5)?.unwrap_or(0.0),
            cells.get(6)?,
            cells.text(7)?,
        );
        last = last.max(cells.get(8)?);
        // The import keeps quantities to 1..=u32::MAX; a file edited outside it is refused here.
        if let Some(units) = cells.get::<Option<i64>>(9)? {
            let units = u32::try_from(units).ok().filter(|&u| u > 0).ok_or(CopyError::BadValue {
                table: "events",
                column: "quantity",
                value: units.to_string(),
            })?;
            builder.set_last_quantity(units);
        }
        Ok(())
    })?;
    Ok(last)
}

/// What findings read besides the order lines: the segment map (segment moves), the web events
/// (funnel changes), the competitor prices and the Pricing panel's thresholds (market moves), the
/// marketplace (supply changes).
pub struct FindingsInputs {
    pub grid: crate::analytics::rfm::SegmentGrid,
    /// The caller's events copy, if it has one to give.
    pub events: Option<std::sync::Arc<EventFrame>>,
    pub pricing: PricingData,
    pub pricing_settings: crate::analytics::pricing::PricingSettings,
    pub marketplace: MarketplaceData,
}

impl FindingsInputs {
    pub fn sources(&self) -> crate::analytics::findings::OtherSources<'_> {
        crate::analytics::findings::OtherSources {
            events: self.events.as_deref(),
            pricing: Some((&self.pricing, &self.pricing_settings)),
            marketplace: Some(&self.marketplace),
        }
    }

    pub fn settings(&self) -> crate::analytics::findings::FindingsSettings {
        crate::analytics::findings::FindingsSettings { grid: self.grid.clone(), ..Default::default() }
    }
}

/// Reads [`FindingsInputs`] from the workspace, with `events` as the events copy: the window
/// passes the one its Funnel panel keeps (or none while it loads); the CLI reads one first.
pub fn load_findings_inputs(
    conn: &Connection,
    events: Option<std::sync::Arc<EventFrame>>,
    ctx: &JobContext,
) -> Result<FindingsInputs, CopyError> {
    let setting_error = |source| CopyError::Sqlite { table: "settings", source };
    Ok(FindingsInputs {
        grid: super::settings::load_segment_grid(conn).map_err(setting_error)?,
        events,
        pricing: load_pricing(conn, ctx)?,
        pricing_settings: super::settings::load_pricing_setting(conn, super::settings::SIGNAL_THRESHOLDS).map_err(setting_error)?,
        marketplace: load_marketplace(conn, ctx)?,
    })
}
