//! Importing files into the workspace.
//!
//! Flow: [`sources::open`] sniffs the file and yields text rows → a [`convert::Converter`] types
//! them into [`batch::Batch`]es on a parser thread → [`writer::TableWriter`] inserts them on the
//! job's thread. Everything happens in one transaction: the workspace sees the whole file or
//! nothing. Rows that cannot be represented go to `rejects` with their line and reason.

pub mod batch;
pub mod convert;
pub mod copy;
pub mod distinct;
pub mod error;
pub mod join;
pub mod kinds;
pub mod numbers;
pub mod plausible;
pub mod report;
pub mod shopify;
pub mod sniff;
pub mod sources;
pub mod values;
pub mod watch;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, Connection};

use crate::jobs::{self, Job, JobContext};
use crate::workspace::catalogue::{normalize_header, Target, TargetColumn, ValueKind};
use crate::workspace::history::{self, NewImport};
use crate::workspace::Workspace;
use batch::{Batch, Reject};
use convert::{CdnowConverter, Converter, MappedConverter, RawConverter, WideCompetitorConverter};
pub use error::ImportError;
use kinds::{KnownKind, Mapping};
pub use report::QualityReport;
use report::{DuplicateRows, QualityTracker};
use sources::{RawRow, RowSource};

/// Page cache for imports, in KiB (SQLite takes negative cache sizes as KiB). A bulk insert only
/// appends pages, so a bigger cache barely helps: 256 MiB imported 10M order lines and 20M
/// events no faster than 64 MiB (same runs, alternating) and held 200 MB more at the peak.
const IMPORT_CACHE_KIB: i64 = -64 * 1024;
/// SQLite's default page cache, restored after an import.
const DEFAULT_CACHE_KIB: i64 = -2000;

/// Connection settings for the length of one bulk import.
///
/// In WAL mode every page is written twice (to the log, then by the checkpoint); a rollback
/// journal writes new pages once and journals only the few existing pages an append touches.
/// It is just as atomic: after a crash or `kill -9` the next open rolls the hot journal back.
/// The switch needs the workspace to itself, so when another connection is open (the app's SQL
/// console) the import simply stays in WAL mode.
struct BulkLoad {
    left_wal: bool,
}

impl BulkLoad {
    fn enter(conn: &Connection) -> Self {
        let _ = conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB);
        // Do not wait for other connections: if the switch is not possible now, skip it.
        let _ = conn.busy_timeout(std::time::Duration::ZERO);
        let mode: Option<String> = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).ok();
        let _ = conn.busy_timeout(crate::workspace::BUSY_TIMEOUT);
        Self { left_wal: mode.as_deref() == Some("delete") }
    }

    fn leave(self, conn: &Connection) {
        let _ = conn.pragma_update(None, "cache_size", DEFAULT_CACHE_KIB);
        if self.left_wal {
            // If this fails, the next Workspace::open switches back.
            let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
        }
    }
}

/// What the user asked for beyond the file itself.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Force a target instead of detecting one.
    pub target: Option<Target>,
    /// Explicit `target column = source column` pairs; unnamed columns are guessed.
    pub mapping: Vec<(String, String)>,
    /// Excel sheet to read (default: the first).
    pub sheet: Option<String>,
    /// Import even when a file with the same content was imported before.
    pub force: bool,
    /// Table name for raw imports (default: from the file name).
    pub table: Option<String>,
    /// What a competitor price feed's prices are: recorded with the import (`price_feeds`).
    pub price_feed: PriceFeed,
    /// Order lines: what marks a cancellation, when the user says (else the layout decides:
    /// see [`cancellation_rule`]).
    pub cancellation: Option<kinds::CancellationRule>,
    /// Build the table's in-memory copy from the rows as they are written (order lines and
    /// events into an empty table): `ImportOutcome::copy`. Holds the copy in memory.
    pub keep_copy: bool,
    /// With `keep_copy`: the copy is also sent here as soon as it is built, before the import's
    /// checks and its commit, so the window can show the figures while the rows are saved. The
    /// import's outcome then says whether they were kept.
    pub early_copy: Option<std::sync::mpsc::Sender<copy::ImportedCopy>>,
}

/// A competitor feed's currency and whether its prices include tax, as the user states them at
/// import (a `currency` column, where present, still wins row by row). Prices are compared
/// only like with like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceFeed {
    pub currency: Option<String>,
    pub prices_include_tax: Option<bool>,
}

impl PriceFeed {
    /// The quality report's line: what is known and what is not.
    pub fn describe(&self) -> String {
        let currency = self.currency.as_deref().map_or("currency not stated (taken to be ours)".to_string(), |c| format!("in {c}"));
        let tax = match self.prices_include_tax {
            Some(true) => "including tax",
            Some(false) => "excluding tax",
            None => "tax not stated",
        };
        format!("{currency}, {tax}")
    }
}

/// Rows read before the import starts, from which a column's format, date order and the
/// cancellation rule are decided (and shown in the quality report).
pub const SAMPLE_ROWS: usize = 500;

/// A finished import.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub import_id: i64,
    pub file: PathBuf,
    pub kind: String,
    pub table: String,
    pub format: String,
    pub encoding: String,
    pub report: QualityReport,
    /// The table's copy built during the import, when asked (`ImportOptions::keep_copy`), or
    /// why there is none; `None` when not asked.
    pub copy: Option<Result<copy::ImportedCopy, copy::NoCopy>>,
}

