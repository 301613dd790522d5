//! The Overview, RFM and the funnel computed on the server.
//!
//! The SQL is generated from the same definitions the local code follows (see
//! `analytics::overview`, `analytics::rfm`, `analytics::funnel`): the server sums, counts and
//! groups; only aggregates travel (a row per month, per customer, per day and level); and the
//! analytics code assembles them into the same result types with the same code
//! (`overview::assemble`, `rfm::score_totals`, `funnel::assemble`). `tests/warehouse.rs` holds
//! the server's results equal to the local copy's of the same data.
//!
//! A server table is read as the importer would read it: columns recognised by name (or
//! mapped), rows the importer would reject left out the same way (a required value missing, a
//! fractional quantity), customer ids normalised (`13085.0` → `13085`), times in UTC, money
//! summed exactly (`numeric`) and converted to a float once. Where the local copy keeps the first
//! value it met (a product's description, the country of a customer's last line when two lines
//! share the second), a table has no "first": the server takes the most frequent description and
//! any one of the tied countries.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::analytics::overview::Days;

use super::{browse, quote_ident, quote_table, Server, WarehouseError};
use crate::analytics::dictionary::Dictionary;
use crate::analytics::event_frame::EventKind;
use crate::analytics::funnel::{self, CountBy, Dimension, FunnelCounts, FunnelResult, FunnelSettings, Window, CONVERT_BINS, PRICE_BANDS};
use crate::analytics::overview::{self, MonthTotals, OverviewAggregates, OverviewResult, PeriodTotals, Ranked};
use crate::analytics::rfm::{self, PurchaseTotals, RfmResult, SegmentGrid};
use crate::analytics::Filters;
use crate::import::kinds;
use crate::jobs::JobContext;
use crate::workspace::catalogue::Target;

/// A server table read as one of our tables: each target column's server column and type.
#[derive(Debug, Clone)]
pub struct MappedTable {
    /// As the user wrote it.
    pub table: String,
    pub target: Target,
    /// Target column → server column, as saved for later runs.
    pub mapping: Vec<(String, String)>,
    from: String,
    columns: HashMap<&'static str, (String, String)>,
    /// Order lines: what marks a cancellation, decided as a file import decides it.
    cancellation: kinds::CancellationRule,
    /// Order lines whose money is in several currencies: the one summed (the filter's, else
    /// the one with the most rows), as the local copy does. `None`: one currency.
    sum_currency: Option<String>,
}

/// Maps `table` on `server` to `target`: columns recognised by name as in a file import, then
/// the `saved` mapping, then the user's `--map` pairs.
pub fn map_table(
    server: &Server,
    ctx: &JobContext,
    table: &str,
    target: Target,
    saved: Option<&[(String, String)]>,
    given: &[(String, String)],
) -> Result<MappedTable, WarehouseError> {
    let server_columns = browse::columns(server, ctx, table)?;
    let headers: Vec<String> = server_columns.iter().map(|c| c.name.clone()).collect();
    let mut mapping = kinds::guess_mapping(target, &headers);
    for (t, s) in saved.unwrap_or_default().iter().chain(given) {
        mapping.insert(t.clone(), s.clone());
    }
    let indices = kinds::resolve_mapping(target, &mapping, &headers)
        .map_err(|e| WarehouseError::Mapping(e.replace("the file", &format!("table {table}")).replace("in the file", "in the table")))?;
    let mut columns = HashMap::new();
    let mut pairs = Vec::new();
    for (column, index) in target.columns().iter().zip(indices) {
        if let Some(i) = index {
            let server_column = &server_columns[i];
            columns.insert(column.name, (quote_ident(&server_column.name), server_column.type_name.clone()));
            pairs.push((column.name.to_string(), server_column.name.clone()));
        }
    }
    let mut mapped = MappedTable {
        table: table.to_string(),
        target,
        mapping: pairs,
        from: quote_table(table)?,
        columns,
        cancellation: kinds::CancellationRule::None,
        sum_currency: None,
    };
    if target == Target::OrderLines {
        mapped.cancellation = cancellation_rule(server, ctx, &mapped, &headers)?;
        if mapped.column("currency").is_some() {
            let sql = format!(
                "SELECT {} AS c, count(*) FROM {} GROUP BY c ORDER BY count(*) DESC, c COLLATE \"C\" LIMIT 2",
                mapped.currency()?,
                mapped.from
            );
            let rows = server.query(ctx, &sql, &[])?;
            if rows.len() > 1 {
                mapped.sum_currency = Some(rows[0].get(0));
            }
        }
    }
    Ok(mapped)
}

