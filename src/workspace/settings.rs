//! Settings users make in the app that belong to the workspace (not to the machine): saved
//! console queries, the RFM segment map and its marketing actions, the pricing thresholds. The
//! tables are in `schema.rs` (migrations 2, 3 and 5).

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::analytics::alerts::{Review, SignalKey};
use crate::analytics::impact::{DecidedChange, Predicted};
use crate::analytics::pricing::PricingData;
use crate::analytics::rfm::SegmentGrid;

/// Saves `sql` as the console query `name` (replacing one of that name).
pub fn save_query(conn: &Connection, name: &str, sql: &str) -> rusqlite::Result<()> {
    conn.execute("INSERT OR REPLACE INTO saved_queries (name, sql, starter) VALUES (?1, ?2, 0)", [name, sql])?;
    Ok(())
}

/// The workspace's saved grid, or the standard one if none was saved.
pub fn load_segment_grid(conn: &Connection) -> rusqlite::Result<SegmentGrid> {
    let mut grid = SegmentGrid::default();
    let mut stmt = conn.prepare("SELECT r, f, segment FROM rfm_segment_cells")?;
    let cells = stmt.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?)))?;
    for cell in cells {
        let (r, f, name) = cell?;
        grid.cells[(r - 1) as usize][(f - 1) as usize] = name;
    }
    let mut stmt = conn.prepare("SELECT segment, action FROM segment_actions")?;
    for entry in stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))? {
        let (segment, action) = entry?;
        grid.set_action(&segment, action);
    }
    Ok(grid)
}

/// Replaces the saved grid in one transaction.
pub fn save_segment_grid(conn: &mut Connection, grid: &SegmentGrid) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM rfm_segment_cells", [])?;
    tx.execute("DELETE FROM segment_actions", [])?;
    for (r, row) in grid.cells.iter().enumerate() {
        for (f, name) in row.iter().enumerate() {
            tx.execute(
                "INSERT INTO rfm_segment_cells (r, f, segment) VALUES (?1, ?2, ?3)",
                rusqlite::params![r as i64 + 1, f as i64 + 1, name],
            )?;
        }
    }
    for (segment, action) in &grid.actions {
        tx.execute("INSERT OR REPLACE INTO segment_actions (segment, action) VALUES (?1, ?2)", [segment, action])?;
    }
    tx.commit()
}

/// Names under which the Pricing panel's settings are saved (one JSON value each).
pub const SIGNAL_THRESHOLDS: &str = "signals";
pub const RECOMMEND_RULES: &str = "recommend";
pub const OUR_CURRENCY: &str = "currency";
/// Whether our prices include tax (`Option<bool>`; unknown: feeds are not filtered by it).
pub const OUR_PRICES_INCLUDE_TAX: &str = "tax";
/// The alert list's daily cap and hidden kinds (`AlertSettings`).
pub const ALERTS: &str = "alerts";

