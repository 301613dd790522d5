//! The import history (`imports`): one row per import attempt, written by the importer and by
//! live mode, read by the Data panel and `shoplens info`.

use rusqlite::{params, Connection};

/// A new history row. Counts, the report and `finished_at` are filled in when the import ends
/// (a failed attempt is written complete, with its error as the report).
pub struct NewImport<'a> {
    pub file: &'a str,
    pub file_size: u64,
    pub fingerprint: &'a str,
    pub format: &'a str,
    pub encoding: &'a str,
    pub kind: &'a str,
    pub target_table: &'a str,
    /// The confirmed column mapping as JSON, if the user gave one.
    pub mapping: Option<&'a str>,
    /// JSON: `{}` until the report is known, or `{"error": ...}` for a failed attempt.
    pub report: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    /// `loading`, `watching`, `loaded`, `failed` or `cancelled`.
    pub status: &'a str,
}

/// Writes the row and returns its id.
pub fn insert_import(conn: &Connection, row: &NewImport<'_>) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO imports (file, file_size, file_hash, fingerprint, format, encoding, kind, target_table, mapping,
                              rows_read, rows_loaded, rows_rejected, report, started_at, finished_at, status)
         VALUES (?1, ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, 0, ?9, ?10, ?11, ?12)",
        params![
            row.file,
            row.file_size as i64,
            row.fingerprint,
            row.format,
            row.encoding,
            row.kind,
            row.target_table,
            row.mapping,
            row.report,
            row.started_at,
            row.finished_at,
            row.status
        ],
    )?;
    Ok(conn.last_insert_rowid())
}