/// The cancellation rule of an order-lines table, as the importer decides it for a file
/// (`import::cancellation_rule`): the UCI rule for the UCI layouts, the status column's
/// cancelled values where one is mapped, else judged from the first rows' invoices.
fn cancellation_rule(
    server: &Server,
    ctx: &JobContext,
    table: &MappedTable,
    headers: &[String],
) -> Result<kinds::CancellationRule, WarehouseError> {
    use kinds::{CancellationRule, KnownKind};
    if matches!(KnownKind::detect(headers), Some(KnownKind::UciOnlineRetailII | KnownKind::UciOnlineRetail)) {
        return Ok(CancellationRule::InvoicePrefix);
    }
    if table.column("status").is_some() {
        return Ok(CancellationRule::Status(kinds::CANCELLED_STATUSES.iter().map(|s| s.to_string()).collect()));
    }
    let invoice = table.required("invoice")?;
    let rows = server.query(ctx, &format!("SELECT {invoice}::text FROM {} LIMIT {}", table.from, crate::import::SAMPLE_ROWS), &[])?;
    let invoices: Vec<String> = rows.iter().filter_map(|r| r.get::<_, Option<String>>(0)).collect();
    Ok(CancellationRule::decide_from_invoices(invoices.iter().map(String::as_str)).0)
}

/// A server table of a saved source, as a push-down run names it.
pub struct TableRun<'a> {
    /// The workspace holding the source and the table's saved mapping.
    pub workspace: &'a std::path::Path,
    pub source: &'a crate::workspace::sources::SourceConfig,
    pub password: Option<&'a str>,
    pub table: &'a str,
    pub target: Target,
    /// `--map` pairs over the saved mapping; remembered when given.
    pub map: &'a [(String, String)],
}

/// Connects, maps the table (saved mapping, then `map`, which is saved) and runs `work` on it;
/// returns the result and the bytes that crossed the network for it. The CLI's `--source` runs
/// and the panels' server runs all go through here.
pub fn on_table<T>(
    run: TableRun<'_>,
    ctx: &JobContext,
    work: impl FnOnce(&Server, &JobContext, &MappedTable) -> Result<T, WarehouseError>,
) -> Result<(T, u64), WarehouseError> {
    use crate::workspace::sources;
    let saved = sources::table_mapping(&crate::workspace::open_read_only(run.workspace)?, &run.source.name, run.table, run.target.table())?;
    let server = Server::connect(run.source, run.password, ctx)?;
    let mapped = map_table(&server, ctx, run.table, run.target, saved.as_deref(), run.map)?;
    if !run.map.is_empty() {
        let workspace = crate::workspace::Workspace::open(run.workspace)?;
        sources::save_table_mapping(workspace.conn(), &run.source.name, run.table, run.target.table(), &mapped.mapping)?;
    }
    let before = server.bytes_transferred();
    let result = work(&server, ctx, &mapped)?;
    Ok((result, server.bytes_transferred() - before))
}

impl MappedTable {
    fn column(&self, name: &str) -> Option<&(String, String)> {
        self.columns.get(name)
    }

    /// The server column of a target column the SQL cannot do without.
    fn required(&self, name: &str) -> Result<String, WarehouseError> {
        self.column(name).map(|(c, _)| c.clone()).ok_or_else(|| WarehouseError::Mapping(format!("no column for {name}")))
    }

    /// A line's currency as the local copy keys it: trimmed, upper case, `''` when missing.
    fn currency(&self) -> Result<String, WarehouseError> {
        Ok(format!("coalesce(upper(btrim({})), '')", self.text("currency")))
    }

    /// The table as the filters sum it: their currency, where the table has several.
    fn for_filters(&self, filters: &Filters) -> MappedTable {
        let mut table = self.clone();
        if let (Some(chosen), Some(_)) = (&filters.currency, &self.sum_currency) {
            table.sum_currency = Some(chosen.trim().to_uppercase());
        }
        table
    }

    /// Whether a line is cancelled, by the table's [`kinds::CancellationRule`].
    fn cancelled(&self) -> Result<String, WarehouseError> {
        use kinds::CancellationRule;
        Ok(match &self.cancellation {
            CancellationRule::None => "false".into(),
            CancellationRule::InvoicePrefix => format!("btrim({}::text) ~ '^C[0-9]+$'", self.required("invoice")?),
            CancellationRule::Status(values) => {
                let listed: Vec<String> = values.iter().map(|v| literal(&v.to_lowercase())).collect();
                format!("coalesce(lower(btrim({})) IN ({}), false)", self.text("status"), listed.join(", "))
            }
        })
    }

    /// The column's value as text, or a NULL text where it is not mapped.
    fn text(&self, name: &str) -> String {
        self.column(name).map_or("NULL::text".to_string(), |(c, _)| format!("{c}::text"))
    }

