//! The columnar cache of the in-memory copies, kept beside the workspace: `shop.shoplens` gets
//! `shop.shoplens.cache/`, with one folder per copy (`order_lines/`, `events/`) holding Parquet
//! files (the columns and their dictionaries, readable by polars or any Parquet tool) and a
//! `stamp.json` saying what the copy was made from (and how many rows it holds, which the
//! workspace listing then need not count).
//!
//! Rebuilding a copy from SQLite reads and parses every row (about 12 s for 10M order lines);
//! reading it back from Parquet is a fraction of a second. The SQLite file stays the single
//! source of truth: a copy is only used when its stamp matches the workspace now, and a copy of
//! fewer rows (rows imported or appended by live mode since) is read and then caught up with
//! the newer rows only. Anything else (another shoplens, another schema, imports that are not
//! the cached ones, a damaged or missing file) falls back to reading the workspace, and the
//! caller saves a new copy.
//!
//! The stamp is the table's rowid range and its import history (id, content hash, status and
//! rows loaded of every import into the table). shoplens only ever adds rows to these tables, at
//! rowids above the last, and every addition is an import row: any change shoplens makes moves
//! the stamp. Rows edited or deleted by another tool in the middle of the table are not seen;
//! `shoplens cache W --clear` drops the copies.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rusqlite::Connection;

use super::copies::{self, CopyError};
use crate::analytics::dictionary::Texts;
use crate::analytics::event_frame::{EventFrame, EventParts, InconsistentParts, Product};
use crate::analytics::order_frame::{OrderFrame, OrderFrameBuilder};
use crate::jobs::JobContext;

/// Bumped whenever what a copy holds or how it is laid out changes, so an older cache is
/// rebuilt rather than misread.
const CACHE_FORMAT: u32 = 3;

/// Rows per Parquet row group of the events: one group is one slice copied at a time while
/// writing, and groups are read in parallel.
const EVENT_BATCH: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cached copy: {0}")]
    Polars(#[from] PolarsError),
    #[error("cached copy's stamp: {0}")]
    Stamp(#[from] serde_json::Error),
    #[error("reading the workspace's import history: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Inconsistent(#[from] InconsistentParts),
    #[error(transparent)]
    Workspace(Box<super::WorkspaceError>),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io { path: path.to_path_buf(), source }
}

/// The copies the cache keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachedTable {
    OrderLines,
    Events,
}

impl CachedTable {
    /// The workspace table, which is also the copy's folder name.
    pub fn table(self) -> &'static str {
        match self {
            CachedTable::OrderLines => "order_lines",
            CachedTable::Events => "events",
        }
    }
}

/// One import into the table, as far as the cache is concerned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ImportMark {
    id: i64,
    file_hash: String,
    status: String,
    rows_loaded: i64,
}

/// What a copy was made from (see the module's notes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    format: u32,
    shoplens: String,
    schema: i64,
    first_rowid: Option<i64>,
    last_rowid: Option<i64>,
    imports: Vec<ImportMark>,
    /// Imports of the tables the copy joins in (the events copy's categories and brands come
    /// from the product table where the events have none): any change rebuilds the copy.
    #[serde(default)]
    joined: Vec<ImportMark>,
    /// The files as they were when the rows were read: a write by anyone changes this.
    #[serde(default)]
    file: FileMark,
}

/// The workspace file and its write-ahead log as the file system sees them: sizes, modification
/// times (nanoseconds) and the log header's checkpoint sequence and salts. Every write by any
/// program changes one of these (in WAL mode too, where the database header's change counter
/// does not move until a checkpoint), so a copy whose mark no longer matches, while its table
/// gained no import, was changed behind shoplens' back: it is rebuilt. shoplens' own writes to
/// other tables (settings, saved views) move the mark too; the handle that made them carries the
/// copies that were current over to the new mark ([`vouch_for_own_writes`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FileMark {
    db: (u64, u64),
    wal: Option<(u64, u64, [u32; 3])>,
}

impl FileMark {
    /// The mark of the workspace at `path` now (all zeros for an in-memory database).
    pub fn of(path: Option<&Path>) -> Self {
        let Some(path) = path else { return Self::default() };
        let stat = |p: &Path| -> Option<(u64, u64)> {
            let meta = std::fs::metadata(p).ok()?;
            let nanos = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as u64;
            Some((meta.len(), nanos))
        };
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal_path = PathBuf::from(wal_path);
        let wal = stat(&wal_path).map(|(len, nanos)| {
            let mut header = [0u8; 32];
            let read = File::open(&wal_path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header)).is_ok();
            let word = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
            (len, nanos, if read { [word(12), word(16), word(20)] } else { [0; 3] })
        });
        Self { db: stat(path).unwrap_or_default(), wal }
    }
}

