//! A workspace file damaged on disk (truncated, a page overwritten): telling it apart from other
//! errors, and copying whatever still reads into a new workspace.
//!
//! SQLite finds damage only when a query walks onto a bad page, so the copy reads each table in
//! rowid ranges; a range that fails is halved until the unreadable rowids are pinned down, and
//! everything around them is kept. The report lists, per table, the rows copied and the rowid
//! ranges that could not be read. Rows that break the schema's constraints are garbage read off a
//! damaged page and count as lost. SQLite keeps no page checksums, so damage inside a page that
//! still parses cannot be seen; a page cut short by truncation can, and is left out whole.
//!
//! Nothing stored in the file is run: the new workspace is made by our own migrations, a raw
//! table is created from its column names and types by our own SQL (only tables the import
//! history lists, in the importer's shape), and only values travel. Tables shoplens does not
//! make (and triggers, views, anything else) are left out and named in the report. So
//! `recover` is also how a workspace refused as untrusted (`trust`) becomes a clean one.

use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Workspace, WorkspaceError};
use crate::jobs::{Cancelled, JobContext};

/// Whether `error` (or anything in its source chain) is SQLite finding a damaged file.
pub fn is_damage(error: &(dyn std::error::Error + 'static)) -> bool {
    let damage = |failure: &rusqlite::ffi::Error| matches!(failure.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase);
    let mut next = Some(error);
    while let Some(e) = next {
        // Wrappers marked `transparent` hand on their inner error's source, not the inner error:
        // look at SQLite's own error type and at the variants that hold a rusqlite error too.
        let found = match e.downcast_ref::<WorkspaceError>() {
            Some(WorkspaceError::Damaged { .. }) => true,
            Some(WorkspaceError::Sqlite(inner) | WorkspaceError::Open { source: inner, .. }) => {
                matches!(inner, rusqlite::Error::SqliteFailure(failure, _) if damage(failure))
            }
            _ => false,
        };
        let sqlite = matches!(e.downcast_ref::<rusqlite::Error>(), Some(rusqlite::Error::SqliteFailure(failure, _)) if damage(failure));
        if found || sqlite || e.downcast_ref::<rusqlite::ffi::Error>().is_some_and(damage) {
            return true;
        }
        next = e.source();
    }
    false
}

/// What to add to the message of an error that is a damaged file SQLite ran into mid-query
/// (`WorkspaceError::Damaged` says it already).
pub fn damage_hint(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let said = error.downcast_ref::<WorkspaceError>().is_some_and(|e| matches!(e, WorkspaceError::Damaged { .. }));
    (is_damage(error) && !said).then_some(
        " — the workspace file is damaged: `shoplens recover WORKSPACE --to NEW.shoplens` copies whatever still reads into a new workspace",
    )
}

/// A cheap look at the file before SQLite does: the header says how many pages the file has
/// (when its change counters agree); a shorter file was cut off. `None` when it looks whole.
pub fn truncation(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    if size == 0 {
        return None;
    }
    if size < 100 || file.read_exact(&mut header).is_err() {
        return Some(format!("the file is only {size} bytes, shorter than a workspace header"));
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Some("the file does not start with a workspace header".into());
    }
    let be32 = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let page_size = page_size(&header);
    let pages = u64::from(be32(28));
    // The page count is valid only when the "version-valid-for" number matches the change counter.
    (pages > 0 && be32(92) == be32(24) && size < pages * page_size)
        .then(|| format!("the file is {size} bytes but its header says {} ({pages} pages): it was cut off", pages * page_size))
}

/// The page size a workspace header states (bytes 16–17; 1 stands for 65,536). Not checked:
/// a damaged header can state anything.
fn page_size(header: &[u8]) -> u64 {
    match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    }
}

/// What a recovery copied from one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRecovery {
    pub table: String,
    pub rows_copied: u64,
    /// Inclusive rowid ranges that could not be read (the rows there, if any, are lost).
    pub unreadable: Vec<(i64, i64)>,
    /// Set when the table could not be read at all.
    pub error: Option<String>,
}