    /// A time column as a timestamp: date and time types as they are, text parsed by the server
    /// (the session is in UTC, so a time without a zone is UTC, as the importer reads it).
    fn time(&self, name: &str) -> String {
        match self.column(name) {
            Some((c, ty)) if ty.starts_with("timestamp") || ty == "date" => c.clone(),
            Some((c, _)) => format!("{c}::timestamptz"),
            None => "NULL::timestamp".into(),
        }
    }

    /// Seconds since 1970 (UTC) of a time column.
    fn epoch(&self, name: &str) -> String {
        format!("floor(extract(epoch FROM {}))::int8", self.time(name))
    }

    fn is_whole_number_type(&self, name: &str) -> bool {
        self.column(name).is_some_and(|(_, ty)| matches!(ty.as_str(), "integer" | "bigint" | "smallint"))
    }

    /// `column IS NOT NULL`, and not empty text, for each required column: the rows the importer
    /// would reject for a missing value are left out here too.
    fn required_present(&self) -> Vec<String> {
        let mut conditions = Vec::new();
        for column in self.target.columns().iter().filter(|c| c.required && !c.empty_allowed) {
            if let Some((c, ty)) = self.column(column.name) {
                conditions.push(format!("{c} IS NOT NULL"));
                if is_text_type(ty) {
                    conditions.push(format!("btrim({c}) <> ''"));
                }
            }
        }
        conditions
    }

    /// The filter's days on a time column, compared with the column as stored so the server can
    /// use its indexes and skip partitions.
    fn days(&self, name: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<String> {
        let time = self.time(name);
        let mut conditions = Vec::new();
        if let Some(from) = from {
            conditions.push(format!("{time} >= '{from} 00:00:00'"));
        }
        if let Some(end) = to.and_then(|d| d.succ_opt()) {
            conditions.push(format!("{time} < '{end} 00:00:00'"));
        }
        conditions
    }
}

fn is_text_type(ty: &str) -> bool {
    ty == "text" || ty.starts_with("character") || ty == "name" || ty == "\"char\""
}

/// Text for SQL: a literal with quotes doubled.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn and(conditions: &[String]) -> String {
    if conditions.is_empty() {
        "TRUE".into()
    } else {
        conditions.join(" AND ")
    }
}

// ----- order lines -----------------------------------------------------------------------

/// A customer id normalised as the importer does (`values::normalize_customer_id`): trimmed;
/// empty or `nan` is missing; `13085.0` is `13085`; a whole number in exponent form is written
/// out.
fn customer_id(table: &MappedTable) -> String {
    let Some((c, ty)) = table.column("customer_id") else { return "NULL::text".into() };
    if table.is_whole_number_type("customer_id") {
        // Whole numbers print as they are.
        return format!("{c}::text");
    }
    match ty.as_str() {
        // A float prints without a trailing `.0` (shortest exact form); NaN is a missing id.
        "double precision" | "real" => return format!("CASE WHEN {c} = 'NaN' THEN NULL ELSE {c}::text END"),
        _ => {}
    }
    let v = format!("btrim({c}::text)");
    format!(
        "CASE WHEN {v} = '' OR lower({v}) = 'nan' THEN NULL \
              WHEN {v} ~ '^[0-9]+\\.0$' THEN left({v}, -2) \
              WHEN {v} ~ '^[0-9]+(\\.[0-9]+)?[eE]\\+?[0-9]+$' AND {v}::float8 = trunc({v}::float8) AND {v}::float8 < 1e15 \
                   THEN trunc({v}::float8)::numeric::text \
              ELSE {v} END"
    )
}

