//! Live mode: follow a CSV file of shop events that keeps growing (or a folder that receives new
//! CSV files) and append new rows to `events`.
//!
//! Each poll reads from where the last one stopped, takes only complete lines (a partial last
//! line waits for its newline), converts them with the same REES46 converter as a normal import
//! and appends them in one transaction. Each watched file has one `imports` row whose counts
//! grow as rows arrive (status `watching`, `loaded` once the watch stops), and its rejected rows
//! go to `rejects` with their line numbers like any import's. A file that shrinks was replaced:
//! it is read again from the start.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use super::batch::{Batch, Reject};
use super::convert::{Converter, MappedConverter};
use super::kinds::{self, KnownKind};
use super::values::SlashOrder;
use super::writer::{insert_rejects, TableWriter};
use crate::workspace::catalogue::Target;
use crate::workspace::history::{self, NewImport};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a shop events file (REES46 layout: event_time, event_type, product_id, …, user_session)")]
    NotEvents { path: String },
    #[error("writing events: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// One followed file.
struct Tail {
    offset: u64,
    /// Bytes after the last newline, waiting for the rest of their line.
    pending: Vec<u8>,
    /// Converter, set once the header line has been read.
    converter: Option<MappedConverter>,
    /// Lines consumed so far (the header is line 1).
    line: u64,
    import_id: Option<i64>,
    loaded: u64,
    rejected: u64,
}

impl Tail {
    fn new() -> Self {
        Self { offset: 0, pending: Vec::new(), converter: None, line: 0, import_id: None, loaded: 0, rejected: 0 }
    }
}

/// What one poll appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    pub rows: u64,
    pub rejected: u64,
}

pub struct Watcher {
    target: PathBuf,
    tails: BTreeMap<PathBuf, Tail>,
}

impl Watcher {
    pub fn new(target: &Path) -> Self {
        Self { target: target.to_path_buf(), tails: BTreeMap::new() }
    }

