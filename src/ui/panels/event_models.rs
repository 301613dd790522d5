//! The Funnel panel's models: the in-memory copy of `events` (from the workspace, or read
//! straight from a CSV being imported), the latest funnel, cart, forecast and sales results, and
//! the live-mode watch job.
//!
//! Each copy is [`Versioned`]: results key on its id and carry its `Arc`, so a new copy (after an
//! import or a watched append) recomputes whatever is on screen, and until then the old result
//! is drawn with the old copy's names and ids, never with the new copy's codes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analytics::carts::{self, CartResult, CartSettings};
use crate::analytics::event_frame::{Appended, EventFrame};
use crate::analytics::forecast::{self, ForecastResult, ProductDay, ProductNames, ProductSales};
use crate::analytics::funnel::{self, FunnelResult, FunnelSettings};
use crate::analytics::Filters;
use crate::jobs::{Job, JobContext, JobError, JobMonitor, Latest};
use crate::ui::models::{CacheSave, Computed, CopyJob, DataChange, PanelModels, PollContext, Versioned, WorkspaceData};
use crate::workspace;
use crate::workspace::cache::PendingSave;

/// A running live-mode watch.
pub struct Watch {
    pub target: PathBuf,
    pub job: Job<u64>,
    pub started: Instant,
    /// Rows appended as of the last copy reload.
    pub seen_rows: u64,
}

/// The events copy, and the save it needs when the cache lags behind it.
pub type LoadedEvents = (EventFrame, Option<PendingSave>);

/// Reads `workspace`'s events into memory, from its cache when current (see
/// [`crate::ui::models::load_copy`]).
pub fn load_from_workspace(workspace: PathBuf) -> impl FnOnce(&JobContext) -> Result<Option<LoadedEvents>, JobError> + Send + 'static {
    crate::ui::models::load_copy(workspace, workspace::cache::load_events)
}

/// One product's daily history.
pub struct ProductHistory {
    /// The product asked for, by id.
    pub product_id: i64,
    /// Its code in the copy the result carries, and its days; `None` when that copy has no
    /// such product (a smaller file was loaded since it was selected).
    pub found: Option<(u32, Vec<ProductDay>)>,
}

pub type FunnelOutput = Computed<EventFrame, FunnelResult>;
pub type CartOutput = Computed<EventFrame, CartResult>;
pub type ForecastOutput = Computed<EventFrame, ForecastResult>;
pub type ProductOutput = Computed<EventFrame, ProductHistory>;
pub type SalesOutput = Computed<EventFrame, Vec<ProductSales>>;

/// Memory live mode's next append writes into ([`EventFrame::appended`]): a copy of the events
/// made when live mode starts, then each time the copy before the current one, once no result
/// on screen reads it any more. What makes an append cost its new rows rather than a new 20M-row
/// frame (0.3 s of page faults); the price is a second copy's memory while live mode runs.
#[derive(Default)]
enum Spare {
    #[default]
    None,
    Making(Job<EventFrame>),
    Retired(Arc<EventFrame>),
}

impl Spare {
    /// The spare, if it is ready and nothing else holds it.
    fn take(&mut self) -> Option<EventFrame> {
        match std::mem::take(self) {
            Spare::Retired(frame) => Arc::try_unwrap(frame).ok(),
            Spare::Making(job) if job.is_finished() => job.join().ok(),
            making @ Spare::Making(_) => {
                *self = making;
                None
            }
            Spare::None => None,
        }
    }
}

/// The last live append: which copy it made from which, and what it changed (what lets the
/// funnel on screen be updated rather than computed again).
struct LastAppend {
    before: u64,
    after: u64,
    appended: Arc<Appended>,
}

/// Which results the panel asked for since the last poll: results it did not ask for (hidden
/// tabs) are dropped when an append lands, so they do not keep the old copy alive.
#[derive(Default, Clone, Copy)]
struct Asked {
    funnel: bool,
    carts: bool,
    forecast: bool,
    product: bool,
    sales: bool,
}