/// How a file will be loaded, decided from its header (and saved mappings).
struct Plan {
    kind: String,
    target: Target,
    mapping: Option<Mapping>,
    /// Save the mapping for files with the same header (user-made mappings only).
    remember: bool,
    sources: Vec<Option<usize>>,
}

/// Imports one file into `workspace`, reporting progress to and honouring cancellation from `ctx`.
pub fn import_file(
    workspace: &mut Workspace,
    path: &Path,
    options: &ImportOptions,
    ctx: &JobContext,
) -> Result<ImportOutcome, ImportError> {
    let started_at = now();
    let size = std::fs::metadata(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?.len();
    ctx.set_message(format!("checking {}", display_name(path)));
    let fingerprint = fingerprint(path, size)?;
    let previous = previous_imports(workspace.conn(), &fingerprint)?;
    let content_hash = ContentHash::start(path, previous.is_empty(), ctx)?;
    if let (false, ContentHash::Known(hash)) = (options.force, &content_hash) {
        refuse_if_imported(path, &previous, hash)?;
    }
    let origin = Origin { name: path.to_path_buf(), stem: file_stem(path), size: Some(size) };
    ctx.set_message(format!("reading {}", display_name(path)));
    let open = || sources::open(path, options.sheet.as_deref());
    import_recorded(workspace, &origin, open, options, ctx, (&fingerprint, content_hash), &started_at)
}

/// Imports a lines file joined to the files it refers to (see [`join`]) as one import: one
/// transaction, one history row (named after the lines file; the report names the others). The
/// same set of files again is refused like a file imported twice.
pub fn import_joined(
    workspace: &mut Workspace,
    spec: &join::JoinSpec,
    options: &ImportOptions,
    ctx: &JobContext,
) -> Result<ImportOutcome, ImportError> {
    let started_at = now();
    let path = spec.lines.as_path();
    ctx.set_message(format!("checking {} and the files joined to it", display_name(path)));
    let (mut size, mut fingerprints, mut contents) = (0u64, blake3::Hasher::new(), blake3::Hasher::new());
    for file in std::iter::once(path).chain(spec.related.iter().map(|r| r.path.as_path())) {
        let file_size = std::fs::metadata(file).map_err(|source| ImportError::Io { path: file.to_path_buf(), source })?.len();
        size += file_size;
        fingerprints.update(fingerprint(file, file_size)?.as_bytes());
        contents.update(hash_file(file, ctx)?.as_bytes());
    }
    let fingerprint = fingerprints.finalize().to_hex().to_string();
    let hash = contents.finalize().to_hex().to_string();
    if !options.force {
        refuse_if_imported(path, &previous_imports(workspace.conn(), &fingerprint)?, &hash)?;
    }
    let origin = Origin { name: path.to_path_buf(), stem: file_stem(path), size: Some(size) };
    ctx.set_message(format!("reading {} and the files joined to it", display_name(path)));
    let open =
        || join::JoinedSource::open(spec, options.sheet.as_deref()).map(|(source, info)| (Box::new(source) as Box<dyn RowSource>, info));
    import_recorded(workspace, &origin, open, options, ctx, (&fingerprint, ContentHash::Known(hash)), &started_at)
}

/// The tail every import shares: bulk-load settings for its length, the import itself, a
/// cancel told apart from a failure, and a failed attempt recorded in the history (its data
/// transaction is gone; the line lets the user see what happened).
fn import_recorded(
    workspace: &mut Workspace,
    origin: &Origin,
    open: impl FnOnce() -> Result<(Box<dyn RowSource>, sources::SourceInfo), ImportError>,
    options: &ImportOptions,
    ctx: &JobContext,
    (fingerprint, mut content_hash): (&str, ContentHash),
    started_at: &str,
) -> Result<ImportOutcome, ImportError> {
    let bulk = BulkLoad::enter(workspace.conn());
    let result =
        open().and_then(|opened| import_checked(workspace, origin, opened, options, ctx, (fingerprint, &mut content_hash), started_at));
    bulk.leave(workspace.conn());
    let result = cancelled_when_interrupted(result, ctx);
    if let Err(err) = &result {
        content_hash.abandon();
        let _ = record_failure(workspace.conn(), &origin.name, origin.size.unwrap_or(0), fingerprint, started_at, err);
    }
    result
}

/// A statement SQLite stopped because the job was cancelled (the connection's progress
/// handler) fails with SQLite's "interrupted": it is the cancel, and is recorded as one.
fn cancelled_when_interrupted(result: Result<ImportOutcome, ImportError>, ctx: &JobContext) -> Result<ImportOutcome, ImportError> {
    match result {
        Err(ImportError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)))
            if failure.code == rusqlite::ErrorCode::OperationInterrupted && ctx.is_cancelled() =>
        {
            Err(crate::jobs::Cancelled.into())
        }
        other => other,
    }
}

/// Rows streamed from somewhere other than a file (a warehouse's COPY): named `name` in the
/// history, hashed as they arrive into `hash`.
pub struct StreamInput {
    /// How the history and messages name it, e.g. `postgres://analyst@db:5432/shop table orders`.
    pub name: String,
    /// The raw table's name when the rows match no known kind.
    pub table_stem: String,
    pub source: Box<dyn RowSource>,
    pub info: sources::SourceInfo,
    pub hash: Arc<StreamHash>,
}

