//! What can stop an import as a whole. Row-level problems are not errors: they become rejects.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} ended early (truncated or corrupt compressed data): {source}")]
    Truncated { path: PathBuf, source: std::io::Error },
    #[error("{path} is empty")]
    Empty { path: PathBuf },
    #[error("{path} is not a table shoplens can read: {what}")]
    NotATable { path: PathBuf, what: String },
    #[error("{path} has no header row")]
    NoHeader { path: PathBuf },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path} has no sheet named '{sheet}' (sheets: {available})")]
    UnknownSheet { path: PathBuf, sheet: String, available: String },
    #[error("{0}")]
    Mapping(String),
    #[error("{path} has {columns} columns; a workspace table holds at most {limit}. Import only the columns you need (map them with --kind/--map), or split the file")]
    TooManyColumns { path: PathBuf, columns: usize, limit: usize },
    #[error("{path}: none of its {rejected} rows could be loaded; most were rejected for \"{reason}\" ({count} rows). Nothing was imported: check the file, or map its columns with --kind/--map")]
    NothingLoaded { path: PathBuf, rejected: u64, reason: String, count: u64 },
    #[error("{path} was already imported (import #{import_id} on {at}); use --force to import it again")]
    AlreadyImported { path: PathBuf, import_id: i64, at: String },
    /// A bug (a panicked job), reported rather than crashing.
    #[error("{0}")]
    Internal(String),
    #[error("import cancelled; the workspace is unchanged")]
    Cancelled(#[from] crate::jobs::Cancelled),
    #[error("workspace error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    /// Reading what is already in the workspace failed (the demo builds on its imported orders).
    #[error(transparent)]
    Read(#[from] crate::workspace::copies::CopyError),
}

impl ImportError {
    /// Wraps a read error, telling truncated compressed input apart from other I/O failures.
    pub fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => {
                ImportError::Truncated { path, source }
            }
            _ => ImportError::Io { path, source },
        }
    }

    /// A short word for the imports log: 'cancelled' or 'failed'.
    pub fn status(&self) -> &'static str {
        match self {
            ImportError::Cancelled(_) => "cancelled",
            _ => "failed",
        }
    }
}