impl Stamp {
    /// The stamp of `table` in the workspace now (call inside the read transaction the copy is
    /// read in, so both see the same rows).
    pub fn read(conn: &Connection, table: CachedTable) -> rusqlite::Result<Stamp> {
        let name = table.table();
        let schema: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        // Two subqueries: SQLite answers a lone min() or max() of the rowid from the B-tree's edge.
        let (first_rowid, last_rowid) =
            conn.query_row(&format!("SELECT (SELECT min(rowid) FROM {name}), (SELECT max(rowid) FROM {name})"), [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let marks = |target: &str| -> rusqlite::Result<Vec<ImportMark>> {
            let mut stmt = conn.prepare(
                "SELECT id, file_hash, status, rows_loaded FROM imports WHERE target_table = ?1 AND rows_loaded > 0 ORDER BY id",
            )?;
            let marks = stmt
                .query_map([target], |r| Ok(ImportMark { id: r.get(0)?, file_hash: r.get(1)?, status: r.get(2)?, rows_loaded: r.get(3)? }))?
                .collect::<rusqlite::Result<_>>();
            marks
        };
        let imports = marks(name)?;
        let joined = match table {
            CachedTable::Events => marks("products")?,
            CachedTable::OrderLines => Vec::new(),
        };
        Ok(Stamp {
            format: CACHE_FORMAT,
            shoplens: env!("CARGO_PKG_VERSION").to_string(),
            schema,
            first_rowid,
            last_rowid,
            imports,
            joined,
            file: FileMark::of(conn.path().filter(|p| !p.is_empty()).map(Path::new)),
        })
    }

    /// The same rows and history, whatever the files' mark.
    fn same_rows(&self, other: &Stamp) -> bool {
        Stamp { file: FileMark::default(), ..self.clone() } == Stamp { file: FileMark::default(), ..other.clone() }
    }

    /// How a copy stamped `self` stands against the table stamped `now`.
    fn freshness(&self, now: &Stamp) -> Freshness {
        if self == now {
            Freshness::Current
        } else if self.is_prefix_of(now) && !self.same_rows(now) {
            // Rows were added (an import, live mode): read them and add them.
            Freshness::Behind
        } else {
            // Other rows, or the same history but the file changed: written by another program.
            Freshness::Stale
        }
    }

    /// Whether a copy stamped `self` holds the first rows of a table stamped `now`, so reading
    /// the rows after `self.last_rowid` brings it up to date: the same build and schema, the
    /// same first row, every cached import still there (live mode's may have grown), and no
    /// rows taken away.
    fn is_prefix_of(&self, now: &Stamp) -> bool {
        let same_imports = self.imports.iter().all(|cached| {
            now.imports.iter().any(|i| i.id == cached.id && i.file_hash == cached.file_hash && i.rows_loaded >= cached.rows_loaded)
        });
        self.format == now.format
            && self.joined == now.joined
            && self.shoplens == now.shoplens
            && self.schema == now.schema
            && (self.first_rowid == now.first_rowid || self.first_rowid.is_none())
            && self.last_rowid.unwrap_or(0) <= now.last_rowid.unwrap_or(0)
            && same_imports
    }
}

/// Where a loaded copy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The cache, as it was.
    Cache,
    /// The cache plus this many rows added to the workspace since it was written.
    CachePlusNew(u64),
    /// The workspace's tables (no usable cache).
    Workspace,
}

/// A copy with where it came from and the stamp of the rows it holds.
pub struct Loaded<F> {
    pub frame: F,
    pub origin: Origin,
    pub stamp: Stamp,
}

impl<F> Loaded<F> {
    /// Whether the cache lags behind this copy: save it (after showing the copy).
    pub fn needs_saving(&self) -> bool {
        self.origin != Origin::Cache
    }