/// A BLAKE3 hash filled by whoever reads a stream, so a second import of the same content is
/// refused as a file's would be.
#[derive(Default)]
pub struct StreamHash(std::sync::Mutex<blake3::Hasher>);

impl StreamHash {
    pub fn update(&self, bytes: &[u8]) {
        if let Ok(mut hasher) = self.0.lock() {
            hasher.update(bytes);
        }
    }

    fn finish(&self) -> String {
        self.0.lock().map(|h| h.finalize().to_hex().to_string()).unwrap_or_default()
    }
}

/// Imports rows from a stream with the same plan, converters, quality report and single
/// transaction as a file: the workspace sees all of it or nothing.
pub fn import_stream(
    workspace: &mut Workspace,
    input: StreamInput,
    options: &ImportOptions,
    ctx: &JobContext,
) -> Result<ImportOutcome, ImportError> {
    let started_at = now();
    let fingerprint = blake3::hash(input.name.as_bytes()).to_hex().to_string();
    let origin = Origin { name: PathBuf::from(&input.name), stem: input.table_stem.clone(), size: None };
    let content_hash = ContentHash::Streamed(input.hash.clone());
    let open = || Ok((input.source, input.info));
    import_recorded(workspace, &origin, open, options, ctx, (&fingerprint, content_hash), &started_at)
}

/// What an import reads from, for the history and messages.
struct Origin {
    name: PathBuf,
    /// Default raw table name.
    stem: String,
    /// The file's size; `None` for a stream (its bytes are counted as they arrive).
    size: Option<u64>,
}

/// The file's full BLAKE3 hash, for refusing a second import of the same content.
///
/// Reading a multi-gigabyte file twice in a row would be a sequential pause before every import.
/// So the hash is computed up front only when a cheap fingerprint (size, first and last MiB)
/// matches an earlier import; otherwise it runs as a job beside the import, on the core the
/// import leaves idle, and is only needed when the import records itself.
enum ContentHash {
    Known(String),
    Pending(Job<Result<String, ImportError>>),
    /// Filled as the stream is read; final once the stream has ended.
    Streamed(Arc<StreamHash>),
    Abandoned,
}

impl ContentHash {
    fn start(path: &Path, fingerprint_is_new: bool, ctx: &JobContext) -> Result<Self, ImportError> {
        if fingerprint_is_new {
            let path = path.to_path_buf();
            Ok(ContentHash::Pending(Job::spawn("hash file", move |hash_ctx| Ok(hash_file(&path, hash_ctx)))))
        } else {
            Ok(ContentHash::Known(hash_file(path, ctx)?))
        }
    }

    fn wait(&mut self) -> Result<String, ImportError> {
        match std::mem::replace(self, ContentHash::Abandoned) {
            ContentHash::Known(hash) => {
                *self = ContentHash::Known(hash.clone());
                Ok(hash)
            }
            ContentHash::Pending(job) => {
                let hash = job.join().map_err(|e| ImportError::Internal(e.to_string()))??;
                *self = ContentHash::Known(hash.clone());
                Ok(hash)
            }
            ContentHash::Streamed(hash) => {
                let hash = hash.finish();
                *self = ContentHash::Known(hash.clone());
                Ok(hash)
            }
            ContentHash::Abandoned => Err(crate::jobs::Cancelled.into()),
        }
    }

    fn abandon(&mut self) {
        if let ContentHash::Pending(job) = self {
            job.cancel();
        }
        *self = ContentHash::Abandoned;
    }
}