/// The outcome of copying a damaged workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub target: PathBuf,
    pub tables: Vec<TableRecovery>,
}

impl Recovery {
    pub fn rows_copied(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_copied).sum()
    }

    pub fn complete(&self) -> bool {
        self.tables.iter().all(|t| t.unreadable.is_empty() && t.error.is_none())
    }
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "copied {} rows into {}", self.rows_copied(), self.target.display())?;
        for t in &self.tables {
            match (&t.error, t.unreadable.as_slice()) {
                (Some(error), _) => writeln!(f, "  {:<24} lost: {error}", t.table)?,
                (None, []) => writeln!(f, "  {:<24} {} rows, complete", t.table, t.rows_copied)?,
                (None, ranges) => {
                    let shown: Vec<String> =
                        ranges.iter().take(5).map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}–{b}") }).collect();
                    let more = if ranges.len() > 5 { format!(" and {} more ranges", ranges.len() - 5) } else { String::new() };
                    writeln!(f, "  {:<24} {} rows; unreadable rowids {}{more}", t.table, t.rows_copied, shown.join(", "))?
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("{0} already exists: recover into a new file")]
    TargetExists(PathBuf),
    #[error("nothing in {path} can be read: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("writing the recovered workspace: {0}")]
    Write(#[from] rusqlite::Error),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

/// Rowids per query: large enough to be quick, small enough to hold in memory.
const CHUNK_ROWIDS: i64 = 1 << 14;

/// Copies every table of the damaged workspace `damaged` that still reads, row range by row
/// range, into a new workspace at `target`.
pub fn recover(damaged: &Path, target: &Path, ctx: &JobContext) -> Result<Recovery, RecoveryError> {
    if target.exists() {
        return Err(RecoveryError::TargetExists(target.to_path_buf()));
    }
    let unreadable = |e: rusqlite::Error| RecoveryError::Unreadable { path: damaged.to_path_buf(), message: e.to_string() };
    // A file cut in the middle of a page would have that page read with zeros for its missing
    // end, and its last rows would come out with altered values. Read a copy cut back to whole
    // pages instead: the partial page is then missing, and its rows are reported lost.
    let whole_pages =
        whole_pages_copy(damaged).map_err(|e| RecoveryError::Unreadable { path: damaged.to_path_buf(), message: e.to_string() })?;
    let readable = whole_pages.as_ref().map_or(damaged, |copy| copy.path());
    // Read-only and immutable: SQLite must not try to roll back or checkpoint a damaged file.
    let uri = format!("file:{}?immutable=1", readable.display());
    let source = Connection::open_with_flags(uri, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI).map_err(unreadable)?;
    // No trigger, no view, no other file, an untrusted schema. Defensive mode stays off for this
    // one connection: SQLite refuses a file shorter than its header says unless the schema is
    // "writable", a flag that here only lets it read the pages that are there (the connection
    // is read-only, and nothing from the file is executed).
    for (config, on) in [
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
    ] {
        source.set_db_config(config, on).map_err(unreadable)?;
    }
    source.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0).map_err(unreadable)?;
    source.pragma_update(None, "writable_schema", true).map_err(unreadable)?;
    let schema: Vec<(String, Option<String>)> = source
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rootpage")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?)))?.collect())
        .map_err(unreadable)?;
    let mut out = Workspace::open(target)?;
    let mut tables = Vec::new();
    ctx.set_total(schema.len() as u64);
    for (done, (table, create)) in schema.iter().enumerate() {
        ctx.check()?;
        ctx.set_message(format!("copying {table}"));
        ctx.set_done(done as u64);
        if !super::trust::copyable_table(&source, table, create.as_deref()).unwrap_or(false) {
            let error = "not a table shoplens makes: left out (nothing of it was copied or run)".to_string();
            tables.push(TableRecovery { table: table.clone(), rows_copied: 0, unreadable: Vec::new(), error: Some(error) });
            continue;
        }
        let exists: bool = out.conn().query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", [table], |r| {
            r.get::<_, i64>(0).map(|n| n > 0)
        })?;
        if !exists {
            // A raw table: made again from its columns by our own SQL, never the file's.
            create_raw_table(&source, out.conn(), table)?;
        }
        tables.push(copy_table(&source, out.conn_mut(), table, ctx)?);
    }
    Ok(Recovery { target: target.to_path_buf(), tables })
}