/// The order lines of `table` inside `days` and `country` as a FROM item with the columns
/// `invoice, cancelled, customer, country, stock_code, description, quantity, value, t`.
fn lines(table: &MappedTable, from: Option<NaiveDate>, to: Option<NaiveDate>, country: Option<&str>) -> Result<String, WarehouseError> {
    let (invoice, price) = (table.required("invoice")?, table.required("unit_price")?);
    // Without a quantity column every line is one unit, as the importer reads it.
    let quantity = table.column("quantity").map_or_else(|| "1".to_string(), |(c, _)| c.clone());
    let country_text = format!("coalesce({}, '')", table.text("country"));
    let mut conditions = table.required_present();
    if let Some((_, ty)) = table.column("quantity") {
        // The importer rejects a missing quantity where the file has the column.
        conditions.push(format!("{quantity} IS NOT NULL"));
        if is_text_type(ty) {
            conditions.push(format!("btrim({quantity}) <> ''"));
        }
    }
    if table.column("quantity").is_some() && !table.is_whole_number_type("quantity") {
        // The importer rejects a fractional quantity.
        conditions.push(format!("{quantity}::numeric = trunc({quantity}::numeric)"));
    }
    conditions.extend(table.days("invoice_date", from, to));
    if let Some(country) = country {
        conditions.push(format!("{country_text} = {}", literal(country)));
    }
    if let Some(currency) = &table.sum_currency {
        conditions.push(format!("{} = {}", table.currency()?, literal(currency)));
    }
    Ok(format!(
        // Text compared byte by byte ("C"): the same equality the local copy uses, and sorting for
        // count(DISTINCT …) several times faster than under a language's collation.
        "(SELECT {invoice}::text COLLATE \"C\" AS invoice, {cancelled} AS cancelled, \
                 ({customer}) COLLATE \"C\" AS customer, {country_text} COLLATE \"C\" AS country, \
                 coalesce({stock}, '') COLLATE \"C\" AS stock_code, btrim(coalesce({description}, '')) COLLATE \"C\" AS description, \
                 {quantity}::numeric AS quantity, {quantity}::numeric * {price}::numeric AS value, {time} AS t \
            FROM {from_table} WHERE {conditions}) AS lines",
        customer = customer_id(table),
        cancelled = table.cancelled()?,
        stock = table.text("stock_code"),
        description = table.text("description"),
        time = table.time("invoice_date"),
        from_table = table.from,
        conditions = and(&conditions),
    ))
}

/// The month index (`order_frame::month_index`: year × 12 + month − 1) of a time expression.
fn month_index(time: &str) -> String {
    format!("(extract(year FROM {time}) * 12 + extract(month FROM {time}) - 1)::int4")
}

/// Revenue, orders, customers, cancelled invoices and all invoices of `lines`: one row for the
/// whole period (month NULL) and, with `by_month`, one per month, from the same scan. Distinct
/// invoices and customers are counted as rows of a grouping (hash tables, one pass) rather
/// than with `count(DISTINCT …)` (a sort each).
fn order_counts(lines: &str, by_month: bool) -> String {
    let (sets, per_month, k) = if by_month {
        ("(invoice, cancelled), (customer, cancelled), (k, invoice, cancelled), (k, customer, cancelled)", "GROUPING(k) = 0", "k")
    } else {
        ("(invoice, cancelled), (customer, cancelled)", "false", "NULL::timestamp AS k")
    };
    format!(
        "SELECT CASE WHEN per_month THEN {month} END,
                coalesce(sum(value) FILTER (WHERE by_invoice AND NOT cancelled), 0)::float8,
                count(*) FILTER (WHERE by_invoice AND NOT cancelled AND NOT adjustment)::int8,
                count(*) FILTER (WHERE NOT by_invoice AND NOT cancelled AND customer IS NOT NULL)::int8,
                count(*) FILTER (WHERE by_invoice AND cancelled)::int8,
                count(*) FILTER (WHERE by_invoice AND NOT adjustment)::int8,
                count(*) FILTER (WHERE by_invoice AND adjustment)::int8,
                coalesce(sum(value) FILTER (WHERE by_invoice AND adjustment), 0)::float8
           FROM (SELECT {k}, customer, cancelled, sum(value) AS value, GROUPING(invoice) = 0 AS by_invoice, {per_month} AS per_month,
                        {adjustment} AS adjustment
                   FROM (SELECT date_trunc('month', t) AS k, * FROM {lines}) l
                  GROUP BY GROUPING SETS ({sets})) g
          GROUP BY per_month, k ORDER BY per_month, k",
        month = month_index("k"),
        adjustment = ADJUSTMENT,
    )
}

/// Whether a group of one invoice's lines is an adjustment, not an order
/// (`overview::is_adjustment`): not cancelled, worth 0 or less in cents, no customer.
const ADJUSTMENT: &str = "(NOT cancelled AND round(sum(value), 2) <= 0 AND NOT bool_or(customer IS NOT NULL))";

/// A row of [`order_counts`] as period totals.
fn period_totals(row: &tokio_postgres::Row) -> PeriodTotals {
    PeriodTotals {
        revenue: row.get(1),
        orders: row.get::<_, i64>(2) as u64,
        customers: row.get::<_, i64>(3) as u64,
        cancelled_invoices: row.get::<_, i64>(4) as u64,
        invoices: row.get::<_, i64>(5) as u64,
        adjustments: row.get::<_, i64>(6) as u64,
        adjustment_value: row.get(7),
    }
}

/// Totals of the period before (the current period's come with its months).
fn totals(
    server: &Server,
    ctx: &JobContext,
    table: &MappedTable,
    days: Days,
    country: Option<&str>,
) -> Result<PeriodTotals, WarehouseError> {
    let sql = order_counts(&lines(table, Some(days.0), Some(days.1), country)?, false);
    let rows = server.query(ctx, &sql, &[])?;
    Ok(rows.first().map(period_totals).unwrap_or_default())
}

