//! Writing batches into SQLite, fast: one prepared multi-row INSERT reused for every chunk of
//! rows, values bound by type, all inside the import's single transaction.

use rusqlite::{Connection, Statement};

use super::batch::{Batch, Reject, Value};
use crate::workspace::quote_ident;

/// Rows per INSERT statement. SQLite's per-statement overhead dominates single-row inserts;
/// beyond ~64 rows the gain flattens while the parameter count keeps growing.
const ROWS_PER_STATEMENT: usize = 64;

pub struct TableWriter<'c> {
    width: usize,
    many: Statement<'c>,
    one: Statement<'c>,
}

impl<'c> TableWriter<'c> {
    pub fn new(conn: &'c Connection, table: &str, columns: &[String]) -> rusqlite::Result<Self> {
        let width = columns.len();
        let column_list = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
        let row = format!("({})", vec!["?"; width].join(", "));
        let insert =
            |rows: usize| format!("INSERT INTO {} ({column_list}) VALUES {}", quote_ident(table), vec![row.as_str(); rows].join(", "));
        Ok(Self { width, many: conn.prepare(&insert(ROWS_PER_STATEMENT))?, one: conn.prepare(&insert(1))? })
    }

    pub fn insert(&mut self, batch: &Batch) -> rusqlite::Result<()> {
        debug_assert_eq!(batch.width(), self.width);
        let rows = batch.len();
        let full_chunks = rows / ROWS_PER_STATEMENT;
        for chunk in 0..full_chunks {
            for r in 0..ROWS_PER_STATEMENT {
                bind_row(&mut self.many, batch, chunk * ROWS_PER_STATEMENT + r, r * self.width)?;
            }
            self.many.raw_execute()?;
        }
        for r in full_chunks * ROWS_PER_STATEMENT..rows {
            bind_row(&mut self.one, batch, r, 0)?;
            self.one.raw_execute()?;
        }
        Ok(())
    }
}

fn bind_row(stmt: &mut Statement<'_>, batch: &Batch, row: usize, offset: usize) -> rusqlite::Result<()> {
    for (i, value) in batch.row(row).iter().enumerate() {
        let index = offset + i + 1;
        match value {
            Value::Null => stmt.raw_bind_parameter(index, rusqlite::types::Null)?,
            Value::Int(x) => stmt.raw_bind_parameter(index, x)?,
            Value::Real(x) => stmt.raw_bind_parameter(index, x)?,
            Value::Text { .. } => stmt.raw_bind_parameter(index, batch.text_of(value).unwrap_or_default())?,
        }
    }
    Ok(())
}

pub fn insert_rejects(conn: &Connection, import_id: i64, rejects: &[Reject]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("INSERT INTO rejects (import_id, line, raw, reason) VALUES (?1, ?2, ?3, ?4)")?;
    for reject in rejects {
        stmt.execute(rusqlite::params![import_id, reject.line as i64, reject.raw, reject.reason])?;
    }
    Ok(())
}

/// A table name not yet used in the workspace, derived from `wanted`.
pub fn unused_table_name(conn: &Connection, wanted: &str) -> rusqlite::Result<String> {
    let base = super::kinds::sanitize_column_names(&[wanted.to_string()]).remove(0);
    let base = if base.starts_with(|c: char| c.is_ascii_digit()) { format!("t_{base}") } else { base };
    let exists = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE", [name], |r| r.get::<_, i64>(0)).map(|n| n > 0)
    };
    let mut name = base.clone();
    let mut n = 2;
    while exists(&name)? {
        name = format!("{base}_{n}");
        n += 1;
    }
    Ok(name)
}

pub fn create_text_table(conn: &Connection, table: &str, columns: &[String]) -> rusqlite::Result<()> {
    let defs: Vec<String> = columns.iter().map(|c| format!("{} TEXT", quote_ident(c))).collect();
    conn.execute_batch(&format!("CREATE TABLE {} ({})", quote_ident(table), defs.join(", ")))
}

/// Gives columns whose every value parsed as a number a numeric type, by rebuilding the table.
/// Runs inside the import transaction, so a failure leaves nothing half-converted.
pub fn retype_columns(conn: &Connection, table: &str, columns: &[String], types: &[&str]) -> rusqlite::Result<()> {
    if types.iter().all(|t| *t == "TEXT") {
        return Ok(());
    }
    let staging = format!("{table}__retype");
    let defs: Vec<String> = columns.iter().zip(types).map(|(c, t)| format!("{} {t}", quote_ident(c))).collect();
    let selects: Vec<String> = columns
        .iter()
        .zip(types)
        .map(|(c, t)| if *t == "TEXT" { quote_ident(c) } else { format!("CAST({0} AS {t})", quote_ident(c)) })
        .collect();
    conn.execute_batch(&format!(
        "CREATE TABLE {staging_q} ({defs});
         INSERT INTO {staging_q} SELECT {selects} FROM {table_q};
         DROP TABLE {table_q};
         ALTER TABLE {staging_q} RENAME TO {table_q};",
        staging_q = quote_ident(&staging),
        table_q = quote_ident(table),
        defs = defs.join(", "),
        selects = selects.join(", "),
    ))
}