    /// The copy of `workspace`, and the save it still needs when the cache lags behind it.
    pub fn into_frame(self, workspace: &Path) -> (F, Option<PendingSave>) {
        let pending = self.needs_saving().then(|| PendingSave { workspace: workspace.to_path_buf(), stamp: self.stamp });
        (self.frame, pending)
    }
}

/// A copy the cache lags behind: where, and under which stamp, to save it.
pub struct PendingSave {
    workspace: PathBuf,
    stamp: Stamp,
}

impl PendingSave {
    pub fn order_lines(&self, frame: &OrderFrame) -> Result<(), CacheError> {
        save_order_lines(&self.workspace, frame, &self.stamp)
    }

    pub fn events(&self, frame: &EventFrame) -> Result<(), CacheError> {
        save_events(&self.workspace, frame, &self.stamp)
    }
}

/// The cache folder of a workspace: beside it, named after it.
pub fn cache_dir(workspace: &Path) -> PathBuf {
    let mut name = workspace.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".cache");
    workspace.with_file_name(name)
}

fn copy_dir(workspace: &Path, table: CachedTable) -> PathBuf {
    cache_dir(workspace).join(table.table())
}

/// Bytes the files under `dir` take (0 when there is no such folder).
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => bytes_under(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes the cache takes on disk.
pub fn size(workspace: &Path) -> u64 {
    bytes_under(&cache_dir(workspace))
}

/// Removes the cache; returns the bytes freed. The next load reads the workspace again.
pub fn clear(workspace: &Path) -> Result<u64, CacheError> {
    let dir = cache_dir(workspace);
    let bytes = size(workspace);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_error(&dir)(e)),
    }
}

/// How a cached copy stands against the workspace now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Holds exactly the workspace's rows: read as it is.
    Current,
    /// Holds the first rows; the ones added since are read from the workspace.
    Behind,
    /// Made from other rows (or by another shoplens): the next load reads the workspace.
    Stale,
    /// No copy saved.
    Missing,
}

/// One copy's state, for `shoplens cache`.
#[derive(Debug, Clone, Copy)]
pub struct CopyStatus {
    pub table: CachedTable,
    pub freshness: Freshness,
    pub bytes: u64,
}

/// The state of each cached copy of `workspace`.
pub fn status(workspace: &Path) -> Result<Vec<CopyStatus>, CacheError> {
    let conn = super::open_read_only(workspace).map_err(|e| CacheError::Workspace(Box::new(e)))?;
    [CachedTable::OrderLines, CachedTable::Events]
        .into_iter()
        .map(|table| {
            let dir = copy_dir(workspace, table);
            let now = Stamp::read(&conn, table)?;
            let freshness = read_stamp(&dir).map_or(Freshness::Missing, |cached| cached.freshness(&now));
            Ok(CopyStatus { table, freshness, bytes: bytes_under(&dir) })
        })
        .collect()
}