/// The Overview of `table` on the server. `for_panel` also fetches what only the panel draws:
/// each order's value (one number per order, for the histogram) and the country and product
/// rankings; the CLI prints the KPIs and months, so it leaves them out.
pub fn overview(
    server: &Server,
    ctx: &JobContext,
    table: &MappedTable,
    filters: &Filters,
    for_panel: bool,
) -> Result<OverviewResult, WarehouseError> {
    let table = &table.for_filters(filters);
    server.snapshot(ctx, |server| {
        ctx.set_total(7);
        let span_row = server.query(ctx, &format!("SELECT min(t)::date::text, max(t)::date::text FROM {}", lines(table, None, None, None)?), &[])?;
        let day = |text: Option<String>| text.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok());
        let span = span_row.first().and_then(|r| Some((day(r.get(0))?, day(r.get(1))?)));
        let (period, previous_period) = overview::periods(span, filters);
        let Some(days) = period else { return Ok(overview::empty()) };
        let country = filters.country.as_deref();
        ctx.set_done(1);
        let previous = previous_period.map(|p| totals(server, ctx, table, p, country)).transpose()?;
        ctx.set_done(2);
        let current_lines = lines(table, Some(days.0), Some(days.1), country)?;
        let rows = server.query(ctx, &order_counts(&current_lines, true), &[])?;
        // The period's row (month NULL) sorts first; an empty period has none.
        let current = rows.iter().find(|r| r.get::<_, Option<i32>>(0).is_none()).map(period_totals).unwrap_or_default();
        ctx.set_done(3);
        let months = rows
            .iter()
            .filter_map(|r| {
                let totals = period_totals(r);
                Some(MonthTotals {
                    month: r.get::<_, Option<i32>>(0)?,
                    revenue: totals.revenue,
                    placed_orders: totals.orders,
                    active_customers: totals.customers,
                    cancelled_orders: totals.cancelled_invoices,
                })
            })
            .collect();
        ctx.set_done(4);
        // First purchase month over all dates (in the chosen country): a date filter must not
        // make an old customer look new.
        let new_by_month = server
            .query(
                ctx,
                &format!(
                    "SELECT {}, count(*)::int8 FROM (SELECT customer, min(t) AS first FROM {} WHERE NOT cancelled AND customer IS NOT NULL GROUP BY customer) f GROUP BY 1",
                    month_index("first"),
                    lines(table, None, None, country)?
                ),
                &[],
            )?
            .iter()
            .map(|r| (r.get::<_, i32>(0), r.get::<_, i64>(1) as u64))
            .collect();
        ctx.set_done(5);
        let order_values = if for_panel {
            server
                .query(
                    ctx,
                    &format!("SELECT sum(value)::float8 FROM {current_lines} WHERE NOT cancelled GROUP BY invoice, cancelled HAVING NOT {ADJUSTMENT}"),
                    &[],
                )?
                .iter()
                .map(|r| r.get::<_, f64>(0))
                .collect()
        } else {
            Vec::new()
        };
        let (top_countries, top_products) = if for_panel { rankings(server, ctx, &current_lines)? } else { (Vec::new(), Vec::new()) };
        ctx.set_done(7);
        let mut result = overview::assemble(OverviewAggregates {
            period: days,
            previous_period,
            current,
            previous,
            months,
            new_by_month,
            order_values,
            top_countries,
            top_products,
        });
        result.currency = table.sum_currency.clone();
        Ok(result)
    })
}

/// The best countries and products of `current_lines` by revenue.
fn rankings(server: &Server, ctx: &JobContext, current_lines: &str) -> Result<(Vec<Ranked>, Vec<Ranked>), WarehouseError> {
    let top_countries = server
        .query(
            ctx,
            &format!(
                "SELECT country, sum(value)::float8 AS revenue, count(*) FILTER (WHERE NOT adjustment)::int8 FROM
                   (SELECT country, invoice, sum(value) AS value FROM {current_lines} WHERE NOT cancelled GROUP BY country, invoice) i
                   JOIN (SELECT invoice, {ADJUSTMENT} AS adjustment FROM {current_lines} WHERE NOT cancelled GROUP BY invoice, cancelled) a
                     USING (invoice)
                  GROUP BY country ORDER BY revenue DESC LIMIT {}",
                overview::TOP_N
            ),
            &[],
        )?
        .iter()
        .map(|r| Ranked { name: r.get(0), detail: String::new(), revenue: r.get(1), count: r.get(2) })
        .collect();
    ctx.set_done(6);
    let top_products = server
        .query(
            ctx,
            &format!(
                "SELECT stock_code, coalesce(mode() WITHIN GROUP (ORDER BY nullif(description, '')), ''), sum(value)::float8 AS revenue,
                        sum(quantity)::int8 FROM {current_lines}
                  WHERE NOT cancelled GROUP BY stock_code ORDER BY revenue DESC LIMIT {}",
                overview::TOP_PRODUCTS_FETCHED
            ),
            &[],
        )?
        .iter()
        .map(|r| Ranked { name: r.get(0), detail: r.get(1), revenue: r.get(2), count: r.get(3) })
        .collect();
    Ok((top_countries, top_products))
}

