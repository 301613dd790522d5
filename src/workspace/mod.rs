//! The workspace: one SQLite file holding the imported data and everything derived from it.
//!
//! [`Workspace`] is the writable handle used by imports; [`open_read_only`] is what queries and
//! the SQL console use, so nothing a user types there can change the file.

pub mod cache;
pub mod catalogue;
pub mod copies;
pub mod history;
pub mod recover;
pub mod report;
pub mod schema;
pub mod settings;
pub mod snapshot;
pub mod sources;
pub mod trust;
pub mod views;

/// The time now in UTC as `YYYY-MM-DD HH:MM:SS`, for rows the workspace stamps (saved views,
/// sources).
pub fn now_utc() -> String {
    chrono::Utc::now().naive_utc().format("%Y-%m-%d %H:%M:%S").to_string()
}

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use schema::SchemaError;

/// File extension of workspace files.
pub const EXTENSION: &str = "shoplens";

/// Whether `path` names a workspace rather than a data file to import: a `.shoplens` file, or
/// a SQLite database under another name (no importer reads those). A file the file manager or
/// the command line hands over is opened or imported on this answer.
pub fn is_workspace_file(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION)) {
        return true;
    }
    let mut head = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok() && &head == b"SQLite format 3\0"
}

/// An open, migrated workspace file.
pub struct Workspace {
    conn: Connection,
    path: PathBuf,
    /// The cached copies that were current when it opened: carried over its own writes when it
    /// closes (`cache::vouch_for_own_writes`).
    current_copies: Vec<(cache::CachedTable, cache::Stamp)>,
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if self.current_copies.is_empty() {
            return;
        }
        let Ok(placeholder) = Connection::open_in_memory() else { return };
        let conn = std::mem::replace(&mut self.conn, placeholder);
        let current = std::mem::take(&mut self.current_copies);
        cache::vouch_for_own_writes(&self.path, conn, &current);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot open workspace {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("cannot create folder {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("workspace {path} does not exist")]
    Missing { path: PathBuf },
    #[error("the folder {path} does not exist: create it first, or choose another place for the workspace")]
    NoFolder { path: PathBuf },
    #[error("the workspace {path} is damaged ({detail}); `shoplens recover {path} --to NEW.shoplens` copies whatever still reads into a new workspace")]
    Damaged { path: PathBuf, detail: String },
    #[error("{path} holds what shoplens does not make, so it is not opened: {found}. Nothing of it was read or run; `shoplens recover {path} --to CLEAN.shoplens` copies its data alone into a clean workspace")]
    Untrusted { path: PathBuf, found: trust::Untrusted },
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl Workspace {
    /// Opens `path`, creating the file if needed and applying pending migrations. A missing
    /// folder is created only for shoplens' own data folder: a mistyped `-w /sales/2024/x`
    /// must not quietly create `/sales/2024`.
    pub fn open(path: &Path) -> Result<Self, WorkspaceError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            if dir != default_dir() {
                return Err(WorkspaceError::NoFolder { path: dir.to_path_buf() });
            }
            std::fs::create_dir_all(dir).map_err(|source| WorkspaceError::CreateDir { path: dir.to_path_buf(), source })?;
        }
        let open_err = |source| WorkspaceError::Open { path: path.to_path_buf(), source };
        // Two connections creating one workspace at once (the app's jobs do) can meet SQLite's
        // busy error while one switches the new file to WAL, which no busy handler waits out:
        // try again until the usual busy timeout.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let conn = loop {
            let opened = Connection::open(path).map_err(open_err).and_then(|mut conn| {
                configure(&mut conn).map_err(open_err)?;
                // Judged before anything of ours runs on it (the migrations included).
                refuse_untrusted(&conn, path)?;
                schema::migrate(&mut conn)?;
                Ok(conn)
            });
            match opened {
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
                other => break other.map_err(|e| damaged(path, e))?,
            }
        };
        let current_copies = cache::current_copies(path, &conn);
        Ok(Self { conn, path: path.to_path_buf(), current_copies })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Row counts of every user-visible table, in name order.
    pub fn table_counts(&self) -> Result<Vec<(String, i64)>, rusqlite::Error> {
        table_counts(&self.conn)
    }
}

/// Whether SQLite said the file is locked (anywhere in the error's chain).
fn is_busy(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(rusqlite::Error::SqliteFailure(failure, _)) = e.downcast_ref::<rusqlite::Error>() {
            if failure.code == rusqlite::ErrorCode::DatabaseBusy {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// Page size of new workspaces, in bytes.
pub const PAGE_SIZE: i64 = 16384;

/// How long a connection waits for another one to release a lock before giving up.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Settings every connection to a workspace uses.
///
/// WAL lets the console read while an import writes; an uncommitted import is simply absent from
/// the file after a crash, which is what makes imports all-or-nothing even under `kill -9`.
fn configure(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    trust::harden(conn)?;
    interruptible(conn)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Larger pages mean fewer B-tree pages to allocate on bulk loads and to visit on scans.
    // This only takes effect on a new, empty file, so it must come before the WAL switch.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Keep the WAL from staying gigabytes large after a big import has been checkpointed.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(())
}

/// SQLite virtual-machine steps between looks at whether the running job was cancelled: a few
/// milliseconds of work at most.
const STEPS_BETWEEN_CANCEL_CHECKS: i32 = 20_000;

/// Lets a cancel stop the connection's running statement (see `jobs::current_job_cancelled`).
fn interruptible(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    // A job that fails on a damaged file says how to recover it (jobs cannot know workspaces).
    crate::jobs::hint_failures_with(recover::damage_hint);
    conn.progress_handler(STEPS_BETWEEN_CANCEL_CHECKS, Some(crate::jobs::current_job_cancelled))
}

/// `Untrusted` when the file holds anything shoplens does not make (`trust::check`).
fn refuse_untrusted(conn: &Connection, path: &Path) -> Result<(), WorkspaceError> {
    match trust::check(conn)? {
        None => Ok(()),
        Some(found) => Err(WorkspaceError::Untrusted { path: path.to_path_buf(), found }),
    }
}

/// The rollback journal SQLite keeps beside a workspace during a write transaction.
fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

/// Copies the workspace at `source` to `target` with SQLite's online backup: a consistent copy
/// even while the workspace is in use. `progress` gets (pages done, pages in all).
pub fn save_copy(source: &Path, target: &Path, progress: impl Fn(u64, u64)) -> Result<(), WorkspaceError> {
    let conn = open_read_only(source)?;
    let report = |p: rusqlite::backup::Progress| progress((p.pagecount - p.remaining).max(0) as u64, p.pagecount.max(0) as u64);
    conn.backup(rusqlite::MAIN_DB, target, Some(report))?;
    Ok(())
}

/// Opens an existing workspace for reading only: the SQL console and `shoplens query` use this.
///
/// An import killed mid-write leaves a hot rollback journal, which a read-only connection cannot
/// roll back ("attempt to write a readonly database"). The data is intact, so such a workspace
/// is first opened read-write for one read, which rolls the journal back, as any writer would.
pub fn open_read_only(path: &Path) -> Result<Connection, WorkspaceError> {
    if !path.exists() {
        return Err(WorkspaceError::Missing { path: path.to_path_buf() });
    }
    open_read_only_unchecked(path).map_err(|e| damaged(path, e))
}

/// A damaged file's error, said as such (with what to do), instead of SQLite's bare message.
/// The header is looked at only then: in WAL mode a checkpoint in progress can briefly leave the
/// file shorter than its header says, so a short file alone is no proof of damage.
fn damaged(path: &Path, error: WorkspaceError) -> WorkspaceError {
    if recover::is_damage(&error) && !matches!(error, WorkspaceError::Damaged { .. }) {
        let detail = recover::truncation(path).unwrap_or_else(|| match &error {
            WorkspaceError::Open { source, .. } => source.to_string(),
            other => other.to_string(),
        });
        WorkspaceError::Damaged { path: path.to_path_buf(), detail }
    } else {
        error
    }
}

fn open_read_only_unchecked(path: &Path) -> Result<Connection, WorkspaceError> {
    if journal_path(path).exists() {
        let open_err = |source| WorkspaceError::Open { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        trust::harden(&conn)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // SQLite rolls a hot journal back on the first read; a live writer's is left alone.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).map_err(open_err)?;
    }
    let mut conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
            .map_err(|source| WorkspaceError::Open { path: path.to_path_buf(), source })?;
    // No file but this one (`ATTACH` and `VACUUM INTO` fail before SQLite opens or creates any
    // other file), no trigger, no view, an untrusted schema.
    trust::harden(&conn)?;
    interruptible(&mut conn)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // A second guard: even statements that slip past the read-only open cannot write.
    conn.pragma_update(None, "query_only", true)?;
    // Read the header and schema now, so a file too damaged to open says so here, by name.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
    refuse_untrusted(&conn, path)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > schema::current_version() {
        return Err(SchemaError::TooNew { found: version, supported: schema::current_version() }.into());
    }
    Ok(conn)
}

/// Row counts of every table except SQLite's own, in name order.
pub fn table_counts(conn: &Connection) -> Result<Vec<(String, i64)>, rusqlite::Error> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .into_iter()
        .map(|name| {
            // A current cached copy knows its rows: counting millions of rows takes a second.
            let cached = conn.path().filter(|p| !p.is_empty()).and_then(|path| cache::current_rows(Path::new(path), conn, &name));
            let count = match cached {
                Some(rows) => rows as i64,
                None => conn.query_row(&format!("SELECT count(*) FROM {}", quote_ident(&name)), [], |r| r.get(0))?,
            };
            Ok((name, count))
        })
        .collect()
}

/// Quotes an SQL identifier so any table or column name is safe to splice into a statement.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A cell as text for CSV output: NULL is empty, blobs are hex.
pub fn value_to_text(value: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(x) => x.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => b.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}

/// Where workspaces live by default: the OS data folder (e.g. `~/.local/share/shoplens`).
pub fn default_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "shoplens").map(|dirs| dirs.data_dir().to_path_buf()).unwrap_or_else(|| PathBuf::from("."))
}

/// The workspace used when none is named.
pub fn default_path() -> PathBuf {
    default_dir().join(format!("default.{EXTENSION}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_is_told_from_a_data_file_by_name_or_by_its_sqlite_header() {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("Q3 review.SHOPLENS");
        let renamed = dir.path().join("copy of the workspace.db");
        let csv = dir.path().join("export.csv");
        Workspace::open(&renamed).unwrap();
        std::fs::write(&csv, "Invoice,StockCode\n1,A\n").unwrap();
        assert!(is_workspace_file(&named), "by extension, even before it exists");
        assert!(is_workspace_file(&renamed), "by the SQLite header");
        assert!(!is_workspace_file(&csv));
        assert!(!is_workspace_file(&dir.path().join("missing.csv")));
    }

    #[test]
    fn creates_canonical_tables_and_reads_back_read_only() {
        let dir = tempfile::tempdir().unwrap();
        // A folder that does not exist is not created (a mistyped path must not make folders).
        let nested = dir.path().join("nested/ws.shoplens");
        assert!(matches!(Workspace::open(&nested), Err(WorkspaceError::NoFolder { .. })));
        assert!(!dir.path().join("nested").exists());
        let path = dir.path().join("ws.shoplens");
        let ws = Workspace::open(&path).unwrap();
        let names: Vec<String> = ws.table_counts().unwrap().into_iter().map(|(n, _)| n).collect();
        for expected in ["events", "imports", "mappings", "order_lines", "raw_tables", "rejects"] {
            assert!(names.contains(&expected.to_string()), "{names:?}");
        }
        drop(ws);
        let ro = open_read_only(&path).unwrap();
        let err = ro.execute("DELETE FROM order_lines", []).unwrap_err();
        assert!(
            err.to_string().contains("readonly") || err.to_string().contains("read-only") || err.to_string().contains("query_only"),
            "{err}"
        );
    }

    #[test]
    fn read_only_open_of_a_missing_file_is_a_clear_error() {
        let err = open_read_only(Path::new("/nonexistent/x.shoplens")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