/// A pricing setting saved under `name`, or the default for what was never saved. A value a
/// newer or older build wrote that does not parse falls back to the default too (and
/// `serde(default)` fills the fields it does not name).
pub fn load_pricing_setting<T: serde::de::DeserializeOwned + Default>(conn: &Connection, name: &str) -> rusqlite::Result<T> {
    let saved: Option<String> = conn.query_row("SELECT value FROM pricing_settings WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    Ok(saved.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default())
}

pub fn save_pricing_setting<T: serde::Serialize>(conn: &Connection, name: &str, value: &T) -> rusqlite::Result<()> {
    let json = serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute("INSERT OR REPLACE INTO pricing_settings (name, value) VALUES (?1, ?2)", [name, json.as_str()])?;
    Ok(())
}

/// The currency our prices are in: the `currency` setting, else the one currency our order lines
/// were stated in, else unknown.
pub fn our_currency(conn: &Connection) -> rusqlite::Result<Option<String>> {
    if let Some(currency) = load_pricing_setting::<Option<String>>(conn, OUR_CURRENCY)? {
        return Ok(Some(currency));
    }
    // Else the currency our order lines were stated in, when they were stated in one. Never a
    // competitor feed's: that would take their prices as ours.
    let stated: Vec<String> = conn
        .prepare("SELECT DISTINCT upper(trim(currency)) FROM order_lines WHERE currency IS NOT NULL LIMIT 2")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(match stated.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// A decision on one price proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceDecision {
    pub product_id: String,
    pub old_price: Option<f64>,
    pub new_price: Option<f64>,
    pub accepted: bool,
    pub reasons: String,
    pub decided_by: String,
    /// 'YYYY-MM-DD HH:MM:SS' (UTC).
    pub decided_at: String,
    /// What the recommendation expected the new price to change a day, when it could say.
    pub predicted: Option<Predicted>,
}

/// The accepted decisions of `log` that `analytics::impact` can match with a change of `data`'s
/// prices (the app, the CLI and the report read the log alike).
pub fn decided_changes(log: &[PriceDecision], data: &PricingData) -> Vec<DecidedChange> {
    log.iter().filter_map(|d| d.decided_change(data)).collect()
}

impl PriceDecision {
    /// The decision as `analytics::impact` reads it: an accepted price with its prediction,
    /// for a product of `data`'s catalogue.
    fn decided_change(&self, data: &PricingData) -> Option<DecidedChange> {
        let time = crate::timestamp::parse_time(&self.decided_at).ok()?.epoch_seconds();
        Some(DecidedChange {
            product: data.product_named(&self.product_id)?,
            day: time.div_euclid(crate::analytics::customers::SECONDS_PER_DAY),
            new_price: self.new_price.filter(|_| self.accepted)?,
            predicted: self.predicted,
        })
    }
}

/// Writes decisions to the log in one transaction; each accepted one also becomes our price
/// from the moment it was decided (an `our_prices` row with import_id 0).
pub fn record_decisions(conn: &mut Connection, decisions: &[PriceDecision]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for d in decisions {
        tx.execute(
            "INSERT INTO price_decisions (product_id, old_price, new_price, status, reasons, decided_by, decided_at,
                                          predicted_units, predicted_revenue, predicted_profit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                d.product_id,
                d.old_price,
                d.new_price,
                if d.accepted { "accepted" } else { "rejected" },
                d.reasons,
                d.decided_by,
                d.decided_at,
                d.predicted.map(|p| p.units),
                d.predicted.map(|p| p.revenue),
                d.predicted.map(|p| p.profit)
            ],
        )?;
        if let (true, Some(price)) = (d.accepted, d.new_price) {
            tx.execute(
                "INSERT INTO our_prices (product_id, price, valid_from, import_id) VALUES (?1, ?2, ?3, 0)",
                rusqlite::params![d.product_id, price, d.decided_at],
            )?;
        }
    }
    tx.commit()
}

/// The decision log, newest first.
pub fn load_decisions(conn: &Connection) -> rusqlite::Result<Vec<PriceDecision>> {
    let mut stmt = conn.prepare(
        "SELECT product_id, old_price, new_price, status, reasons, decided_by, decided_at,
                predicted_units, predicted_revenue, predicted_profit
         FROM price_decisions ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PriceDecision {
            product_id: r.get(0)?,
            old_price: r.get(1)?,
            new_price: r.get(2)?,
            accepted: r.get::<_, String>(3)? == "accepted",
            reasons: r.get(4)?,
            decided_by: r.get(5)?,
            decided_at: r.get(6)?,
            predicted: match (r.get(7)?, r.get(8)?, r.get(9)?) {
                (Some(units), Some(revenue), Some(profit)) => Some(Predicted { units, revenue, profit }),
                _ => None,
            },
        })
    })?;
    rows.collect()
}