fn import_checked(
    workspace: &mut Workspace,
    origin: &Origin,
    (mut source, info): (Box<dyn RowSource>, sources::SourceInfo),
    options: &ImportOptions,
    ctx: &JobContext,
    (fingerprint, content_hash): (&str, &mut ContentHash),
    started_at: &str,
) -> Result<ImportOutcome, ImportError> {
    let path = origin.name.as_path();
    let headers = source.headers().to_vec();
    let plan = make_plan(workspace.conn(), &headers, options)?;
    let sample = read_sample(source.as_mut(), SAMPLE_ROWS)?;

    let tx = workspace.conn_mut().transaction()?;
    let mapping = plan.mapping.as_ref().map(|m| serde_json::to_string(m).unwrap_or_default());
    let import_id = history::insert_import(
        &tx,
        &NewImport {
            file: &path.display().to_string(),
            file_size: origin.size.unwrap_or(0),
            fingerprint,
            format: &info.format_name(),
            encoding: info.encoding.name(),
            kind: &plan.kind,
            target_table: "",
            mapping: mapping.as_deref(),
            report: "{}",
            started_at,
            finished_at: started_at,
            status: "loading",
        },
    )?;

    // What the report says about how numbers were read: (column, format) and the guesses.
    let mut number_formats: Vec<(String, String)> = Vec::new();
    let mut number_notes: Vec<String> = Vec::new();
    // The file's columns the mapping leaves out: said, not silently dropped.
    let mut unused_columns: Vec<String> = Vec::new();
    // Order lines: the cancellation rule and why it was chosen.
    let mut cancellation: Option<(kinds::CancellationRule, String)> = None;
    // The currency the user stated for this import (`--currency`).
    let stated_currency = options.price_feed.currency.as_ref().map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty());
    let (table, mut converter): (String, Box<dyn Converter>) = match plan.target {
        Target::Raw => {
            let wanted = options.table.clone().unwrap_or_else(|| origin.stem.clone());
            let table = writer::unused_table_name(&tx, &wanted)?;
            (table, Box::new(RawConverter::new(&headers)))
        }
        target => {
            let converter: Box<dyn Converter> = match KnownKind::detect(&headers) {
                Some(known @ (KnownKind::CdnowMaster | KnownKind::CdnowSample))
                    if options.mapping.is_empty() && options.target.is_none_or(|t| t == known.target()) =>
                {
                    Box::new(CdnowConverter::new(known, import_id, stated_currency.clone()))
                }
                Some(KnownKind::ShopifyOrders) if options.mapping.is_empty() && options.target.is_none_or(|t| t == target) => {
                    let rule = kinds::CancellationRule::Status(vec!["voided".into(), "refunded".into()]);
                    cancellation = Some((rule, "Shopify's export; also when Cancelled at is set".into()));
                    let converter = shopify::ShopifyConverter::new(&headers, import_id)
                        .ok_or_else(|| ImportError::Mapping("not a complete Shopify orders export".into()))?;
                    Box::new(converter)
                }
                Some(KnownKind::CompetitorFeedWide) if options.mapping.is_empty() && options.target.is_none_or(|t| t == target) => {
                    let month = headers.iter().position(|h| normalize_header(h) == "monthyear");
                    let (day_first, note) = convert::month_order(sample.iter().filter_map(|row| month.and_then(|i| row.fields.get(i))));
                    number_notes.push(note);
                    let converter = WideCompetitorConverter::new(&headers, day_first, import_id);
                    if headers.iter().any(|h| matches!(normalize_header(h).as_str(), "qty" | "quantity")) {
                        number_notes.push(
                            "qty (units sold per product and month) is not loaded: price elasticity needs daily sales, i.e. the shop's order lines with dates and stock codes equal to product_id; import those for elasticity".into(),
                        );
                    }
                    let used = converter.used_columns();
                    unused_columns = headers.iter().enumerate().filter(|(i, _)| !used.contains(i)).map(|(_, h)| h.clone()).collect();
                    Box::new(converter)
                }
                known => {
                    if target == Target::OrderLines {
                        let (rule, note) = cancellation_rule(known, &plan.sources, &sample, options)?;
                        cancellation = Some((rule, note));
                        let quantity = Target::OrderLines.columns().iter().position(|c| c.name == "quantity");
                        if quantity.is_some_and(|i| plan.sources[i].is_none()) {
                            number_notes.push("no quantity column: each line is one unit (quantity 1)".into());
                        }
                    }
                    let date_source = plan.sources[date_column(target)];
                    let (slash, order_note) =
                        values::SlashOrder::decide(sample.iter().filter_map(|row| date_source.and_then(|i| row.fields.get(i))));
                    number_notes.extend(order_note);
                    let formats = decide_number_formats(target, &plan.sources, &sample, &mut number_formats, &mut number_notes);
                    unused_columns =
                        headers.iter().enumerate().filter(|(i, _)| !plan.sources.contains(&Some(*i))).map(|(_, h)| h.clone()).collect();
                    let rule = cancellation.as_ref().map(|(rule, _)| rule.clone()).unwrap_or_default();
                    Box::new(
                        MappedConverter::new(target, plan.sources.clone(), headers.len(), slash, import_id)
                            .with_number_formats(formats)
                            .with_cancellation(rule)
                            .with_currency(stated_currency.clone()),
                    )
                }
            };
            (target.table().to_string(), converter)
        }
    };
    let columns = converter.output_columns();
    if plan.target == Target::Raw {
        let limit = writer::max_columns(&tx);
        if columns.len() > limit {
            return Err(ImportError::TooManyColumns { path: path.to_path_buf(), columns: columns.len(), limit });
        }
        writer::create_text_table(&tx, &table, &columns)?;
    }

    let (size_done, size_total) = source.progress();
    ctx.set_total(size_total.max(size_done));
    ctx.set_message(format!("importing {}", display_name(path)));
    let tracker = QualityTracker::new(plan.target, columns.clone());
    // The copy, built from the batches as they are written, where asked and possible.
    let copy_builder = match options.keep_copy {
        false => None,
        true => Some(copy_builder(&tx, plan.target, &columns)?),
    };
    // Written batches travel back to the parser for reuse.
    let (recycle, recycled) = std::sync::mpsc::channel::<Batch>();
    let ((tracker, (repairs, raw_types, extra_rows, streamed_bytes), converter_notes, unmatched), ((duplicates, built), ())) =
        jobs::pipeline(
            4,
            |sender| {
                let (mut tracker, recycled) = (tracker, recycled);
                let mut batch = Batch::new(columns.len());
                let mut row = RawRow::default();
                let mut sample = sample.into_iter();
                loop {
                    let next = match sample.next() {
                        Some(sampled) => {
                            row = sampled;
                            true
                        }
                        None => source.read_row(&mut row)?,
                    };
                    if !next {
                        break;
                    }
                    convert_row(&row, converter.as_mut(), &mut batch, &mut tracker);
                    if batch.is_full() {
                        ctx.check()?;
                        ctx.set_done(source.progress().0);
                        let empty = recycled.try_recv().unwrap_or_else(|_| Batch::new(columns.len()));
                        let full = std::mem::replace(&mut batch, empty);
                        if sender.send(full).is_err() {
                            break; // the writer stopped; its error is the one to report
                        }
                    }
                }
                let _ = sender.send(batch);
                // Closing the channel lets the writer flush while the report is finished here.
                drop(sender);
                ctx.set_done(source.progress().1);
                let mut notes = source.join_notes();
                notes.extend(converter.notes());
                let done = (source.repairs(), converter.column_types(), converter.extra_rows(), source.progress().0);
                Ok((tracker, done, notes, source.unmatched()))
            },
            |receiver| {
                // Between parser and writer, a stage of its own counts duplicate rows (see
                // `DuplicateRows`) and builds the copy where asked, from each batch on its way to the
                // writer, the import's busiest thread: three threads that keep two cores busy. A
                // batch whose write fails fails the import, and its copy is dropped with the
                // transaction.
                jobs::pipeline(
                    4,
                    |to_writer| {
                        let mut builder = copy_builder;
                        let mut duplicates = DuplicateRows::new(plan.target);
                        for batch in receiver {
                            if let Some(Ok(copy)) = &mut builder {
                                if let Err(why) = copy.observe(&batch) {
                                    builder = Some(Err(why));
                                }
                            }
                            duplicates.observe(&batch);
                            if to_writer.send(batch).is_err() {
                                break; // the writer stopped; its error is the one to report
                            }
                        }
                        drop(to_writer);
                        if matches!(builder, Some(Ok(_))) {
                            ctx.set_message("finishing the copy in memory");
                        }
                        // Both finish side by side, while the writer flushes its pages.
                        let (duplicates, built) =
                            jobs::join(|| duplicates.finish(), || builder.map(|built| built.and_then(copy::CopyBuilder::finish)));
                        Ok::<_, ImportError>((duplicates, built))
                    },
                    |from_middle| {
                        // The writer: inserts each batch, then hands it back to the parser for reuse.
                        let mut table_writer = writer::TableWriter::new(&tx, &table, &columns, Some(import_id))?;
                        for mut batch in from_middle {
                            ctx.check()?;
                            table_writer.insert(&batch)?;
                            writer::insert_rejects(&tx, import_id, &batch.rejects)?;
                            batch.clear();
                            let _ = recycle.send(batch); // the parser may be done already
                        }
                        // Write the cached pages now, while the parser finishes its report, instead
                        // of all at once in COMMIT.
                        tx.cache_flush()?;
                        Ok::<_, ImportError>(())
                    },
                )
            },
        )?;
    let copy = match built {
        Some(Ok(built)) => {
            let last_rowid: Option<i64> = tx.query_row(&format!("SELECT max(rowid) FROM {table}"), [], |r| r.get(0))?;
            Some(Ok(built.ending_at_rowid(last_rowid.unwrap_or(0))))
        }
        Some(Err(why)) => Some(Err(why)),
        None => None,
    };
    let mut report = tracker.finish(repairs, duplicates);
    // A file whose every row was rejected is refused below: no figures to show for it.
    if let (Some(Ok(copy)), Some(early), true) = (&copy, &options.early_copy, report.rows_loaded > 0) {
        let _ = early.send(copy.clone()); // the window may have closed meanwhile
    }
    ctx.check()?;

    report.encoding = info.encoding_decision.clone();
    if plan.target == Target::CompetitorPrices {
        report.prices = Some(options.price_feed.describe());
    }
    report.unused_columns = unused_columns;
    if let Some((rule, why)) = &cancellation {
        report.cancellation = Some(format!("{} ({why})", rule.describe()));
    }
    if plan.target == Target::OrderLines {
        report.currency = Some(match (&stated_currency, report.currencies.is_empty()) {
            (Some(c), _) if report.currencies.keys().all(|k| k == c) => format!("{c}, as stated for this import"),
            (_, false) if report.currencies.len() == 1 => "from the file's currency column".into(),
            (_, false) => "several, from the file's currency column: figures sum one currency at a time, never several".into(),
            (_, true) => "not stated: money is shown without a symbol (state it with --currency, e.g. --currency GBP)".into(),
        });
    }
    report.number_formats = number_formats;
    report.warnings.extend(number_notes);
    report.warnings.extend(converter_notes);
    report.without_lines = unmatched_rows(&unmatched, plan.mapping.as_ref());
    ctx.set_message("checking plausibility");
    plausible::check(&tx, plan.target, import_id, &mut report)?;
    // Every row rejected is a file read the wrong way (or the wrong file), not a success.
    if report.rows_loaded == 0 && report.rows_rejected > 0 {
        let (reason, count) = report.rejected_by_reason.iter().max_by_key(|(_, n)| **n).map(|(r, n)| (r.clone(), *n)).unwrap_or_default();
        return Err(ImportError::NothingLoaded { path: path.to_path_buf(), rejected: report.rows_rejected, reason, count });
    }
    ctx.set_message("finishing");
    if let Some((extra_table, extra_columns, rows)) = extra_rows.filter(|(_, _, rows)| !rows.is_empty()) {
        writer::TableWriter::new(&tx, extra_table, &extra_columns, Some(import_id))?.insert(&rows)?;
        report.warnings.push(format!("{} prices of our own (unit_price) were loaded into {extra_table}", rows.len()));
    }
    if let Some(types) = &raw_types {
        writer::retype_columns(&tx, &table, &columns, types)?;
        // The columns are recorded: opening the workspace checks the table against them.
        let recorded: Vec<(&String, &&str)> = columns.iter().zip(types.iter()).collect();
        tx.execute(
            "INSERT INTO raw_tables (name, import_id, columns) VALUES (?1, ?2, ?3)",
            params![table, import_id, serde_json::to_string(&recorded).unwrap_or_default()],
        )?;
    }
    if plan.remember {
        if let Some(mapping) = &plan.mapping {
            tx.execute(
                "INSERT OR REPLACE INTO mappings (signature, kind, mapping, saved_at) VALUES (?1, ?2, ?3, ?4)",
                params![kinds::header_signature(&headers), plan.target.table(), serde_json::to_string(mapping).unwrap_or_default(), now()],
            )?;
        }
    }
    let report_json = serde_json::to_string(&report).unwrap_or_default();
    ctx.set_message("checking file hash");
    let hash = content_hash.wait()?;
    if !options.force {
        // Read again inside the transaction: another import of the same file may have finished
        // while this one ran.
        refuse_if_imported(path, &previous_imports(&tx, fingerprint)?, &hash)?;
    }
    tx.execute(
        "UPDATE imports SET target_table = ?2, rows_read = ?3, rows_loaded = ?4, rows_rejected = ?5, report = ?6,
                            finished_at = ?7, status = 'loaded', file_hash = ?8, file_size = ?9 WHERE id = ?1",
        params![
            import_id,
            table,
            report.rows_read as i64,
            report.rows_loaded as i64,
            report.rows_rejected as i64,
            report_json,
            now(),
            hash,
            origin.size.unwrap_or(streamed_bytes) as i64
        ],
    )?;
    if plan.target == Target::CompetitorPrices {
        let feed = &options.price_feed;
        tx.execute(
            "INSERT INTO price_feeds (import_id, currency, prices_include_tax) VALUES (?1, ?2, ?3)",
            params![import_id, feed.currency, feed.prices_include_tax],
        )?;
    }
    ctx.check()?;
    tx.commit()?;
    Ok(ImportOutcome {
        import_id,
        file: path.to_path_buf(),
        kind: plan.kind,
        table,
        format: info.format_name(),
        encoding: info.encoding.name().to_string(),
        report,
        copy,
    })
}