/// What `stamp.json` holds: the stamp, and the rows the copy has.
#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    stamp: Stamp,
    rows: u64,
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read(dir.join("stamp.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

fn read_stamp(dir: &Path) -> Option<Stamp> {
    read_manifest(dir).map(|m| m.stamp)
}

/// The rows of `table` in `workspace`, when its cached copy is current: the workspace listing
/// takes them from here instead of counting millions of rows. `None`: count them.
pub fn current_rows(workspace: &Path, conn: &Connection, table: &str) -> Option<u64> {
    let cached = [CachedTable::OrderLines, CachedTable::Events].into_iter().find(|t| t.table() == table)?;
    let manifest = read_manifest(&copy_dir(workspace, cached))?;
    (Stamp::read(conn, cached).ok()? == manifest.stamp).then_some(manifest.rows)
}

/// Runs `read` inside one read transaction, so the stamp and the rows agree.
fn in_snapshot<T>(conn: &Connection, read: impl FnOnce() -> Result<T, CopyError>) -> Result<T, CopyError> {
    let sqlite = |source| CopyError::Sqlite { table: "workspace", source };
    conn.execute_batch("BEGIN").map_err(sqlite)?;
    let result = read();
    // A read transaction has nothing to keep: ending it cannot lose anything.
    let _ = conn.execute_batch("COMMIT");
    result
}

/// The order-lines copy: from the cache when it matches the workspace, caught up when rows
/// were added since, else from the workspace.
pub fn load_order_lines(workspace: &Path, ctx: &JobContext) -> Result<Loaded<OrderFrame>, CopyError> {
    load_through_cache(
        workspace,
        CachedTable::OrderLines,
        ctx,
        |dir, _| read_order_lines(dir),
        |frame, after, conn| {
            let mut builder = OrderFrameBuilder::from_frame(&frame)?;
            let added = copies::read_order_lines(conn, after, &mut builder, ctx)?;
            Ok(Some((builder.finish()?, added)))
        },
        |conn| copies::load_order_lines(conn, ctx),
    )
}

/// The events copy, like [`load_order_lines`]; caught up by live mode's append.
pub fn load_events(workspace: &Path, ctx: &JobContext) -> Result<Loaded<EventFrame>, CopyError> {
    load_through_cache(
        workspace,
        CachedTable::Events,
        ctx,
        read_events,
        |frame, _, conn| Ok(copies::extend_events(&frame, None, conn, ctx)?.map(|(frame, appended)| (frame, appended.rows as u64))),
        |conn| copies::load_events(conn, ctx),
    )
}

/// A copy read the cache's way, in one snapshot of the workspace: the cached copy when its
/// stamp matches (`read_cached`, given the folder and the last rowid the copy holds); caught up
/// with the rows added since when it only lags (`catch_up`, given the copy and that rowid:
/// the copy and the rows added, or `None` when it cannot be); else read from the workspace
/// (`load`).
fn load_through_cache<F>(
    workspace: &Path,
    table: CachedTable,
    ctx: &JobContext,
    read_cached: impl FnOnce(&Path, Option<i64>) -> Result<F, CacheError>,
    catch_up: impl FnOnce(F, i64, &Connection) -> Result<Option<(F, u64)>, CopyError>,
    load: impl FnOnce(&Connection) -> Result<F, CopyError>,
) -> Result<Loaded<F>, CopyError> {
    let conn = super::open_read_only(workspace).map_err(|e| CopyError::Workspace(Box::new(e)))?;
    let dir = copy_dir(workspace, table);
    in_snapshot(&conn, || {
        let stamp = Stamp::read(&conn, table).map_err(|source| CopyError::Sqlite { table: "imports", source })?;
        if let Some(cached) = read_stamp(&dir).filter(|c| c.freshness(&stamp) != Freshness::Stale) {
            ctx.set_message(format!("reading the cached copy of the {}", table.table().replace('_', " ")));
            // A cache that cannot be read is rebuilt, never trusted in part.
            if let Ok(frame) = read_cached(&dir, cached.last_rowid) {
                if cached == stamp {
                    return Ok(Loaded { frame, origin: Origin::Cache, stamp });
                }
                if let Some((frame, added)) = catch_up(frame, cached.last_rowid.unwrap_or(0), &conn)? {
                    return Ok(Loaded { frame, origin: Origin::CachePlusNew(added), stamp });
                }
            }
        }
        let frame = load(&conn)?;
        Ok(Loaded { frame, origin: Origin::Workspace, stamp })
    })
}

/// The copies of `workspace` that are current on `conn` now: what a writable handle checks when
/// it opens, to carry them over its own writes ([`vouch_for_own_writes`]).
pub fn current_copies(workspace: &Path, conn: &Connection) -> Vec<(CachedTable, Stamp)> {
    [CachedTable::OrderLines, CachedTable::Events]
        .into_iter()
        .filter_map(|table| {
            let cached = read_stamp(&copy_dir(workspace, table))?;
            (Stamp::read(conn, table).ok()? == cached).then_some((table, cached))
        })
        .collect()
}

/// After a handle's own writes: the copies that were current when it opened (`current`) and
/// whose table it did not change (same rows and history on `conn` now) are stamped with the
/// files' new mark, so shoplens' own settings writes do not cost the next open a rebuild. Call
/// with the handle's connection, which it closes (a checkpoint may then rewrite the file) before
/// the new mark is taken. A write by another program in the same moments would be carried over
/// with them: the one gap, as narrow as the handle's life.
pub fn vouch_for_own_writes(workspace: &Path, conn: Connection, current: &[(CachedTable, Stamp)]) {
    let unchanged: Vec<&(CachedTable, Stamp)> =
        current.iter().filter(|(table, stamp)| Stamp::read(&conn, *table).is_ok_and(|now| now.same_rows(stamp))).collect();
    drop(conn.close());
    if unchanged.is_empty() {
        return;
    }
    let mark = FileMark::of(Some(workspace));
    for (table, stamp) in unchanged {
        let dir = copy_dir(workspace, *table);
        let Some(manifest) = read_manifest(&dir).filter(|m| &m.stamp == stamp) else { continue };
        if manifest.stamp.file == mark {
            continue;
        }
        let updated = Manifest { stamp: Stamp { file: mark.clone(), ..manifest.stamp }, rows: manifest.rows };
        // Written beside, then moved over: a reader sees the old stamp or the new, whole.
        let staging = dir.join("stamp.json.writing");
        if let Ok(bytes) = serde_json::to_vec_pretty(&updated) {
            if std::fs::write(&staging, bytes).is_ok() {
                let _ = std::fs::rename(&staging, dir.join("stamp.json"));
            }
        }
    }
}

const STAGING_PREFIX: &str = ".writing-";

/// Removes staging folders a process left when it was stopped mid-save (an hour old: another
/// process may be writing one now).
fn remove_abandoned_staging(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let abandoned = entry.file_name().to_string_lossy().starts_with(STAGING_PREFIX)
            && entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 3600);
        if abandoned {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes the files of a copy into a fresh folder beside the old one, then swaps it in, so a
/// reader never sees half a copy (the stamp is written last; a copy without one is not used).
fn replace_copy(
    workspace: &Path,
    table: CachedTable,
    stamp: &Stamp,
    rows: usize,
    write: impl FnOnce(&Path) -> Result<(), CacheError>,
) -> Result<(), CacheError> {
    let root = cache_dir(workspace);
    std::fs::create_dir_all(&root).map_err(io_error(&root))?;
    remove_abandoned_staging(&root);
    let staging = tempfile::Builder::new().prefix(STAGING_PREFIX).tempdir_in(&root).map_err(io_error(&root))?;
    write(staging.path())?;
    let stamp_path = staging.path().join("stamp.json");
    let manifest = Manifest { stamp: stamp.clone(), rows: rows as u64 };
    std::fs::write(&stamp_path, serde_json::to_vec_pretty(&manifest)?).map_err(io_error(&stamp_path))?;
    let target = copy_dir(workspace, table);
    match std::fs::remove_dir_all(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&target)(e)),
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &target).map_err(io_error(&target))
}

fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), CacheError> {
    let file = File::create(path).map_err(io_error(path))?;
    ParquetWriter::new(file).with_compression(ParquetCompression::Uncompressed).finish(df)?;
    Ok(())
}