#[derive(Default)]
pub struct EventModels {
    pub frame: Option<Versioned<EventFrame>>,
    /// The copy on its way, and the save it needs when the cache lags behind it (a copy read
    /// from the workspace; never one read from a file or caught up live).
    frame_job: CopyJob<Option<LoadedEvents>>,
    /// Live mode's append of new events to the copy: the id of the copy it started from, the
    /// copy it made and what changed.
    append_job: CopyJob<(u64, EventFrame, Appended)>,
    spare: Spare,
    last_append: Option<LastAppend>,
    asked: Asked,
    cache_save: CacheSave,
    /// Where the copy shown (or on its way) came from, for the panel's note.
    pub source: String,
    /// The workspace the copy was read from (product names are read from it too).
    workspace: Option<PathBuf>,
    /// The copy shown was built by the import that is about to be announced: that import
    /// needs no reload.
    adopted_import: bool,
    pub funnel_settings: FunnelSettings,
    pub cart_settings: CartSettings,
    pub funnel: Latest<(u64, Filters, FunnelSettings), FunnelOutput>,
    pub carts: Latest<(u64, Filters, CartSettings, i64), CartOutput>,
    pub forecast: Latest<(u64, Filters), ForecastOutput>,
    /// Keyed on the product's id (not its code, which differs between copies).
    pub product_days: Latest<(u64, Filters, i64), ProductOutput>,
    /// Sales per product over the last 24 hours of data (live mode).
    pub sales: Latest<u64, SalesOutput>,
    /// The order lines' customers the events cover, keyed on both copies' ids.
    pub coverage: Latest<(u64, u64), funnel::Coverage>,
    /// Product names by id for the copy's workspace (the events' own names, else the product
    /// table's), keyed on the copy (a product import reads the copy again).
    pub names: Latest<u64, ProductNames>,
    pub watch: Option<Watch>,
    pub watch_error: Option<String>,
}

impl EventModels {
    fn start_load(
        &mut self,
        name: &str,
        source: String,
        load: impl FnOnce(&JobContext) -> Result<Option<LoadedEvents>, JobError> + Send + 'static,
    ) -> JobMonitor {
        self.source = source;
        self.append_job.cancel();
        self.frame_job.start(name, load)
    }

    /// Reads the workspace's events into memory (after opening or changing it).
    pub fn reload(&mut self, workspace: PathBuf) -> JobMonitor {
        self.workspace = Some(workspace.clone());
        self.start_load("load events", "the workspace".into(), load_from_workspace(workspace))
    }

    /// Takes over a load of the workspace's events started before the window existed
    /// ([`load_from_workspace`], when the window opens on the Funnel) from `workspace`.
    pub fn adopt_load(&mut self, job: Job<Option<LoadedEvents>>, workspace: Option<PathBuf>) -> JobMonitor {
        self.source = "the workspace".into();
        self.workspace = workspace;
        self.frame_job.adopt(job)
    }

    /// Loads the workspace's events unless a copy is shown or on its way: the family is made
    /// when the Funnel panel first asks, so that is when the copy loads (beside the listing,
    /// not after it: the listing counts every table's rows, which takes longer).
    pub fn ensure_loaded(&mut self, data: &WorkspaceData) -> Option<JobMonitor> {
        if self.frame.is_some() || self.frame_job.running() || data.building_demo {
            return None;
        }
        data.path.clone().map(|path| self.reload(path))
    }

    /// After live mode appended rows: adds just the new rows to the copy, into the spare when
    /// it is free (or reloads the copy, when it came from a file rather than the workspace).
    fn catch_up(&mut self, workspace: PathBuf) -> JobMonitor {
        let Some(current) = self.frame.clone().filter(|f| f.data.workspace_rowid.is_some()) else {
            return self.reload(workspace);
        };
        let spare = self.spare.take();
        self.append_job.start("add new events", move |ctx| {
            let conn = workspace::open_read_only(&workspace)?;
            let (frame, appended) = workspace::copies::extend_events(&current.data, spare, &conn, ctx)?
                .ok_or_else(|| JobError::Failed("the events copy did not come from the workspace".into()))?;
            Ok((current.id, frame, appended))
        })
    }

    /// Starts making the spare live mode's appends write into, from the current copy.
    fn make_spare(&mut self) -> Option<JobMonitor> {
        let frame = self.frame.clone().filter(|f| f.data.workspace_rowid.is_some())?;
        let job = Job::spawn("prepare live mode", move |_| Ok(frame.data.spare()));
        let monitor = job.monitor();
        self.spare = Spare::Making(job);
        Some(monitor)
    }

    /// Reads a REES46 CSV straight into memory while the import writes it to the workspace, so
    /// the funnel shows before the write finishes (the workspace copy replaces it afterwards).
    pub fn load_csv_first(&mut self, file: PathBuf) -> JobMonitor {
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        self.start_load(
            "read events file into memory",
            format!("{name} (read directly; the workspace import is still running)"),
            move |ctx| Ok(Some((EventFrame::from_rees46_csv(&file, ctx)?, None))),
        )
    }