/// Creates raw table `table` in `out` with the columns (names and types) it has in `source`.
fn create_raw_table(source: &Connection, out: &Connection, table: &str) -> Result<(), RecoveryError> {
    let mut stmt = source.prepare(&format!("PRAGMA table_xinfo({})", super::quote_ident(table)))?;
    let columns: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    // `trust::copyable_table` checked the types: TEXT, INTEGER or REAL.
    let defs: Vec<String> = columns.iter().map(|(name, ty)| format!("{} {ty}", super::quote_ident(name))).collect();
    out.execute_batch(&format!("CREATE TABLE {} ({})", super::quote_ident(table), defs.join(", ")))?;
    Ok(())
}

/// A temporary copy of `path` without its last, partial page, when it ends mid-page.
fn whole_pages_copy(path: &Path) -> std::io::Result<Option<tempfile::NamedTempFile>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut header = [0u8; 18];
    if file.read_exact(&mut header).is_err() {
        return Ok(None);
    }
    let page_size = page_size(&header);
    if page_size < 512 || !page_size.is_power_of_two() || size % page_size == 0 {
        return Ok(None);
    }
    let mut copy = tempfile::Builder::new().suffix(".shoplens").tempfile()?;
    let file = std::fs::File::open(path)?;
    std::io::copy(&mut file.take(size / page_size * page_size), copy.as_file_mut())?;
    Ok(Some(copy))
}