/// The builder of `target`'s copy, or why it cannot be built from this import's rows.
fn copy_builder(tx: &Connection, target: Target, columns: &[String]) -> Result<Result<copy::CopyBuilder, copy::NoCopy>, ImportError> {
    if !matches!(target, Target::OrderLines | Target::Events) {
        return Ok(Err(copy::NoCopy::NotCopied(target.table())));
    }
    let has_rows =
        |table: &str| -> rusqlite::Result<bool> { tx.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| r.get(0)) };
    if has_rows(target.table())? {
        return Ok(Err(copy::NoCopy::TableNotEmpty(target.table())));
    }
    if target == Target::Events && has_rows(Target::Products.table())? {
        return Ok(Err(copy::NoCopy::JoinsProducts));
    }
    Ok(copy::CopyBuilder::new(target, columns))
}

/// Converts one row, or records why it cannot be loaded.
fn convert_row(row: &RawRow, converter: &mut dyn Converter, batch: &mut Batch, tracker: &mut QualityTracker) {
    batch.rows_read += 1;
    let outcome = match (&row.malformed, &row.rejected) {
        (Some((raw, reason)), _) => Err((raw.clone(), convert::RowError { key: "unreadable row".into(), detail: reason.clone() })),
        (None, Some(reason)) => Err((row.original.clone().unwrap_or_else(|| record_to_csv(&row.fields)), reason.clone())),
        (None, None) => {
            let before = batch.len();
            match batch.push_row(|b| converter.convert(&row.fields, b)) {
                Ok(()) => {
                    tracker.observe(batch, before);
                    Ok(())
                }
                Err(err) => Err((row.original.clone().unwrap_or_else(|| record_to_csv(&row.fields)), err)),
            }
        }
    };
    if let Err((raw, mut err)) = outcome {
        // A quote that is never closed makes the reader take the following lines as part of
        // this row: say so, or those lines would vanish into one reject unexplained.
        // (A line break that ends the field is the file's last one, not a further line.)
        let breaks = row.fields.iter().map(|f| f.trim_end_matches(['\n', '\r']).matches('\n').count()).sum::<usize>();
        if breaks > 0 && row.original.is_none() && row.malformed.is_none() {
            err.detail.push_str(&format!(
                " (a quoted field runs over line breaks: lines {}–{} were read as this one row; is a quote left open?)",
                row.line,
                row.line + breaks as u64
            ));
        }
        tracker.rejected(&err.key);
        batch.rejects.push(Reject { line: row.line, raw, reason: err.detail });
    }
}

