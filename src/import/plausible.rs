//! Plausibility after loading: values a row alone cannot show to be wrong, judged against the
//! rest of the same import, inside its transaction (so the checked rows commit or nothing does).
//!
//! The rules, stated once (the quality report names each finding):
//! - **dates far outside the feed**: a date more than three times the spread of the middle half
//!   of the import's dates (its interquartile range, at least 30 days) before the first
//!   quartile or after the third is rejected (Tukey's "far out" fence). Judged against the feed
//!   itself, never a calendar window: CDNOW's 1997 is real, a scraper's 9999-12-31 is not; a
//!   quarter of the rows could be wrong without moving the quartiles. Needs 20 dated rows.
//! - **absurd prices**: a price more than [`PRICE_RATIO`] times above or below the median of the
//!   same product's prices in the import is rejected (needs 3 prices of the product).
//! - **conflicting observations**: one competitor, product and instant with different prices
//!   are kept, counted in the report, and left out of signals by the analytics
//!   (`analytics::pricing`), which cannot tell which is right.
//! - **listings sold before they were listed** are counted; the listing metrics leave their
//!   days to sell out.
//!
//! A rejected row goes to `rejects` with line 0 (found after loading, not at a line) and its
//! stored values as the raw text.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use rusqlite::{params, Connection};

use crate::workspace::catalogue::Target;
use crate::workspace::report::QualityReport;

/// How far from the product's median a price may be, as a factor either way.
pub const PRICE_RATIO: f64 = 10.0;
/// Dated rows an import needs before its dates are judged against each other.
const MIN_DATED_ROWS: usize = 20;
/// Prices of one product an import needs before one of them is judged against the others.
const MIN_PRICES: usize = 3;

/// What is checked in a target's table.
struct Rules {
    table: &'static str,
    /// Date columns judged against the import's own span.
    dates: &'static [&'static str],
    /// The price column and the columns naming a product, for the ratio to its median.
    price: Option<(&'static str, &'static [&'static str])>,
    /// Columns naming one observation: rows equal in them but not in price disagree.
    observation: &'static [&'static str],
}

fn rules(target: Target) -> Option<Rules> {
    Some(match target {
        Target::CompetitorPrices => Rules {
            table: "competitor_prices",
            dates: &["observed_at"],
            price: Some(("price", &["product_id"])),
            observation: &["competitor", "product_id", "observed_at"],
        },
        Target::NamedPrices => Rules {
            table: "named_prices",
            dates: &["observed_at"],
            price: Some(("price", &["competitor", "product_name"])),
            observation: &["competitor", "product_name", "observed_at"],
        },
        Target::OurPrices => Rules {
            table: "our_prices",
            dates: &["valid_from"],
            price: Some(("price", &["product_id"])),
            observation: &["product_id", "valid_from"],
        },
        Target::Listings => Rules { table: "listings", dates: &["created_at", "listed_at", "sold_at"], price: None, observation: &[] },
        _ => return None,
    })
}