/// A Parquet file as a frame, each column in one piece when `rechunk` (the order lines: the
/// analyses read the buffers directly), else in the file's row groups (columns copied out into
/// vectors anyway, by [`one_column`]: joining them first would copy twice).
fn read_parquet(path: &Path, rechunk: bool) -> Result<DataFrame, CacheError> {
    let file = File::open(path).map_err(io_error(path))?;
    Ok(ParquetReader::new(file).set_rechunk(rechunk).finish()?)
}

/// A cached column with a gap: the file is not what this build wrote.
fn missing_values(name: &str) -> PolarsError {
    PolarsError::ComputeError(format!("column '{name}' has missing values").into())
}

fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>, CacheError> {
    Ok(df.column(name)?.str()?.iter().map(|s| s.map(str::to_string).ok_or_else(|| missing_values(name))).collect::<Result<_, _>>()?)
}

/// A text column without missing values into one buffer (no allocation per text).
fn texts(df: &DataFrame, name: &str) -> Result<Texts, CacheError> {
    let column = df.column(name)?.str()?;
    // Session ids are 36-byte UUIDs in the usual exports: room for those up front.
    let mut out = Texts::with_capacity(column.len(), column.len() * 36);
    for text in column.iter() {
        out.push(text.ok_or_else(|| missing_values(name))?);
    }
    Ok(out)
}

/// A numeric column without missing values as a vector: one copy of each piece's buffer.
fn one_column<T: PolarsNumericType>(df: &DataFrame, name: &str) -> Result<Vec<T::Native>, CacheError> {
    let values = df.column(name)?.as_materialized_series().unpack::<T>()?;
    if values.null_count() > 0 {
        return Err(missing_values(name).into());
    }
    let mut out = Vec::with_capacity(values.len());
    for piece in values.downcast_iter() {
        out.extend_from_slice(piece.values());
    }
    Ok(out)
}

