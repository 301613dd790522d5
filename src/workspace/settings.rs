//! Settings users make in the app that belong to the workspace (not to the machine): saved
//! console queries, the RFM segment map and its marketing actions. The tables are in
//! `schema.rs` (migrations 2 and 3).

use rusqlite::Connection;

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
