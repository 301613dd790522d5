//! Settings users make in the app that belong to the workspace (not to the machine): saved
//! console queries, the RFM segment map and its marketing actions, the pricing thresholds. The
//! tables are in `schema.rs` (migrations 2, 3 and 5).

use rusqlite::{Connection, OptionalExtension};

use crate::analytics::pricing::PricingSettings;
use crate::analytics::recommend::RecommendSettings;
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

/// The Pricing panel's thresholds and rules, or the defaults for what was never saved.
pub fn load_pricing_settings(conn: &Connection) -> rusqlite::Result<PricingSettings> {
    let saved: Option<String> = conn.query_row("SELECT value FROM pricing_settings WHERE name = 'signals'", [], |r| r.get(0)).optional()?;
    // A value a newer or older build wrote that does not parse falls back to the defaults
    // (`serde(default)` fills fields it does not name).
    Ok(saved.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default())
}

pub fn save_pricing_settings(conn: &Connection, settings: &PricingSettings) -> rusqlite::Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute("INSERT OR REPLACE INTO pricing_settings (name, value) VALUES ('signals', ?1)", [json])?;
    Ok(())
}

/// The currency our prices are in: the `currency` setting, else the competitor feeds' most
/// common one (as stated per row or per import), else unknown.
pub fn our_currency(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let set: Option<String> = conn.query_row("SELECT value FROM pricing_settings WHERE name = 'currency'", [], |r| r.get(0)).optional()?;
    if let Some(currency) = set.and_then(|json| serde_json::from_str::<String>(&json).ok()) {
        return Ok(Some(currency));
    }
    conn.query_row(
        "SELECT upper(trim(coalesce(cp.currency, pf.currency))) AS c FROM competitor_prices cp
         LEFT JOIN price_feeds pf ON pf.import_id = cp.import_id
         WHERE c IS NOT NULL GROUP BY c ORDER BY count(*) DESC, c LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// The recommendation rules last used, or the defaults.
pub fn load_recommend_settings(conn: &Connection) -> rusqlite::Result<RecommendSettings> {
    let saved: Option<String> =
        conn.query_row("SELECT value FROM pricing_settings WHERE name = 'recommend'", [], |r| r.get(0)).optional()?;
    Ok(saved.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default())
}

pub fn save_recommend_settings(conn: &Connection, settings: &RecommendSettings) -> rusqlite::Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute("INSERT OR REPLACE INTO pricing_settings (name, value) VALUES ('recommend', ?1)", [json])?;
    Ok(())
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
}

/// Writes decisions to the log in one transaction; each accepted one also becomes our price
/// from the moment it was decided (an `our_prices` row with import_id 0).
pub fn record_decisions(conn: &mut Connection, decisions: &[PriceDecision]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for d in decisions {
        tx.execute(
            "INSERT INTO price_decisions (product_id, old_price, new_price, status, reasons, decided_by, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                d.product_id,
                d.old_price,
                d.new_price,
                if d.accepted { "accepted" } else { "rejected" },
                d.reasons,
                d.decided_by,
                d.decided_at
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