/// The rows of joined files that no line referred to (orders without items), counted by the
/// status column where the mapping names one: the report says what was not loaded.
fn unmatched_rows(unmatched: &[join::Unmatched], mapping: Option<&Mapping>) -> Vec<report::WithoutLines> {
    unmatched
        .iter()
        .filter(|u| u.rows > 0)
        .map(|u| {
            let status = mapping.and_then(|m| m.get("status")).and_then(|column| u.headers.iter().position(|h| h == column));
            let mut by_status = std::collections::BTreeMap::new();
            if let Some(i) = status {
                for row in &u.values {
                    *by_status.entry(row.get(i).map_or(String::new(), |s| s.trim().to_string())).or_insert(0u64) += 1;
                }
            }
            report::WithoutLines { file: u.file.clone(), rows: u.rows, by_status }
        })
        .collect()
}

/// What marks a cancelled order line in this import, and why: the user's rule if given; the
/// UCI rule for the UCI layouts; the status column's cancelled values when one is mapped; else
/// decided from the sampled invoices ([`kinds::CancellationRule::decide_from_invoices`]).
fn cancellation_rule(
    known: Option<KnownKind>,
    sources: &[Option<usize>],
    sample: &[RawRow],
    options: &ImportOptions,
) -> Result<(kinds::CancellationRule, String), ImportError> {
    use kinds::CancellationRule;
    let source_of = |name: &str| {
        let index = Target::OrderLines.columns().iter().position(|c| c.name == name)?;
        sources.get(index).copied().flatten()
    };
    let status = source_of("status");
    match &options.cancellation {
        Some(CancellationRule::Status(_)) if status.is_none() => {
            Err(ImportError::Mapping("cancellations by status need a status column: add --map status=<column>".into()))
        }
        Some(rule) => Ok((rule.clone(), "as stated for this import".into())),
        None if matches!(known, Some(KnownKind::UciOnlineRetailII | KnownKind::UciOnlineRetail)) => {
            Ok((CancellationRule::InvoicePrefix, "the UCI Online Retail layout".into()))
        }
        None if known == Some(KnownKind::OlistOrders) => {
            Ok((CancellationRule::Status(vec!["canceled".into(), "unavailable".into()]), "Olist's order_status".into()))
        }
        None if status.is_some() => Ok((
            CancellationRule::Status(kinds::CANCELLED_STATUSES.iter().map(|s| s.to_string()).collect()),
            "a status column is mapped; name other values with --cancelled-values".into(),
        )),
        None => {
            let invoice = source_of("invoice");
            Ok(CancellationRule::decide_from_invoices(sample.iter().filter_map(|row| invoice.and_then(|i| row.fields.get(i)))))
        }
    }
}