/// Saves the order-lines copy (read or caught up under `stamp`).
pub fn save_order_lines(workspace: &Path, frame: &OrderFrame, stamp: &Stamp) -> Result<(), CacheError> {
    replace_copy(workspace, CachedTable::OrderLines, stamp, frame.lines.height(), |dir| {
        write_parquet(&dir.join("lines.parquet"), &mut frame.lines.clone())?;
        let text = |name: &str, values: &[String]| DataFrame::new(values.len(), vec![Column::new(name.into(), values)]);
        write_parquet(&dir.join("invoices.parquet"), &mut text("invoice", &frame.invoices)?)?;
        write_parquet(&dir.join("customers.parquet"), &mut text("customer", &frame.customers)?)?;
        write_parquet(&dir.join("countries.parquet"), &mut text("country", &frame.countries)?)?;
        let lines: Vec<u64> = frame.currency_lines.clone();
        let mut currencies = DataFrame::new(
            frame.currencies.len(),
            vec![Column::new("currency".into(), &frame.currencies), Column::new("lines".into(), lines)],
        )?;
        write_parquet(&dir.join("currencies.parquet"), &mut currencies)?;
        let (codes, descriptions): (Vec<&str>, Vec<&str>) = frame.products.iter().map(|(c, d)| (c.as_str(), d.as_str())).unzip();
        let mut products =
            DataFrame::new(codes.len(), vec![Column::new("code".into(), codes), Column::new("description".into(), descriptions)])?;
        write_parquet(&dir.join("products.parquet"), &mut products)
    })
}

fn read_order_lines(dir: &Path) -> Result<OrderFrame, CacheError> {
    let products = read_parquet(&dir.join("products.parquet"), false)?;
    let currencies = read_parquet(&dir.join("currencies.parquet"), false)?;
    let frame = OrderFrame {
        currencies: strings(&currencies, "currency")?,
        currency_lines: one_column::<UInt64Type>(&currencies, "lines")?,
        lines: read_parquet(&dir.join("lines.parquet"), true)?,
        invoices: strings(&read_parquet(&dir.join("invoices.parquet"), false)?, "invoice")?,
        products: strings(&products, "code")?.into_iter().zip(strings(&products, "description")?).collect(),
        customers: strings(&read_parquet(&dir.join("customers.parquet"), false)?, "customer")?,
        countries: strings(&read_parquet(&dir.join("countries.parquet"), false)?, "country")?,
    };
    frame.check()?;
    Ok(frame)
}

/// The stamp `table`'s copy would carry if it were read now, read on a connection of its own
/// (after the writer closed, as every later reader sees the files): what a copy made without
/// reading the workspace (an import built it from the rows it wrote) is saved under.
fn stamp_now(workspace: &Path, table: CachedTable) -> Result<Stamp, CacheError> {
    let conn = super::open_read_only(workspace).map_err(|e| CacheError::Workspace(Box::new(e)))?;
    Ok(Stamp::read(&conn, table)?)
}

/// Saves an order-lines copy made without reading the workspace (an import built it from the
/// rows it wrote, into an empty table) under the workspace's stamp as it is now.
pub fn save_order_lines_as_current(workspace: &Path, frame: &OrderFrame) -> Result<(), CacheError> {
    save_order_lines(workspace, frame, &stamp_now(workspace, CachedTable::OrderLines)?)
}

/// [`save_order_lines_as_current`] for the events.
pub fn save_events_as_current(workspace: &Path, frame: &EventFrame) -> Result<(), CacheError> {
    save_events(workspace, frame, &stamp_now(workspace, CachedTable::Events)?)
}