    /// Shows the copy an import of `workspace` built from the rows it wrote (instead of reading
    /// them back), maybe before the import has committed them.
    pub fn show_imported(&mut self, frame: Arc<EventFrame>, workspace: PathBuf) {
        self.frame_job.cancel();
        self.append_job.cancel();
        self.source = "the workspace".into();
        self.workspace = Some(workspace);
        self.adopted_import = true;
        self.frame = Some(Versioned::shared(frame));
        self.last_append = None;
    }

    /// Saves an import's copy (shown by [`EventModels::show_imported`]) for a fast reopen, once
    /// its import has committed.
    pub fn save_imported(&mut self, frame: Arc<EventFrame>, workspace: PathBuf) -> JobMonitor {
        // Product names read while the rows were still being saved miss this import's names
        // (the events' own): read them again now they are in, with the forecast named by them.
        self.names.clear();
        self.forecast.clear();
        self.cache_save.start("save events for a fast reopen", move |_| Ok(workspace::cache::save_events_as_current(&workspace, &frame)?))
    }

    /// Whether the copy shown (or on its way) may not match the workspace: read straight from a
    /// file whose import might yet fail.
    fn unconfirmed(&self) -> bool {
        self.frame_job.running() || self.frame.as_ref().is_some_and(|f| f.data.workspace_rowid.is_none())
    }

    pub fn loading(&self) -> bool {
        self.frame_job.running() || self.append_job.running()
    }

    /// The funnel for the copy shown. Just after a live append, the funnel on screen (the same
    /// filters and settings, on the copy before) is updated with the sessions the append
    /// touched rather than counted again.
    pub fn request_funnel(&mut self, filters: &Filters) -> Option<JobMonitor> {
        self.asked.funnel = true;
        let frame = self.frame.clone()?;
        let settings = self.funnel_settings.clone();
        let key = (frame.id, filters.clone(), settings.clone());
        let previous = self.last_append.as_ref().filter(|a| a.after == frame.id).and_then(|a| {
            let (shown_key, shown) = self.funnel.get_with_key()?;
            (*shown_key == (a.before, filters.clone(), settings.clone())).then(|| (shown.clone(), a.appended.clone()))
        });
        let filters = filters.clone();
        self.funnel.request(&key, move || {
            Job::spawn("compute funnel", move |ctx| {
                if let Some((shown, appended)) = previous {
                    if let Some(result) = funnel::update(&shown.result, &shown.input, &frame.data, &appended, &filters, ctx)? {
                        return Ok(Computed { input: frame.data, result });
                    }
                }
                let result = funnel::compute(&frame.data, &filters, &settings, ctx)?;
                Ok(Computed { input: frame.data, result })
            })
        })
    }

    /// Which share of the order lines' customers the events cover (none without order lines).
    pub fn request_coverage(&mut self, orders: Option<&Versioned<crate::analytics::order_frame::OrderFrame>>) -> Option<JobMonitor> {
        let (events, orders) = (self.frame.clone()?, orders?.clone());
        self.coverage.request(&(events.id, orders.id), move || {
            Job::spawn("events' coverage of customers", move |_| {
                funnel::customer_coverage(&events.data, &orders.data).map_err(|e| JobError::Failed(e.to_string()))
            })
        })
    }

    /// Abandonment as of now: in live mode the wall clock moves sessions past their expiry, so
    /// the key includes the current 10-second tick.
    pub fn request_carts(&mut self, filters: &Filters) -> Option<JobMonitor> {
        self.asked.carts = true;
        let frame = self.frame.clone()?;
        let settings = self.cart_settings.clone();
        let now = self.watch.as_ref().map(|_| carts::live_now(&frame.data) / 10 * 10);
        let key = (frame.id, filters.clone(), settings.clone(), now.unwrap_or(0));
        let filters = filters.clone();
        self.carts.request(&key, move || {
            Job::spawn("find abandoned carts", move |_| {
                let result = carts::compute(&frame.data, &filters, &settings, now);
                Ok(Computed { input: frame.data, result })
            })
        })
    }