/// RFM computed on the server, with the ids and countries its codes name.
#[derive(Debug, Clone)]
pub struct ServerRfm {
    pub result: RfmResult,
    pub customers: Vec<String>,
    pub countries: Vec<String>,
}

impl ServerRfm {
    pub fn names(&self) -> rfm::CustomerNames<'_> {
        rfm::CustomerNames { customers: &self.customers, countries: &self.countries }
    }
}

/// RFM of `table` on the server: one row per customer travels (last purchase, invoices, value,
/// country of the last line); scores and segments are the shared code's.
pub fn rfm(
    server: &Server,
    ctx: &JobContext,
    table: &MappedTable,
    filters: &Filters,
    analysis_date: Option<NaiveDate>,
    grid: &SegmentGrid,
) -> Result<ServerRfm, WarehouseError> {
    let table = &table.for_filters(filters);
    let sql = format!(
        "SELECT customer, (array_agg(country ORDER BY t DESC))[1], floor(extract(epoch FROM max(t)))::int8,
                count(*)::int8, sum(value)::float8
           FROM (SELECT customer, invoice, max(t) AS t, (array_agg(country ORDER BY t DESC))[1] AS country, sum(value) AS value
                   FROM {} WHERE NOT cancelled AND customer IS NOT NULL GROUP BY customer, invoice) i
          GROUP BY customer",
        lines(table, filters.from, filters.to, filters.country.as_deref())?
    );
    let rows = server.query(ctx, &sql, &[])?;
    let (mut customers, mut countries) = (Dictionary::default(), Dictionary::default());
    let purchases = rows
        .iter()
        .map(|r| PurchaseTotals {
            customer: customers.code(r.get::<_, &str>(0)),
            country: countries.code(r.get::<_, &str>(1)),
            last_time: r.get(2),
            frequency: r.get::<_, i64>(3) as u32,
            monetary: r.get(4),
        })
        .collect();
    let customers = customers.into_values();
    let result = rfm::score_totals(purchases, &customers, analysis_date, grid);
    Ok(ServerRfm { result, customers, countries: countries.into_values() })
}

// ----- events ------------------------------------------------------------------------------

/// The breakdown key of an event, as `funnel::key_label` names it.
fn breakdown_key(table: &MappedTable, dimension: Dimension) -> String {
    let trimmed = |name: &str| format!("btrim(coalesce({}, ''))", table.text(name));
    let none = |expr: String| format!("CASE WHEN {expr} = '' THEN '(none)' ELSE {expr} END");
    match dimension {
        Dimension::TopCategory => none(format!("split_part({}, '.', 1)", trimmed("category_code"))),
        Dimension::Category => none(trimmed("category_code")),
        Dimension::Brand => none(trimmed("brand")),
        Dimension::Product => format!("{}::int8::text", table.column("product_id").map_or("NULL".into(), |(c, _)| c.clone())),
        Dimension::PriceBand => {
            let price = table.column("price").map_or("0".to_string(), |(c, _)| format!("coalesce({c}::float4, 0)"));
            let mut case = String::from("CASE");
            for (band, upper) in PRICE_BANDS.iter().enumerate() {
                case.push_str(&format!(" WHEN {price} < {upper} THEN {}", literal(&funnel::price_band_label(band))));
            }
            case.push_str(&format!(" ELSE {} END", literal(&funnel::price_band_label(PRICE_BANDS.len()))));
            case
        }
    }
}