fn date_column(target: Target) -> usize {
    let name = match target {
        Target::Events => "event_time",
        Target::OurPrices => "valid_from",
        Target::CompetitorPrices | Target::NamedPrices => "observed_at",
        Target::Users => "signup_at",
        Target::CollectionItems => "added_at",
        Target::Listings => "listed_at",
        Target::MarketplaceOrders => "ordered_at",
        Target::Interactions => "at",
        _ => "invoice_date",
    };
    target.columns().iter().position(|c| c.name == name).unwrap_or(0)
}

fn make_plan(conn: &Connection, headers: &[String], options: &ImportOptions) -> Result<Plan, ImportError> {
    let mapped = |target: Target, mapping: Mapping, kind: String, remember: bool| -> Result<Plan, ImportError> {
        let sources = kinds::resolve_mapping(target, &mapping, headers).map_err(ImportError::Mapping)?;
        kinds::check_mapping(target, &mapping, headers).map_err(ImportError::Mapping)?;
        Ok(Plan { kind, target, mapping: Some(mapping), remember, sources })
    };
    let raw = || Plan { kind: "raw".into(), target: Target::Raw, mapping: None, remember: false, sources: vec![] };
    let known = KnownKind::detect(headers);
    match options.target {
        Some(Target::Raw) => Ok(raw()),
        Some(target) if !options.mapping.is_empty() => {
            let mut mapping = kinds::guess_mapping(target, headers);
            for (t, s) in &options.mapping {
                mapping.insert(t.clone(), s.clone());
            }
            mapped(target, mapping, format!("mapped {}", target.table()), true)
        }
        Some(target) if known.is_none_or(|k| k.target() != target) => {
            mapped(target, kinds::guess_mapping(target, headers), format!("mapped {}", target.table()), true)
        }
        None if !options.mapping.is_empty() => Err(ImportError::Mapping("--map needs --kind order_lines or --kind events".into())),
        _ => {
            if let Some(known) = known {
                let (target, kind) = (known.target(), known.label().to_string());
                if matches!(
                    known,
                    KnownKind::CdnowMaster | KnownKind::CdnowSample | KnownKind::CompetitorFeedWide | KnownKind::ShopifyOrders
                ) {
                    return Ok(Plan { kind, target, mapping: None, remember: false, sources: vec![] });
                }
                let mapping = known.preset_mapping(headers).unwrap_or_else(|| kinds::guess_mapping(target, headers));
                return mapped(target, mapping, kind, false);
            }
            if let Some((target, mapping)) = saved_mapping(conn, headers)? {
                return mapped(target, mapping, format!("saved mapping for {}", target.table()), false);
            }
            Ok(raw())
        }
    }
}

/// What the mapping dialog shows before an import: the file's columns with sample values, and
/// whether shoplens would recognise it without asking.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub headers: Vec<String>,
    /// Up to five rows, as text.
    pub samples: Vec<Vec<String>>,
    pub format: String,
    /// A known dataset (e.g. `uci_online_retail_ii`) or a saved mapping's target.
    pub recognised: Option<String>,
}

impl Inspection {
    /// Sample values of a column, for showing next to a mapping choice.
    pub fn samples_of(&self, column: &str) -> Vec<&str> {
        let Some(i) = self.headers.iter().position(|h| h == column) else { return Vec::new() };
        self.samples.iter().filter_map(|row| row.get(i).map(String::as_str)).collect()
    }
}