fn copy_table(source: &Connection, out: &mut Connection, table: &str, ctx: &JobContext) -> Result<TableRecovery, RecoveryError> {
    let quoted = super::quote_ident(table);
    let mut report = TableRecovery { table: table.to_string(), rows_copied: 0, unreadable: Vec::new(), error: None };
    let column_names = |conn: &Connection| -> rusqlite::Result<Vec<String>> {
        Ok(conn.prepare(&format!("SELECT * FROM {quoted} LIMIT 0"))?.column_names().map(str::to_string).collect())
    };
    let source_columns = match column_names(source) {
        Ok(columns) => columns,
        Err(e) => {
            report.error = Some(e.to_string());
            return Ok(report);
        }
    };
    // The columns both have (a workspace of an older or newer shoplens has fewer or more).
    let target_columns = column_names(out)?;
    let columns: Vec<String> = source_columns.into_iter().filter(|c| target_columns.contains(c)).collect();
    // A table's own column may be called rowid (a raw export's): the row's id is then read
    // through another of SQLite's names for it.
    let taken = |alias: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(alias));
    let Some(rowid) = ["rowid", "_rowid_", "oid"].into_iter().find(|alias| !taken(alias)) else {
        report.error = Some("its columns take every name of SQLite's row id (rowid, _rowid_, oid): it cannot be copied by ranges".into());
        return Ok(report);
    };
    // The rowid bounds; when the B-tree's edges are damaged, probe the whole rowid space.
    let bounds = source.query_row(&format!("SELECT min({rowid}), max({rowid}) FROM {quoted}"), [], |r| {
        Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
    });
    let (low, high) = match bounds {
        Ok((Some(low), Some(high))) => (low, high),
        Ok(_) => return Ok(report),
        Err(_) => (1, i64::from(u32::MAX)),
    };
    // Tables created by the new workspace's own migrations (saved queries) start with rows of
    // their own; the recovered ones replace them.
    let tx = out.transaction()?;
    tx.execute(&format!("DELETE FROM {quoted}"), [])?;
    let names: Vec<String> = columns.iter().map(|c| super::quote_ident(c)).collect();
    let select = format!("SELECT {rowid}, {} FROM {quoted} WHERE {rowid} BETWEEN ?1 AND ?2 ORDER BY {rowid}", names.join(", "));
    let insert = format!(
        "INSERT INTO {quoted} ({rowid}, {}) VALUES ({})",
        names.join(", "),
        (1..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
    );
    {
        let mut insert = tx.prepare(&insert)?;
        // The whole range in chunks, lowest on top of the stack; a failing chunk is halved in place.
        let mut chunks = Vec::new();
        let mut start = low;
        while start <= high {
            let end = start.saturating_add(CHUNK_ROWIDS - 1).min(high);
            chunks.push((start, end));
            if end == i64::MAX {
                break;
            }
            start = end + 1;
        }
        let mut pending: Vec<(i64, i64)> = chunks.into_iter().rev().collect();
        // Halving stops after this many failed reads: past it, a failing range is reported whole
        // (a damaged B-tree edge would otherwise mean a probe per rowid of the whole space).
        let mut failures_left = 100_000u32;
        let mut probes = 0u64;
        while let Some((a, b)) = pending.pop() {
            probes += 1;
            if probes.is_multiple_of(256) {
                ctx.check()?;
            }
            match read_range(source, &select, a, b, columns.len() + 1) {
                Ok(rows) => {
                    for row in rows {
                        let rowid = match row[0] {
                            Value::Integer(id) => id,
                            _ => a,
                        };
                        match insert.execute(rusqlite::params_from_iter(row)) {
                            Ok(_) => report.rows_copied += 1,
                            // A damaged page can also read as rows that break the schema (a
                            // NULL where none may be): garbage, not data, so it counts as lost.
                            Err(rusqlite::Error::SqliteFailure(failure, _)) if failure.code == ErrorCode::ConstraintViolation => {
                                mark_unreadable(&mut report.unreadable, rowid, rowid)
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Err(_) if a == b || failures_left == 0 => mark_unreadable(&mut report.unreadable, a, b),
                Err(_) => {
                    failures_left -= 1;
                    let mid = a + (b - a) / 2;
                    // Popped in order: the lower half first.
                    pending.push((mid + 1, b));
                    pending.push((a, mid));
                }
            }
        }
    }
    tx.commit()?;
    Ok(report)
}

/// Adds `a..=b` to the unreadable ranges (in rowid order), merging it with the last one it touches.
fn mark_unreadable(ranges: &mut Vec<(i64, i64)>, a: i64, b: i64) {
    match ranges.last_mut() {
        Some(last) if last.1 + 1 >= a => last.1 = last.1.max(b),
        _ => ranges.push((a, b)),
    }
}

/// All rows with a rowid in `a..=b`, or the error that stopped the read (nothing partial).
fn read_range(source: &Connection, select: &str, a: i64, b: i64, width: usize) -> Result<Vec<Vec<Value>>, rusqlite::Error> {
    let mut statement = source.prepare_cached(select)?;
    let mut rows = statement.query([a, b])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push((0..width).map(|i| row.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_is_found_through_transparent_wrappers() {
        let corrupt = || rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(11), Some("database disk image is malformed".into()));
        assert!(is_damage(&corrupt()));
        assert!(is_damage(&WorkspaceError::Sqlite(corrupt())));
        assert!(is_damage(&crate::workspace::copies::CopyError::Sqlite { table: "order_lines", source: corrupt() }));
        assert!(!is_damage(&WorkspaceError::Sqlite(rusqlite::Error::QueryReturnedNoRows)));
    }

    #[test]
    fn a_cut_off_file_is_found_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.shoplens");
        {
            let ws = Workspace::open(&path).unwrap();
            ws.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;").unwrap();
        }
        assert_eq!(truncation(&path), None);
        let size = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(size - 100).unwrap();
        assert!(truncation(&path).unwrap().contains("cut off"), "{:?}", truncation(&path));
    }
}