/// The funnel chain: one CTE per step (`s1`…`sN`) and `reach (unit…, start, level, finish)`
/// per unit. `unit` names the unit's columns in `ev`.
fn reach_chain(settings: &FunnelSettings, unit: &[&str], window: Option<i64>) -> String {
    let units = unit.join(", ");
    let qualified = |alias: &str| unit.iter().map(|u| format!("{alias}.{u}")).collect::<Vec<_>>().join(", ");
    let mut sql = String::new();
    for (k, kind) in settings.steps.iter().enumerate() {
        let n = k + 1;
        let kind = literal(kind.name());
        if k == 0 {
            sql.push_str(&format!(", s1 AS (SELECT {units}, min(t) AS start, min(t) AS t FROM ev WHERE kind = {kind} GROUP BY {units})"));
            continue;
        }
        let (upper, lower) = match window {
            Some(w) => (format!(" AND e.t <= p.start + {w}"), format!(" AND e.t >= p.start - {w}")),
            None => (String::new(), String::new()),
        };
        let e = qualified("e");
        if settings.strict {
            // The first step-k event at or after the time step k−1 was reached.
            sql.push_str(&format!(
                ", s{n} AS (SELECT {e}, p.start, min(e.t) AS t FROM ev e JOIN s{k} p USING ({units}) \
                   WHERE e.kind = {kind} AND e.t >= p.t{upper} GROUP BY {e}, p.start)"
            ));
        } else {
            // Any order: every step up to k occurs (inside the window around step 1).
            sql.push_str(&format!(
                ", s{n} AS (SELECT {e}, p.start, greatest(p.t, min(e.t)) AS t FROM ev e JOIN s{k} p USING ({units}) \
                   WHERE e.kind = {kind}{lower}{upper} GROUP BY {e}, p.start, p.t)"
            ));
        }
    }
    let steps = settings.steps.len();
    let level = (2..=steps).rev().map(|n| format!("WHEN s{n}.t IS NOT NULL THEN {n}")).collect::<Vec<_>>().join(" ");
    let finish = (1..=steps).rev().map(|n| format!("s{n}.t")).collect::<Vec<_>>().join(", ");
    let joins = (2..=steps).map(|n| format!(" LEFT JOIN s{n} USING ({units})")).collect::<String>();
    let level = if steps > 1 { format!("CASE {level} ELSE 1 END") } else { "1".into() };
    sql.push_str(&format!(", reach AS (SELECT {units}, s1.start, {level} AS level, coalesce({finish}) AS finish FROM s1{joins})"));
    sql
}

/// The events of `table` as `ev (session, usr, t, kind[, key])`, inside the filter's days.
fn events(
    table: &MappedTable,
    filters: &Filters,
    key: Option<Dimension>,
    sessions_only: bool,
    steps: &[EventKind],
) -> Result<String, WarehouseError> {
    let user = table.required("user_id")?;
    let session = match table.column("user_session") {
        Some((c, _)) => format!("CASE WHEN btrim({c}::text) = '' THEN NULL ELSE {c}::text END"),
        None => "NULL::text".into(),
    };
    let mut conditions = table.required_present();
    conditions.extend(table.days("event_time", filters.from, filters.to));
    let kinds: Vec<String> = steps.iter().map(|k| literal(k.name())).collect();
    conditions.push(format!("{}::text IN ({})", table.required("event_type")?, kinds.join(", ")));
    let key = key.map_or(String::new(), |d| format!(", {} AS key", breakdown_key(table, d)));
    let inner = format!(
        "SELECT {session} AS session, {user}::int8 AS usr, {epoch} AS t, {kind}::text AS kind{key} FROM {from} WHERE {conditions}",
        epoch = table.epoch("event_time"),
        kind = table.required("event_type")?,
        from = table.from,
        conditions = and(&conditions),
    );
    Ok(if sessions_only { format!("SELECT * FROM ({inner}) x WHERE session IS NOT NULL") } else { inner })
}