/// The decision log as exported: product_id, old_price, new_price, status, reasons, decided_by,
/// decided_at, and what was predicted a day: predicted_units_per_day,
/// predicted_revenue_per_day, predicted_profit_per_day (empty when nothing was).
pub fn decisions_table(decisions: &[PriceDecision]) -> crate::analytics::Table {
    let header = [
        "product_id",
        "old_price",
        "new_price",
        "status",
        "reasons",
        "decided_by",
        "decided_at",
        "predicted_units_per_day",
        "predicted_revenue_per_day",
        "predicted_profit_per_day",
    ]
    .map(String::from)
    .to_vec();
    let price = |p: Option<f64>| p.map_or_else(String::new, |p| format!("{p:.2}"));
    let per_day =
        |d: &PriceDecision, figure: fn(&Predicted) -> f64| d.predicted.as_ref().map_or_else(String::new, |p| format!("{:.4}", figure(p)));
    let rows = decisions
        .iter()
        .map(|d| {
            vec![
                d.product_id.clone(),
                price(d.old_price),
                price(d.new_price),
                if d.accepted { "accepted" } else { "rejected" }.to_string(),
                d.reasons.clone(),
                d.decided_by.clone(),
                d.decided_at.clone(),
                per_day(d, |p| p.units),
                per_day(d, |p| p.revenue),
                per_day(d, |p| p.profit),
            ]
        })
        .collect();
    (header, rows)
}

/// Every acknowledged or snoozed alert.
pub fn load_signal_reviews(conn: &Connection) -> rusqlite::Result<HashMap<SignalKey, Review>> {
    let mut stmt = conn.prepare("SELECT signal, product_id, competitor, at, state, until FROM signal_reviews")?;
    let rows = stmt.query_map([], |r| {
        let key = SignalKey { signal: r.get(0)?, product_id: r.get(1)?, competitor: r.get(2)?, at: r.get(3)? };
        let until: Option<String> = r.get(5)?;
        let until = until.and_then(|t| crate::timestamp::parse_time(&t).ok());
        // A snooze whose end cannot be read has ended: the alert shows again rather than hiding.
        let review = match (r.get::<_, String>(4)?.as_str(), until) {
            ("acknowledged", _) => Review::Acknowledged,
            (_, until) => Review::SnoozedUntil(until.map_or(i64::MIN, |t| t.epoch_seconds())),
        };
        Ok((key, review))
    })?;
    rows.collect()
}

/// Saves what the user did with an alert; `None` takes a review back.
pub fn save_signal_review(conn: &Connection, key: &SignalKey, review: Option<Review>) -> rusqlite::Result<()> {
    let params = rusqlite::params![key.signal, key.product_id, key.competitor, key.at];
    conn.execute("DELETE FROM signal_reviews WHERE signal = ?1 AND product_id = ?2 AND competitor = ?3 AND at = ?4", params)?;
    let (state, until) = match review {
        None => return Ok(()),
        Some(Review::Acknowledged) => ("acknowledged", None),
        Some(Review::SnoozedUntil(until)) => ("snoozed", Some(crate::analytics::customers::format_time(until))),
    };
    conn.execute(
        "INSERT INTO signal_reviews (signal, product_id, competitor, at, state, until) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![key.signal, key.product_id, key.competitor, key.at, state, until],
    )?;
    Ok(())
}

/// Every product of the name-keyed competitor feeds.
pub fn named_products(conn: &Connection) -> rusqlite::Result<Vec<crate::analytics::matching::CompetitorProduct>> {
    conn.prepare("SELECT DISTINCT competitor, product_name FROM named_prices ORDER BY competitor, product_name")?
        .query_map([], |r| Ok(crate::analytics::matching::CompetitorProduct { competitor: r.get(0)?, name: r.get(1)? }))?
        .collect()
}