    /// The demand forecast, named with the copy's product names ([`Self::request_names`], asked
    /// for first while they are on their way).
    pub fn request_forecast(&mut self, filters: &Filters) -> Option<JobMonitor> {
        self.asked.forecast = true;
        let frame = self.frame.clone()?;
        let names: Arc<ProductNames> = match self.names_workspace(&frame) {
            None => Arc::default(),
            Some(_) => match self.names.get_for(&frame.id) {
                Some(names) => names.clone(),
                // Names that could not be read leave the products by id, not the forecast undone.
                None if self.names.error_for(&frame.id).is_some() => Arc::default(),
                None => return self.request_names(),
            },
        };
        let key = (frame.id, filters.clone());
        let filters = filters.clone();
        self.forecast.request(&key, move || {
            Job::spawn("forecast demand", move |_| {
                let result = forecast::compute(&frame.data, &filters, &names).map_err(JobError::Failed)?;
                Ok(Computed { input: frame.data, result })
            })
        })
    }

    /// The workspace `frame`'s product names are read from: none for a copy read straight from
    /// a file.
    fn names_workspace(&self, frame: &Versioned<EventFrame>) -> Option<PathBuf> {
        self.workspace.clone().filter(|_| frame.data.workspace_rowid.is_some())
    }

    /// Product names for the copy on screen (the events' own names, else the product table's).
    pub fn request_names(&mut self) -> Option<JobMonitor> {
        let frame = self.frame.clone()?;
        let workspace = self.names_workspace(&frame)?;
        self.names.request(&frame.id, move || {
            Job::spawn("product names", move |ctx| Ok(workspace::copies::product_names(&workspace::open_read_only(&workspace)?, ctx)?))
        })
    }

    /// The name of the product with this id, when the workspace has one.
    pub fn product_name(&self, id: i64) -> Option<&str> {
        self.names.get()?.get(&id).map(String::as_str)
    }

    /// The daily history of the product with this id.
    pub fn request_product(&mut self, filters: &Filters, product_id: i64) -> Option<JobMonitor> {
        self.asked.product = true;
        let frame = self.frame.clone()?;
        let key = (frame.id, filters.clone(), product_id);
        let filters = filters.clone();
        self.product_days.request(&key, move || {
            Job::spawn("product history", move |_| {
                let data = &frame.data;
                let code = data.products.iter().position(|p| p.id == product_id).map(|code| code as u32);
                let found = code.map(|code| (code, forecast::product_days(data, &filters, code)));
                Ok(Computed { input: frame.data, result: ProductHistory { product_id, found } })
            })
        })
    }

    /// Sales per product over the last 24 hours of events.
    pub fn request_sales(&mut self) -> Option<JobMonitor> {
        self.asked.sales = true;
        let frame = self.frame.clone()?;
        self.sales.request(&frame.id, move || {
            Job::spawn("sales per product", move |_| {
                let since = frame.data.time_span().map_or(0, |(_, last)| last - 86_400);
                let result = forecast::sales_since(&frame.data, since);
                Ok(Computed { input: frame.data, result })
            })
        })
    }