/// Applies the rules to the rows `import_id` loaded into `target`'s table, updating `report`.
pub fn check(conn: &Connection, target: Target, import_id: i64, report: &mut QualityReport) -> rusqlite::Result<()> {
    let Some(rules) = rules(target) else { return Ok(()) };
    let mut rejected: Vec<(i64, String)> = Vec::new();
    for column in rules.dates {
        rejected.extend(far_dates(conn, rules.table, column, import_id)?);
    }
    if let Some((price, product)) = rules.price {
        rejected.extend(absurd_prices(conn, rules.table, price, product, import_id)?);
    }
    // A row found twice (a far date and an absurd price) is rejected once, for the first.
    let mut seen = std::collections::HashSet::new();
    rejected.retain(|(rowid, _)| seen.insert(*rowid));
    move_to_rejects(conn, rules.table, import_id, &rejected, report)?;
    if !rules.observation.is_empty() {
        let (instants, rows) = conflicting(conn, rules.table, rules.observation, import_id)?;
        if instants > 0 {
            report.warnings.push(format!(
                "{rows} rows at {instants} instants disagree ({}: the same, the price not): kept, and left out of change signals",
                rules.observation.join(", ")
            ));
        }
    }
    if target == Target::Listings {
        let early: i64 = conn.query_row(
            "SELECT count(*) FROM listings WHERE import_id = ?1 AND sold_at IS NOT NULL AND listed_at IS NOT NULL AND sold_at < listed_at",
            [import_id],
            |r| r.get(0),
        )?;
        if early > 0 {
            report.warnings.push(format!("{early} listings were sold before they were listed: their days to sell are left out"));
        }
    }
    if let Some(column) = rules.dates.iter().find(|c| **c != "created_at").filter(|_| !rejected.is_empty()) {
        // The report's span is the loaded rows', not the rejected dates'.
        let (first, last): (Option<String>, Option<String>) =
            conn.query_row(&format!("SELECT min({column}), max({column}) FROM {} WHERE import_id = ?1", rules.table), [import_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        report.first_date = first.map(|d| d.chars().take(10).collect());
        report.last_date = last.map(|d| d.chars().take(10).collect());
    }
    Ok(())
}

fn parse(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()
}

/// Rows whose `column` lies far outside the import's own span (see the module's rules).
fn far_dates(conn: &Connection, table: &str, column: &str, import_id: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare(&format!("SELECT rowid, {column} FROM {table} WHERE import_id = ?1 AND {column} IS NOT NULL"))?;
    let mut dated: Vec<(i64, String)> = stmt.query_map([import_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    if dated.len() < MIN_DATED_ROWS {
        return Ok(Vec::new());
    }
    // 'YYYY-MM-DD HH:MM:SS' sorts as it reads.
    dated.sort_by(|a, b| a.1.cmp(&b.1));
    let at = |share: f64| &dated[((dated.len() - 1) as f64 * share).round() as usize].1;
    let (Some(low), Some(high)) = (parse(at(0.25)), parse(at(0.75))) else { return Ok(Vec::new()) };
    let width = (high - low).max(chrono::Duration::days(30));
    let (from, to) = (low - width * 3, high + width * 3);
    let reason = format!(
        "{column}: far outside the file's other dates (the middle half between {} and {})",
        low.format("%Y-%m-%d"),
        high.format("%Y-%m-%d")
    );
    Ok(dated
        .into_iter()
        .filter(|(_, text)| parse(text).is_none_or(|d| d < from || d > to))
        .map(|(rowid, _)| (rowid, reason.clone()))
        .collect())
}

/// Rows whose price is more than [`PRICE_RATIO`] times off the median of its product's.
fn absurd_prices(conn: &Connection, table: &str, price: &str, product: &[&str], import_id: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    let key = product.join(" || char(31) || ");
    let mut stmt = conn.prepare(&format!("SELECT rowid, {key}, {price} FROM {table} WHERE import_id = ?1"))?;
    let mut by_product: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    for row in stmt.query_map([import_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, f64>(2)?)))? {
        let (rowid, key, value) = row?;
        by_product.entry(key).or_default().push((rowid, value));
    }
    let reason = format!("{price}: more than {PRICE_RATIO} times above or below the product's median price in this file");
    let mut rejected = Vec::new();
    for prices in by_product.values().filter(|p| p.len() >= MIN_PRICES) {
        let mut values: Vec<f64> = prices.iter().map(|p| p.1).collect();
        let Some(median) = crate::analytics::marketplace::median(&mut values).filter(|m| *m > 0.0 && m.is_finite()) else { continue };
        rejected.extend(
            prices
                .iter()
                .filter(|(_, p)| *p > median * PRICE_RATIO || *p < median / PRICE_RATIO)
                .map(|(rowid, _)| (*rowid, reason.clone())),
        );
    }
    rejected.sort_unstable();
    Ok(rejected)
}

/// Observations equal in `columns` with more than one price: (instants, rows).
fn conflicting(conn: &Connection, table: &str, columns: &[&str], import_id: i64) -> rusqlite::Result<(u64, u64)> {
    let key = columns.join(", ");
    conn.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {table} WHERE import_id = ?1
             GROUP BY {key} HAVING count(DISTINCT price) > 1)"
        ),
        [import_id],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
}

/// Moves `rows` from `table` into `rejects` with their reasons, and counts them in `report`.
fn move_to_rejects(
    conn: &Connection,
    table: &str,
    import_id: i64,
    rows: &[(i64, String)],
    report: &mut QualityReport,
) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns: Vec<String> =
        conn.prepare(&format!("SELECT * FROM {table} LIMIT 0"))?.column_names().filter(|c| *c != "import_id").map(str::to_string).collect();
    let raw = columns.iter().map(|c| format!("coalesce(CAST({c} AS TEXT), '')")).collect::<Vec<_>>().join(" || ',' || ");
    let mut read = conn.prepare(&format!("SELECT {raw} FROM {table} WHERE rowid = ?1"))?;
    let mut insert = conn.prepare("INSERT INTO rejects (import_id, line, raw, reason) VALUES (?1, 0, ?2, ?3)")?;
    let mut delete = conn.prepare(&format!("DELETE FROM {table} WHERE rowid = ?1"))?;
    for (rowid, reason) in rows {
        let text: String = read.query_row([rowid], |r| r.get(0))?;
        insert.execute(params![import_id, text, reason])?;
        delete.execute([rowid])?;
        *report.rejected_by_reason.entry(reason.clone()).or_default() += 1;
    }
    let n = rows.len() as u64;
    report.rows_loaded = report.rows_loaded.saturating_sub(n);
    report.rows_rejected += n;
    Ok(())
}