/// The funnel of `table` on the server: counts per step, per breakdown key, per day, the time to
/// convert; the list of who dropped off is not fetched (a list of visitors, not an aggregate).
pub fn funnel(
    server: &Server,
    ctx: &JobContext,
    table: &MappedTable,
    filters: &Filters,
    settings: &FunnelSettings,
) -> Result<FunnelResult, WarehouseError> {
    let steps = settings.steps.len();
    if steps == 0 {
        return Ok(funnel::assemble(settings, FunnelCounts { time_to_convert: vec![0; CONVERT_BINS.len()], ..Default::default() }));
    }
    let window = match settings.window {
        Window::Session => None,
        Window::Hours(h) => Some(i64::from(h) * 3600),
    };
    // The unit a step is reached in, and whether events without a session take part.
    let (unit, sessions_only): (&[&str], bool) = match (settings.count_by, settings.window) {
        (CountBy::Sessions, _) => (&["session"], true),
        (CountBy::Users, Window::Session) => (&["usr", "session"], true),
        (CountBy::Users, Window::Hours(_)) => (&["usr"], false),
    };
    server.snapshot(ctx, |server| {
        ctx.set_total(3);
        // The planner cannot estimate the step CTEs (it guesses one row for a join of them) and
        // then picks nested loops over tens of thousands of units: minutes instead of seconds.
        // Every join here is on the unit's key, which a hash join does in one pass.
        server.execute(ctx, "SET LOCAL enable_nestloop = off")?;
        let ev = events(table, filters, None, sessions_only, &settings.steps)?;
        // Counting users within sessions, a user is as far as their best session (the earliest
        // among equals).
        let best = if unit == ["usr", "session"] {
            ", best AS (SELECT DISTINCT ON (usr) usr, start, level, finish FROM reach ORDER BY usr, level DESC, start, finish)"
        } else {
            ", best AS (SELECT start, level, finish FROM reach)"
        };
        let bins = CONVERT_BINS
            .iter()
            .enumerate()
            .take(CONVERT_BINS.len() - 1)
            .map(|(i, (upper, _))| format!("WHEN finish - start < {upper} THEN {i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let sql = format!(
            "WITH ev AS ({ev}){chain}{best}
             SELECT 'day', floor(start / 86400.0)::int8, level::int8, count(*)::int8 FROM best GROUP BY 2, 3
             UNION ALL
             SELECT 'bin', (CASE {bins} ELSE {last} END)::int8, NULL, count(*)::int8 FROM best WHERE level = {steps} GROUP BY 2
             UNION ALL
             SELECT 'median', d, NULL, NULL FROM (SELECT finish - start AS d, row_number() OVER (ORDER BY finish - start) AS rn,
                                                         count(*) OVER () AS c FROM best WHERE level = {steps}) m
              WHERE rn = c / 2 + 1",
            chain = reach_chain(settings, unit, window),
            last = CONVERT_BINS.len() - 1,
        );
        let mut counts = FunnelCounts { counts: vec![0; steps], time_to_convert: vec![0; CONVERT_BINS.len()], ..Default::default() };
        let mut daily: HashMap<i64, (u64, u64)> = HashMap::new();
        for row in server.query(ctx, &sql, &[])? {
            let (part, a) = (row.get::<_, &str>(0), row.get::<_, Option<i64>>(1).unwrap_or(0));
            match part {
                "day" => {
                    let (level, n) = (row.get::<_, Option<i64>>(2).unwrap_or(0) as usize, row.get::<_, Option<i64>>(3).unwrap_or(0) as u64);
                    for c in &mut counts.counts[..level.min(steps)] {
                        *c += n;
                    }
                    let day = daily.entry(a).or_default();
                    day.0 += n;
                    if level == steps {
                        day.1 += n;
                    }
                }
                "bin" => {
                    counts.time_to_convert[(a as usize).min(CONVERT_BINS.len() - 1)] = row.get::<_, Option<i64>>(3).unwrap_or(0) as u64
                }
                _ => counts.median_seconds_to_convert = Some(a),
            }
        }
        counts.daily = daily.into_iter().map(|(d, (e, c))| (d, e, c)).collect();
        ctx.set_done(1);
        if let Some(dimension) = settings.breakdown {
            // The same funnel per (unit, key); counting users, over all their events of that key
            // (sessions or not), as the local breakdown does.
            let (key_unit, key_sessions_only): (&[&str], bool) = match settings.count_by {
                CountBy::Sessions => (&["session", "key"], true),
                CountBy::Users => (&["usr", "key"], false),
            };
            let ev = events(table, filters, Some(dimension), key_sessions_only, &settings.steps)?;
            let sql = format!(
                "WITH ev AS ({ev}){chain} SELECT key, level::int8, count(*)::int8 FROM reach GROUP BY 1, 2",
                chain = reach_chain(settings, key_unit, window)
            );
            let mut by_key: HashMap<String, Vec<u64>> = HashMap::new();
            for row in server.query(ctx, &sql, &[])? {
                let (key, level, n) = (row.get::<_, String>(0), row.get::<_, i64>(1) as usize, row.get::<_, i64>(2) as u64);
                let entry = by_key.entry(key).or_insert_with(|| vec![0; steps]);
                for c in &mut entry[..level.min(steps)] {
                    *c += n;
                }
            }
            counts.breakdown = by_key.into_iter().map(|(key, counts)| funnel::BreakdownRow { key, counts }).collect();
        }
        ctx.set_done(2);
        if unit.contains(&"session") {
            let mut conditions = table.required_present();
            conditions.extend(table.days("event_time", filters.from, filters.to));
            let session = table.column("user_session").map(|(c, _)| c.clone());
            let sql = match session {
                Some(c) => format!(
                    "SELECT count(*)::int8 FROM {} WHERE {} AND ({c} IS NULL OR btrim({c}::text) = '')",
                    table.from,
                    and(&conditions)
                ),
                None => format!("SELECT count(*)::int8 FROM {} WHERE {}", table.from, and(&conditions)),
            };
            counts.events_without_session = server.query(ctx, &sql, &[])?.first().map_or(0, |r| r.get::<_, i64>(0) as u64);
        }
        ctx.set_done(3);
        Ok(funnel::assemble(settings, counts))
    })
}