/// Reads just enough of `path` to show it in the mapping dialog.
pub fn inspect(conn: &Connection, path: &Path, sheet: Option<&str>) -> Result<Inspection, ImportError> {
    let (mut source, info) = sources::open(path, sheet)?;
    let headers = source.headers().to_vec();
    let samples = read_sample(source.as_mut(), 5)?.into_iter().map(|row| row.fields.iter().map(str::to_string).collect()).collect();
    let recognised = match KnownKind::detect(&headers) {
        Some(known) => Some(known.label().to_string()),
        None => saved_mapping(conn, &headers)?.map(|(target, _)| format!("saved mapping for {}", target.table())),
    };
    Ok(Inspection { headers, samples, format: info.format_name(), recognised })
}

/// A mapping the user confirmed earlier for a file with the same header.
pub fn saved_mapping(conn: &Connection, headers: &[String]) -> Result<Option<(Target, Mapping)>, ImportError> {
    use rusqlite::OptionalExtension;
    let row: Option<(String, String)> = conn
        .query_row("SELECT kind, mapping FROM mappings WHERE signature = ?1", [kinds::header_signature(headers)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(kind, mapping)| Some((Target::parse(&kind)?, serde_json::from_str(&mapping).ok()?))))
}

fn read_sample(source: &mut dyn RowSource, rows: usize) -> Result<Vec<RawRow>, ImportError> {
    let mut sample = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut row = RawRow::default();
        if !source.read_row(&mut row)? {
            break;
        }
        sample.push(row);
    }
    Ok(sample)
}

/// Loaded imports whose file had this fingerprint: (id, finished at, full hash).
fn previous_imports(conn: &Connection, fingerprint: &str) -> Result<Vec<(i64, String, String)>, ImportError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, finished_at, file_hash FROM imports WHERE fingerprint = ?1 AND status = 'loaded' ORDER BY id")?;
    let rows = stmt.query_map([fingerprint], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `AlreadyImported` when one of the `previous` imports (same fingerprint) had the same content.
fn refuse_if_imported(path: &Path, previous: &[(i64, String, String)], hash: &str) -> Result<(), ImportError> {
    match previous.iter().find(|(_, _, file_hash)| file_hash == hash) {
        Some((import_id, at, _)) => Err(ImportError::AlreadyImported { path: path.to_path_buf(), import_id: *import_id, at: at.clone() }),
        None => Ok(()),
    }
}

/// BLAKE3 of the file's size and its first and last MiB: equal for equal files, and for
/// different files almost always different. Costs two small reads whatever the file's size.
fn fingerprint(path: &Path, size: u64) -> Result<String, ImportError> {
    use std::io::{Read, Seek, SeekFrom};
    let io_err = |source| ImportError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&size.to_le_bytes());
    let mut buf = vec![0u8; 1 << 20];
    let n = file.read(&mut buf).map_err(io_err)?;
    hasher.update(&buf[..n]);
    if size > buf.len() as u64 {
        file.seek(SeekFrom::End(-(buf.len() as i64))).map_err(io_err)?;
        file.read_exact(&mut buf).map_err(io_err)?;
        hasher.update(&buf);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Each numeric target column's number format, decided once from the sample (see
/// [`numbers`]); fills in what the report says about the decisions.
fn decide_number_formats(
    target: Target,
    sources: &[Option<usize>],
    sample: &[RawRow],
    shown: &mut Vec<(String, String)>,
    notes: &mut Vec<String>,
) -> Vec<numbers::NumberFormat> {
    let real: Vec<(usize, &TargetColumn, usize)> = target
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ValueKind::Real)
        .filter_map(|(i, c)| Some((i, c, sources.get(i).copied().flatten()?)))
        .collect();
    let columns: Vec<(&str, Vec<&str>)> =
        real.iter().map(|(_, c, source)| (c.name, sample.iter().filter_map(|row| row.fields.get(*source)).collect())).collect();
    let mut formats = vec![numbers::NumberFormat::default(); target.columns().len()];
    for ((index, column, _), decision) in real.iter().zip(numbers::decide(&columns)) {
        formats[*index] = decision.format;
        shown.push((column.name.to_string(), decision.format.describe()));
        notes.extend(decision.note);
    }
    formats
}

fn record_failure(
    conn: &Connection,
    path: &Path,
    size: u64,
    fingerprint: &str,
    started_at: &str,
    err: &ImportError,
) -> rusqlite::Result<()> {
    let report = serde_json::json!({ "error": err.to_string() }).to_string();
    let row = NewImport {
        file: &path.display().to_string(),
        file_size: size,
        fingerprint,
        format: "",
        encoding: "",
        kind: "",
        target_table: "",
        mapping: None,
        report: &report,
        started_at,
        finished_at: &now(),
        status: err.status(),
    };
    history::insert_import(conn, &row).map(|_| ())
}

fn hash_file(path: &Path, ctx: &JobContext) -> Result<String, ImportError> {
    let mut file = std::fs::File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        ctx.check()?;
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn record_to_csv(fields: &csv::StringRecord) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = writer.write_record(fields);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string()
}

fn file_stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "import".into());
    // data.csv.gz → data
    name.split('.').next().filter(|s| !s.is_empty()).unwrap_or("import").to_string()
}

fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| path.display().to_string())
}

/// Local wall-clock time as `YYYY-MM-DD HH:MM:SS`, for the import history.
pub fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}