/// Our catalogue's ids and names (what competitor names are matched against).
pub fn catalogue_names(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare("SELECT product_id, coalesce(name, '') FROM products WHERE coalesce(name, '') <> '' ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The matches kept in the workspace, by competitor product.
pub fn load_matches(
    conn: &Connection,
) -> rusqlite::Result<HashMap<crate::analytics::matching::CompetitorProduct, crate::analytics::matching::MatchRow>> {
    use crate::analytics::matching::{CompetitorProduct, MatchRow, MatchStatus};
    let mut stmt = conn.prepare("SELECT competitor, competitor_product, product_id, similarity, status FROM name_matches")?;
    let rows = stmt.query_map([], |r| {
        let product = CompetitorProduct { competitor: r.get(0)?, name: r.get(1)? };
        let status: String = r.get(4)?;
        let similarity: f64 = r.get(3)?;
        Ok(MatchRow {
            product: product.clone(),
            product_id: r.get(2)?,
            similarity: (similarity >= 0.0).then_some(similarity),
            status: MatchStatus::parse(&status).unwrap_or(MatchStatus::Suggested),
        })
    })?;
    rows.map(|row| row.map(|m| (m.product.clone(), m))).collect()
}

/// Replaces the kept matches with `rows` (one transaction).
pub fn save_matches(conn: &mut Connection, rows: &[crate::analytics::matching::MatchRow]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM name_matches", [])?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO name_matches (competitor, competitor_product, product_id, similarity, status, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?5 = 'suggested' THEN NULL ELSE datetime('now') END)",
        )?;
        for r in rows {
            // No similarity (a product alone in its group) is kept as -1.
            insert.execute(params![r.product.competitor, r.product.name, r.product_id, r.similarity.unwrap_or(-1.0), r.status.name()])?;
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::pricing::PricingSettings;
    use crate::analytics::recommend::{PositionRule, RecommendSettings};

    #[test]
    fn pricing_settings_round_trip_and_fall_back_to_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::workspace::Workspace::open(&dir.path().join("w.shoplens")).unwrap();
        let conn = ws.conn();
        assert_eq!(load_pricing_setting::<PricingSettings>(conn, SIGNAL_THRESHOLDS).unwrap(), PricingSettings::default());
        let thresholds =
            PricingSettings { competitor_drop: 0.2, reference_competitor: Some("Contoso".into()), ..PricingSettings::default() };
        save_pricing_setting(conn, SIGNAL_THRESHOLDS, &thresholds).unwrap();
        let rules = RecommendSettings { position: PositionRule::Beat(0.03), ending_99: true, ..RecommendSettings::default() };
        save_pricing_setting(conn, RECOMMEND_RULES, &rules).unwrap();
        assert_eq!(load_pricing_setting::<PricingSettings>(conn, SIGNAL_THRESHOLDS).unwrap(), thresholds);
        assert_eq!(load_pricing_setting::<RecommendSettings>(conn, RECOMMEND_RULES).unwrap(), rules);
        // What does not parse is the default, not an error.
        conn.execute("UPDATE pricing_settings SET value = 'not json' WHERE name = ?1", [RECOMMEND_RULES]).unwrap();
        assert_eq!(load_pricing_setting::<RecommendSettings>(conn, RECOMMEND_RULES).unwrap(), RecommendSettings::default());
        // A competitor feed's currency is never taken as ours; a stated one is.
        conn.execute(
            "INSERT INTO competitor_prices (product_id, competitor, price, observed_at, currency, import_id) VALUES ('P1', 'X', 1.0, '2024-01-01 00:00:00', 'USD', 1)",
            [],
        )
        .unwrap();
        assert_eq!(our_currency(conn).unwrap(), None);
        save_pricing_setting(conn, OUR_CURRENCY, &"EUR").unwrap();
        // Reviews: saved, replaced, taken back.
        let key = SignalKey {
            signal: "undercut".into(),
            product_id: "P1".into(),
            competitor: "Contoso".into(),
            at: "2024-03-01 00:00:00".into(),
        };
        save_signal_review(conn, &key, Some(Review::SnoozedUntil(1_700_000_000))).unwrap();
        assert_eq!(load_signal_reviews(conn).unwrap(), HashMap::from([(key.clone(), Review::SnoozedUntil(1_700_000_000))]));
        save_signal_review(conn, &key, Some(Review::Acknowledged)).unwrap();
        assert_eq!(load_signal_reviews(conn).unwrap()[&key], Review::Acknowledged);
        save_signal_review(conn, &key, None).unwrap();
        assert!(load_signal_reviews(conn).unwrap().is_empty());
        assert_eq!(our_currency(conn).unwrap().as_deref(), Some("EUR"));
    }
}