    /// The files followed: the target itself, or every `.csv` in the target folder.
    fn files(&self) -> Result<Vec<PathBuf>, WatchError> {
        let io = |source| WatchError::Io { path: self.target.display().to_string(), source };
        if !self.target.is_dir() {
            return Ok(vec![self.target.clone()]);
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.target)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Reads whatever arrived since the last poll and appends it to `events`.
    pub fn poll(&mut self, conn: &mut Connection) -> Result<Appended, WatchError> {
        let mut total = Appended::default();
        for path in self.files()? {
            let tail = self.tails.entry(path.clone()).or_insert_with(Tail::new);
            let appended = poll_file(conn, &path, tail)?;
            total.rows += appended.rows;
            total.rejected += appended.rejected;
        }
        Ok(total)
    }

    /// Marks the watch's imports as finished.
    pub fn finish(&mut self, conn: &Connection) -> Result<(), WatchError> {
        for tail in self.tails.values() {
            if let Some(id) = tail.import_id {
                conn.execute("UPDATE imports SET status = 'loaded', finished_at = ?1 WHERE id = ?2", params![super::now(), id])?;
            }
        }
        Ok(())
    }

    pub fn rows_loaded(&self) -> u64 {
        self.tails.values().map(|t| t.loaded).sum()
    }
}

fn poll_file(conn: &mut Connection, path: &Path, tail: &mut Tail) -> Result<Appended, WatchError> {
    let io = |source| WatchError::Io { path: path.display().to_string(), source };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        // Not there yet (or being replaced): try again next poll.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Appended::default()),
        Err(e) => return Err(io(e)),
    };
    let size = file.metadata().map_err(io)?.len();
    if size < tail.offset {
        // Truncated or replaced: start over (the import row keeps counting).
        let id = tail.import_id;
        *tail = Tail::new();
        tail.import_id = id;
    }
    if size == tail.offset {
        return Ok(Appended::default());
    }
    file.seek(SeekFrom::Start(tail.offset)).map_err(io)?;
    let mut fresh = Vec::with_capacity((size - tail.offset) as usize);
    file.take(size - tail.offset).read_to_end(&mut fresh).map_err(io)?;
    tail.offset += fresh.len() as u64;
    tail.pending.extend_from_slice(&fresh);
    let Some(last_newline) = tail.pending.iter().rposition(|&b| b == b'\n') else { return Ok(Appended::default()) };
    let complete: Vec<u8> = tail.pending.drain(..=last_newline).collect();

    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(complete.as_slice());
    let mut records = reader.records();
    if tail.converter.is_none() {
        let Some(header) = records.next() else { return Ok(Appended::default()) };
        let header = header.map_err(|_| WatchError::NotEvents { path: path.display().to_string() })?;
        let headers: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
        if KnownKind::detect(&headers) != Some(KnownKind::Rees46Events) {
            return Err(WatchError::NotEvents { path: path.display().to_string() });
        }
        let sources = kinds::resolve_mapping(Target::Events, &kinds::guess_mapping(Target::Events, &headers), &headers)
            .map_err(|_| WatchError::NotEvents { path: path.display().to_string() })?;
        let import_id = match tail.import_id {
            Some(id) => id,
            None => {
                let now = super::now();
                let row = NewImport {
                    file: &path.display().to_string(),
                    file_size: 0,
                    fingerprint: "",
                    format: "csv (watched)",
                    encoding: "UTF-8",
                    kind: "rees46_events",
                    target_table: "events",
                    mapping: None,
                    report: "{}",
                    started_at: &now,
                    finished_at: &now,
                    status: "watching",
                };
                history::insert_import(conn, &row)?
            }
        };
        tail.import_id = Some(import_id);
        tail.converter = Some(MappedConverter::new(Target::Events, sources, headers.len(), SlashOrder::default(), import_id));
        tail.line = 1;
    }
    let Some(converter) = tail.converter.as_mut() else { return Ok(Appended::default()) };
    let import_id = tail.import_id.unwrap_or_default();
    let columns = converter.output_columns();
    let mut batch = Batch::new(columns.len());
    let mut rejects: Vec<Reject> = Vec::new();
    for record in records {
        tail.line += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rejects.push(Reject { line: tail.line, raw: String::new(), reason: format!("unreadable row: {e}") });
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if let Err(e) = batch.push_row(|b| converter.convert(&record, b)) {
            rejects.push(Reject { line: tail.line, raw: record.iter().collect::<Vec<_>>().join(","), reason: e.detail });
        }
    }
    let appended = Appended { rows: batch.len() as u64, rejected: rejects.len() as u64 };
    let tx = conn.transaction()?;
    {
        let mut writer = TableWriter::new(&tx, "events", &columns, Some(import_id))?;
        writer.insert(&batch)?;
    }
    insert_rejects(&tx, import_id, &rejects)?;
    tail.loaded += appended.rows;
    tail.rejected += appended.rejected;
    tx.execute(
        "UPDATE imports SET rows_read = ?1, rows_loaded = ?2, rows_rejected = ?3, file_size = ?4, finished_at = ?5 WHERE id = ?6",
        params![
            (tail.loaded + tail.rejected) as i64,
            tail.loaded as i64,
            tail.rejected as i64,
            tail.offset as i64,
            super::now(),
            import_id
        ],
    )?;
    tx.commit()?;
    Ok(appended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n";

    #[test]
    fn appends_complete_lines_and_waits_for_partial_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("live.csv");
        let mut ws = crate::workspace::Workspace::open(&dir.path().join("w.shoplens")).unwrap();
        let mut out = std::fs::File::create(&file).unwrap();
        write!(out, "{HEADER}2019-10-01 00:00:00 UTC,view,1,2,a.b,acme,1.50,7,s1\n2019-10-01 00:00:05 UTC,cart,1,2,a.b,ac").unwrap();
        out.flush().unwrap();
        let mut watcher = Watcher::new(&file);
        assert_eq!(watcher.poll(ws.conn_mut()).unwrap(), Appended { rows: 1, rejected: 0 });
        // The rest of the partial line, a bad row and a good one.
        write!(out, "me,1.50,7,s1\nnot a date,view,1,2,,,1,7,s1\n2019-10-01 00:01:00 UTC,purchase,1,2,a.b,acme,1.50,7,s1\n").unwrap();
        out.flush().unwrap();
        assert_eq!(watcher.poll(ws.conn_mut()).unwrap(), Appended { rows: 2, rejected: 1 });
        assert_eq!(watcher.poll(ws.conn_mut()).unwrap(), Appended::default());
        let conn = ws.conn();
        let kinds: Vec<String> = conn
            .prepare("SELECT event_type FROM events ORDER BY event_time")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kinds, ["view", "cart", "purchase"]);
        let brand: String = conn.query_row("SELECT brand FROM events WHERE event_type = 'cart'", [], |r| r.get(0)).unwrap();
        assert_eq!(brand, "acme");
        let (line, status): (i64, String) =
            conn.query_row("SELECT line, (SELECT status FROM imports) FROM rejects", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((line, status.as_str()), (4, "watching"));
        watcher.finish(conn).unwrap();
        let loaded: i64 = conn.query_row("SELECT rows_loaded FROM imports WHERE status = 'loaded'", [], |r| r.get(0)).unwrap();
        assert_eq!(loaded, 3);
    }

    #[test]
    fn refuses_a_file_that_is_not_events() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("orders.csv");
        std::fs::write(&file, "Invoice,StockCode\n1,2\n").unwrap();
        let mut ws = crate::workspace::Workspace::open(&dir.path().join("w.shoplens")).unwrap();
        let err = Watcher::new(&file).poll(ws.conn_mut()).unwrap_err();
        assert!(err.to_string().contains("not a shop events file"), "{err}");
    }
}
