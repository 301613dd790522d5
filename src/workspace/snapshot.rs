//! Read-only views of a workspace for the Data and SQL panels: tables and counts, the import
//! history with quality reports, saved queries, the schema, and pages of rows for previews.

use rusqlite::Connection;

use super::report::QualityReport;

#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: i64,
    pub file: String,
    pub kind: String,
    pub table: String,
    pub format: String,
    pub encoding: String,
    pub status: String,
    pub rows_read: i64,
    pub rows_loaded: i64,
    pub rows_rejected: i64,
    pub finished_at: String,
    pub report: Option<QualityReport>,
    /// Why a failed or cancelled import stopped.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkspaceSnapshot {
    pub tables: Vec<(String, i64)>,
    pub imports: Vec<ImportRow>,
    pub saved_queries: Vec<(String, String)>,
    /// Table name → (column name, declared type).
    pub schema: Vec<(String, Vec<(String, String)>)>,
}

impl WorkspaceSnapshot {
    pub fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let tables = super::table_counts(conn)?;
        let mut stmt = conn.prepare(
            "SELECT id, file, kind, target_table, format, encoding, status, rows_read, rows_loaded, rows_rejected, finished_at, report
             FROM imports ORDER BY id DESC",
        )?;
        let imports = stmt
            .query_map([], |r| {
                let report_json: String = r.get(11)?;
                let report = serde_json::from_str::<QualityReport>(&report_json).ok();
                let error =
                    serde_json::from_str::<serde_json::Value>(&report_json).ok().and_then(|v| v.get("error")?.as_str().map(str::to_string));
                Ok(ImportRow {
                    id: r.get(0)?,
                    file: r.get(1)?,
                    kind: r.get(2)?,
                    table: r.get(3)?,
                    format: r.get(4)?,
                    encoding: r.get(5)?,
                    status: r.get(6)?,
                    rows_read: r.get(7)?,
                    rows_loaded: r.get(8)?,
                    rows_rejected: r.get(9)?,
                    finished_at: r.get(10)?,
                    report: report.filter(|_| error.is_none()),
                    error,
                })
            })?
            .collect::<Result<_, _>>()?;
        let saved_queries = conn
            .prepare("SELECT name, sql FROM saved_queries ORDER BY starter DESC, name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let schema = tables
            .iter()
            .map(|(table, _)| {
                let columns = conn
                    .prepare("SELECT name, type FROM pragma_table_info(?1)")?
                    .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                Ok((table.clone(), columns))
            })
            .collect::<rusqlite::Result<_>>()?;
        Ok(Self { tables, imports, saved_queries, schema })
    }
}

/// Rows `offset..offset + limit` of `table` as text, in insertion order.
///
/// Workspace tables are append-only, so a row's rowid is its position + 1 and a page is a cheap
/// rowid range even 10 million rows deep (OFFSET would walk every row before it). A table with
/// gaps (rows deleted in the SQL console) falls back to OFFSET.
pub fn read_page(conn: &Connection, table: &str, offset: usize, limit: usize) -> rusqlite::Result<(Vec<String>, Vec<Vec<String>>)> {
    let quoted = super::quote_ident(table);
    let contiguous: bool =
        conn.query_row(&format!("SELECT coalesce(max(rowid), 0) = count(*) FROM {quoted}"), [], |r| r.get(0)).unwrap_or(false);
    let sql = if contiguous {
        format!("SELECT * FROM {quoted} WHERE rowid > {offset} AND rowid <= {} ORDER BY rowid", offset + limit)
    } else {
        format!("SELECT * FROM {quoted} LIMIT {limit} OFFSET {offset}")
    };
    let mut stmt = conn.prepare(&sql)?;
    let columns: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let width = columns.len();
    let rows = stmt
        .query_map([], |r| (0..width).map(|i| Ok(super::value_to_text(r.get_ref(i)?))).collect::<rusqlite::Result<Vec<String>>>())?
        .collect::<Result<_, _>>()?;
    Ok((columns, rows))
}

/// A read-only query's rows for display, with each column's type.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub columns: Vec<String>,
    /// The declared type, or for expressions the type of the first non-NULL value.
    pub types: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// More rows than the limit: only the first ones are here (an export writes them all).
    pub truncated: bool,
    pub elapsed: std::time::Duration,
}

/// Stops a running [`run_query_at`] from another thread (the console's Cancel button).
#[derive(Clone, Default)]
pub struct QueryInterrupt(std::sync::Arc<std::sync::Mutex<Option<rusqlite::InterruptHandle>>>);

impl QueryInterrupt {
    /// sqlite3_interrupt: the running statement stops at its next step.
    pub fn interrupt(&self) {
        if let Some(handle) = self.0.lock().ok().as_deref().and_then(Option::as_ref) {
            handle.interrupt();
        }
    }
}