    /// Starts live mode on `target` (a file or a folder), appending to `workspace`.
    pub fn start_watch(&mut self, workspace: PathBuf, target: PathBuf) -> Vec<JobMonitor> {
        self.stop_watch();
        self.watch_error = None;
        let spare = self.make_spare();
        let watched = target.clone();
        let job = Job::spawn("live mode: watching", move |ctx| {
            let mut ws = crate::workspace::Workspace::open(&workspace)?;
            let mut watcher = crate::import::watch::Watcher::new(&watched);
            ctx.set_message(format!("watching {}", watched.display()));
            let mut total = 0u64;
            loop {
                let appended = watcher.poll(ws.conn_mut())?;
                total += appended.rows;
                ctx.set_done(total);
                // Sleep in short steps so Stop answers at once.
                for _ in 0..20 {
                    if ctx.is_cancelled() {
                        watcher.finish(ws.conn())?;
                        return Ok(total);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        let monitor = job.monitor();
        self.watch = Some(Watch { target, job, started: Instant::now(), seen_rows: 0 });
        spare.into_iter().chain([monitor]).collect()
    }

    pub fn stop_watch(&mut self) {
        if let Some(watch) = &self.watch {
            watch.job.cancel();
        }
        // Without appends to come, the spare is only memory.
        self.spare = Spare::None;
    }

    /// A live append landed: the copy it made is shown, the copy before becomes the next
    /// append's spare, and results the panel did not ask for lately (hidden tabs) are dropped
    /// rather than keep that copy alive.
    fn land_append(&mut self, from: u64, frame: EventFrame, appended: Appended) {
        // A copy loaded since the append started wins; the append is dropped.
        if self.frame.as_ref().is_none_or(|f| f.id != from) {
            return;
        }
        let Some(before) = self.frame.take() else { return };
        let after = Versioned::new(frame);
        self.last_append = Some(LastAppend { before: before.id, after: after.id, appended: Arc::new(appended) });
        self.frame = Some(after);
        if self.watch.is_some() {
            self.spare = Spare::Retired(before.data);
        }
        let asked = self.asked;
        if !asked.funnel {
            self.funnel.clear();
        }
        if !asked.carts {
            self.carts.clear();
        }
        if !asked.forecast {
            self.forecast.clear();
        }
        if !asked.product {
            self.product_days.clear();
        }
        if !asked.sales {
            self.sales.clear();
        }
    }

    fn clear_results(&mut self) {
        self.funnel.clear();
        self.carts.clear();
        self.forecast.clear();
        self.product_days.clear();
        self.sales.clear();
        self.names.clear();
    }
}

impl PanelModels for EventModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        match self.frame_job.take_finished() {
            // Results of the old copy stay on screen (with the old copy) until new ones arrive.
            // A damaged file: the listing says so.
            Some(Ok(None)) => {}
            Some(Ok(Some((frame, unsaved)))) => {
                let frame = Versioned::new(frame);
                if let Some(save) = unsaved {
                    let copy = frame.data.clone();
                    let monitor = self.cache_save.start("save events for a fast reopen", move |_| Ok(save.events(&copy)?));
                    cx.track(monitor);
                }
                self.frame = Some(frame);
                self.last_append = None;
                if self.watch.is_some() {
                    // A copy of another lineage: live mode's spare is made again from it.
                    if let Some(monitor) = self.make_spare() {
                        cx.track(monitor);
                    }
                }
            }
            Some(Err(JobError::Cancelled)) => {}
            Some(Err(JobError::Failed(e))) => cx.error(format!("Could not load events: {e}")),
            None => {}
        }
        match self.append_job.take_finished() {
            Some(Ok((from, frame, appended))) => self.land_append(from, frame, appended),
            Some(Err(JobError::Cancelled)) | None => {}
            Some(Err(JobError::Failed(e))) => cx.error(format!("Could not add the new events: {e}")),
        }
        self.asked = Asked::default();
        if let Some(failure) = self.cache_save.failure() {
            cx.error(failure);
        }
        cx.report("Funnel", self.funnel.poll());
        cx.report("Abandoned carts", self.carts.poll());
        cx.report("Forecast", self.forecast.poll());
        cx.report("Product", self.product_days.poll());
        cx.report("Sales", self.sales.poll());
        cx.report("Coverage", self.coverage.poll());
        cx.report("Product names", self.names.poll());
        let Some(watch) = &mut self.watch else { return };
        let rows = watch.job.progress().done;
        let appended = rows > watch.seen_rows && !self.frame_job.running() && !self.append_job.running();
        if appended {
            watch.seen_rows = rows;
        }
        if let Some(result) = watch.job.try_take() {
            if let Err(JobError::Failed(e)) = result {
                cx.error(format!("Live mode stopped: {e}"));
                self.watch_error = Some(e);
            }
            self.watch = None;
        }
        if let Some(path) = cx.data.path.clone().filter(|_| appended) {
            // Live mode added rows: the copy catches up (the shown one stays until it is ready).
            let monitor = self.catch_up(path);
            cx.track(monitor);
            cx.listing_changed();
        }
    }

    fn data_changed(&mut self, change: &DataChange, cx: &mut PollContext<'_>) {
        match change {
            DataChange::Workspace => {
                self.stop_watch();
                self.frame_job.cancel();
                self.append_job.cancel();
                self.frame = None;
                self.last_append = None;
                self.clear_results();
            }
            // A copy read straight from an events file is replaced by the workspace's own,
            // whether its import succeeded or not. A product table fills the events' categories
            // and brands: the copy is read again with them.
            // The import built the copy shown: nothing to read again.
            DataChange::Imported { tables } if std::mem::take(&mut self.adopted_import) && !tables.iter().any(|t| t == "products") => {}
            DataChange::Imported { tables } if tables.iter().any(|t| t == "events" || t == "products") || self.unconfirmed() => {
                if let Some(path) = cx.data.path.clone() {
                    let monitor = self.reload(path);
                    cx.track(monitor);
                }
            }
            DataChange::Imported { .. } | DataChange::OrderLines => {}
        }
    }

    fn busy(&self) -> bool {
        self.frame_job.running()
            || self.append_job.running()
            || self.funnel.is_running()
            || self.carts.is_running()
            || self.forecast.is_running()
            || self.product_days.is_running()
            || self.names.is_running()
            || self.sales.is_running()
    }
}