/// Saves the events copy (read or caught up under `stamp`). The rows are written in slices of
/// [`EVENT_BATCH`], so saving 20M events holds one slice more in memory, not a second copy.
pub fn save_events(workspace: &Path, frame: &EventFrame, stamp: &Stamp) -> Result<(), CacheError> {
    replace_copy(workspace, CachedTable::Events, stamp, frame.len(), |dir| {
        let path = dir.join("events.parquet");
        let file = File::create(&path).map_err(io_error(&path))?;
        let slice = |range: std::ops::Range<usize>| -> PolarsResult<DataFrame> {
            let kinds: Vec<u32> = frame.kind_codes()[range.clone()].iter().map(|&k| u32::from(k)).collect();
            DataFrame::new(
                range.len(),
                vec![
                    Column::new("time".into(), &frame.time[range.clone()]),
                    Column::new("kind".into(), kinds),
                    Column::new("product".into(), &frame.product[range.clone()]),
                    Column::new("category".into(), &frame.category[range.clone()]),
                    Column::new("brand".into(), &frame.brand[range.clone()]),
                    Column::new("user".into(), &frame.user[range.clone()]),
                    Column::new("price".into(), &frame.price[range]),
                ],
            )
        };
        let first = slice(0..frame.len().min(EVENT_BATCH))?;
        let mut writer = ParquetWriter::new(file).with_compression(ParquetCompression::Uncompressed).batched(first.schema())?;
        writer.write_batch(&first)?;
        for start in (EVENT_BATCH..frame.len()).step_by(EVENT_BATCH) {
            writer.write_batch(&slice(start..(start + EVENT_BATCH).min(frame.len()))?)?;
        }
        writer.finish()?;
        let single = |file: &str, column: Column| write_parquet(&dir.join(file), &mut DataFrame::new(column.len(), vec![column])?);
        single("session_starts.parquet", Column::new("start".into(), frame.session_starts()))?;
        // Only when some event is not one unit (most event exports have no quantity).
        if !frame.quantity.all_one() {
            single("quantities.parquet", Column::new("quantity".into(), frame.quantity.as_slice()))?;
        }
        single("sessions.parquet", StringChunked::from_iter_values("session".into(), frame.sessions.iter()).into_column())?;
        single("users.parquet", Column::new("user".into(), &frame.users))?;
        single("categories.parquet", Column::new("category".into(), &frame.categories))?;
        single("brands.parquet", Column::new("brand".into(), &frame.brands))?;
        let products = &frame.products;
        let mut products = DataFrame::new(
            products.len(),
            vec![
                Column::new("id".into(), products.iter().map(|p| p.id).collect::<Vec<i64>>()),
                Column::new("category".into(), products.iter().map(|p| p.category).collect::<Vec<u32>>()),
                Column::new("brand".into(), products.iter().map(|p| p.brand).collect::<Vec<u32>>()),
            ],
        )?;
        write_parquet(&dir.join("products.parquet"), &mut products)?;
        Ok(())
    })
}

/// The cached events; `last_rowid` is the highest workspace rowid they hold (live mode reads on from it).
fn read_events(dir: &Path, last_rowid: Option<i64>) -> Result<EventFrame, CacheError> {
    // The rows and the session names (millions of strings) are read side by side.
    let (rows, sessions) = crate::jobs::join(
        || -> Result<_, CacheError> {
            let rows = read_parquet(&dir.join("events.parquet"), false)?;
            let kind = one_column::<UInt32Type>(&rows, "kind")?.into_iter().map(|k| k.min(u32::from(u8::MAX)) as u8).collect();
            Ok((rows, kind))
        },
        || texts(&read_parquet(&dir.join("sessions.parquet"), false)?, "session"),
    );
    let ((rows, kind), sessions) = (rows?, sessions?);
    let products = read_parquet(&dir.join("products.parquet"), false)?;
    let products = one_column::<Int64Type>(&products, "id")?
        .into_iter()
        .zip(one_column::<UInt32Type>(&products, "category")?)
        .zip(one_column::<UInt32Type>(&products, "brand")?)
        .map(|((id, category), brand)| Product { id, category, brand })
        .collect();
    let parts = EventParts {
        time: one_column::<Int64Type>(&rows, "time")?,
        kind,
        product: one_column::<UInt32Type>(&rows, "product")?,
        category: one_column::<UInt32Type>(&rows, "category")?,
        brand: one_column::<UInt32Type>(&rows, "brand")?,
        user: one_column::<UInt32Type>(&rows, "user")?,
        price: one_column::<Float32Type>(&rows, "price")?,
        quantity: match dir.join("quantities.parquet") {
            path if path.exists() => one_column::<UInt32Type>(&read_parquet(&path, false)?, "quantity")?,
            _ => Vec::new(),
        },
        session_start: one_column::<UInt32Type>(&read_parquet(&dir.join("session_starts.parquet"), false)?, "start")?,
        sessions,
        users: one_column::<Int64Type>(&read_parquet(&dir.join("users.parquet"), false)?, "user")?,
        products,
        categories: strings(&read_parquet(&dir.join("categories.parquet"), false)?, "category")?,
        brands: strings(&read_parquet(&dir.join("brands.parquet"), false)?, "brand")?,
        workspace_rowid: Some(last_rowid.unwrap_or(0)),
    };
    Ok(EventFrame::from_parts(parts)?)
}