/// Why the console's query gave no result.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("query cancelled")]
    Interrupted,
    #[error(transparent)]
    Workspace(#[from] super::WorkspaceError),
    #[error("{0}")]
    Sqlite(rusqlite::Error),
}

/// Runs `sql` on a new read-only connection to `workspace`, which `interrupt` can stop.
pub fn run_query_at(workspace: &std::path::Path, sql: &str, limit: usize, interrupt: &QueryInterrupt) -> Result<QueryResult, QueryError> {
    let conn = super::open_read_only(workspace)?;
    if let Ok(mut slot) = interrupt.0.lock() {
        *slot = Some(conn.get_interrupt_handle());
    }
    run_query(&conn, sql, limit).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::OperationInterrupted => QueryError::Interrupted,
        other => QueryError::Sqlite(other),
    })
}

/// Runs `sql` and keeps the first `limit` rows as text: the SQL console's result.
pub fn run_query(conn: &Connection, sql: &str, limit: usize) -> rusqlite::Result<QueryResult> {
    let started = std::time::Instant::now();
    let mut stmt = conn.prepare(sql)?;
    let columns: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let mut types: Vec<String> = stmt.columns().map(|c| c.decl_type().unwrap_or("").to_string()).collect();
    let mut out = Vec::new();
    let mut truncated = false;
    for_each_row(&mut stmt, |row, values| {
        if out.len() == limit {
            truncated = true;
            return Ok(false);
        }
        for (i, ty) in types.iter_mut().enumerate() {
            let kind = row.get_ref(i)?.data_type();
            if ty.is_empty() && kind != rusqlite::types::Type::Null {
                *ty = kind.to_string().to_uppercase();
            }
        }
        out.push(values.to_vec());
        Ok(true)
    })?;
    Ok(QueryResult { columns, types, rows: out, truncated, elapsed: started.elapsed() })
}

/// Calls `visit` with each row and its values as text until it returns `false`.
fn for_each_row(
    stmt: &mut rusqlite::Statement<'_>,
    mut visit: impl FnMut(&rusqlite::Row<'_>, &[String]) -> rusqlite::Result<bool>,
) -> rusqlite::Result<()> {
    let width = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut values = Vec::with_capacity(width);
    while let Some(row) = rows.next()? {
        values.clear();
        for i in 0..width {
            values.push(super::value_to_text(row.get_ref(i)?));
        }
        if !visit(row, &values)? {
            break;
        }
    }
    Ok(())
}

/// Why a query could not be written as CSV.
#[derive(Debug, thiserror::Error)]
pub enum QueryExportError {
    #[error(transparent)]
    Workspace(#[from] super::WorkspaceError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("writing the CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Runs `sql` on a read-only connection and writes every row as CSV with a header: what
/// `shoplens query` prints and what the SQL console exports.
pub fn query_to_csv(workspace: &std::path::Path, sql: &str, out: impl std::io::Write) -> Result<(), QueryExportError> {
    let conn = super::open_read_only(workspace)?;
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(&names)?;
    let mut failed = None;
    for_each_row(&mut stmt, |_, values| match writer.write_record(values.iter().map(|v| crate::analytics::inert_cell(v).into_owned())) {
        Ok(()) => Ok(true),
        Err(e) => {
            failed = Some(e);
            Ok(false)
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    writer.flush().map_err(csv::Error::from)?;
    Ok(())
}

/// The first `limit` rejected rows of an import: (line, reason, raw).
pub fn read_rejects(conn: &Connection, import_id: i64, limit: usize) -> rusqlite::Result<Vec<(i64, String, String)>> {
    conn.prepare("SELECT line, reason, raw FROM rejects WHERE import_id = ?1 ORDER BY line LIMIT ?2")?
        .query_map(rusqlite::params![import_id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Workspace;

    #[test]
    fn pages_follow_insertion_order_with_or_without_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(&dir.path().join("p.shoplens")).unwrap();
        ws.conn().execute_batch("CREATE TABLE t (x INTEGER); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT i FROM n;").unwrap();
        let (columns, rows) = read_page(ws.conn(), "t", 10, 3).unwrap();
        assert_eq!(columns, ["x"]);
        assert_eq!(rows, [["11"], ["12"], ["13"]]);
        ws.conn().execute("DELETE FROM t WHERE x = 5", []).unwrap();
        let (_, rows) = read_page(ws.conn(), "t", 3, 3).unwrap();
        assert_eq!(rows, [["4"], ["6"], ["7"]]);
        let snapshot = WorkspaceSnapshot::read(ws.conn()).unwrap();
        assert!(snapshot.tables.contains(&("t".to_string(), 99)));
        assert!(snapshot.saved_queries.iter().any(|(name, _)| name == "Repeat purchase rate"));
        assert!(snapshot.schema.iter().any(|(t, cols)| t == "order_lines" && cols.iter().any(|(c, ty)| c == "invoice" && ty == "TEXT")));
    }
}
