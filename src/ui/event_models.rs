//! The Funnel panel's data: the in-memory copy of `events`, the latest funnel, cart and forecast
//! results, and the live-mode watch job. Results are keyed on the copy's generation, so a new
//! copy (after an import or a watched append) recomputes whatever is on screen.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analytics::carts::{self, CartResult, CartSettings};
use crate::analytics::event_frame::EventFrame;
use crate::analytics::forecast::{self, ForecastResult};
use crate::analytics::funnel::{self, FunnelResult, FunnelSettings};
use crate::analytics::Filters;
use crate::jobs::{Job, JobMonitor, Latest};
use crate::workspace;

/// A running live-mode watch.
pub struct Watch {
    pub target: PathBuf,
    pub job: Job<Result<u64, String>>,
    pub started: Instant,
    /// Rows appended as of the last copy reload.
    pub seen_rows: u64,
}

#[derive(Default)]
pub struct EventModels {
    pub frame: Option<Arc<EventFrame>>,
    /// Bumped on every new copy; part of every result key.
    generation: u64,
    frame_job: Option<Job<Result<EventFrame, String>>>,
    /// Where the shown copy came from (for the panel's note).
    pub source: String,
    pub funnel_settings: FunnelSettings,
    pub cart_settings: CartSettings,
    pub funnel: Latest<(u64, Filters, FunnelSettings), FunnelResult>,
    pub carts: Latest<(u64, Filters, CartSettings, i64), CartResult>,
    pub forecast: Latest<(u64, Filters), ForecastResult>,
    pub product_days: Latest<(u64, Filters, u32), Vec<forecast::ProductDay>>,
    /// Sales per product over the last 24 hours of data (live mode).
    pub sales: Latest<u64, Vec<forecast::ProductSales>>,
    pub watch: Option<Watch>,
    pub watch_error: Option<String>,
}

impl EventModels {
    fn start_load(
        &mut self,
        name: &str,
        source: String,
        load: impl FnOnce(&crate::jobs::JobContext) -> Result<EventFrame, String> + Send + 'static,
    ) -> JobMonitor {
        if let Some(old) = self.frame_job.take() {
            old.cancel();
        }
        let job = Job::spawn(name, load);
        let monitor = job.monitor();
        self.frame_job = Some(job);
        self.source = source;
        monitor
    }

    /// Reads the workspace's events into memory (after opening or changing it).
    pub fn reload(&mut self, workspace: PathBuf) -> JobMonitor {
        self.start_load("load events", "the workspace".into(), move |ctx| {
            let conn = workspace::open_read_only(&workspace).map_err(|e| e.to_string())?;
            EventFrame::load(&conn, ctx).map_err(|e| e.to_string())
        })
    }

    /// After live mode appended rows: adds just the new rows to the copy (or reloads it, when the
    /// copy came from a file rather than the workspace).
    pub fn catch_up(&mut self, workspace: PathBuf) -> JobMonitor {
        let Some(current) = self.frame.clone().filter(|f| f.workspace_rowid.is_some()) else { return self.reload(workspace) };
        let source = self.source.clone();
        self.start_load("add new events", source, move |ctx| {
            let conn = workspace::open_read_only(&workspace).map_err(|e| e.to_string())?;
            match current.extended(&conn, ctx).map_err(|e| e.to_string())? {
                Some(frame) => Ok(frame),
                None => EventFrame::load(&conn, ctx).map_err(|e| e.to_string()),
            }
        })
    }

    /// Reads a REES46 CSV straight into memory while the import writes it to the workspace, so
    /// the funnel shows before the write finishes (the workspace copy replaces it afterwards).
    pub fn load_csv_first(&mut self, file: PathBuf) -> JobMonitor {
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        self.start_load(
            "read events file into memory",
            format!("{name} (read directly; the workspace import is still running)"),
            move |ctx| EventFrame::from_rees46_csv(&file, ctx).map_err(|e| e.to_string()),
        )
    }

    /// Forgets everything (another workspace).
    pub fn reset(&mut self) {
        self.stop_watch();
        if let Some(job) = self.frame_job.take() {
            job.cancel();
        }
        self.frame = None;
        self.funnel.clear();
        self.carts.clear();
        self.forecast.clear();
        self.product_days.clear();
        self.sales.clear();
    }

    /// Collects finished jobs; returns errors to show, and whether the watch appended rows (so
    /// the copy should be reloaded).
    pub fn poll(&mut self) -> (Vec<String>, bool) {
        let mut errors = Vec::new();
        match crate::jobs::take_finished(&mut self.frame_job) {
            Some(Ok(frame)) => {
                self.frame = Some(Arc::new(frame));
                self.generation += 1;
            }
            Some(Err(e)) if e == "cancelled" => {}
            Some(Err(e)) => errors.push(format!("Could not load events: {e}")),
            None => {}
        }
        for (name, error) in [
            ("Funnel", self.funnel.poll()),
            ("Abandoned carts", self.carts.poll()),
            ("Forecast", self.forecast.poll()),
            ("Product", self.product_days.poll()),
            ("Sales", self.sales.poll()),
        ] {
            if let Some(e) = error {
                errors.push(format!("{name}: {e}"));
            }
        }
        let mut appended = false;
        if let Some(watch) = &mut self.watch {
            let rows = watch.job.progress().done;
            if rows > watch.seen_rows && self.frame_job.is_none() {
                watch.seen_rows = rows;
                appended = true;
            }
            if let Some(result) = watch.job.try_take() {
                if let Err(e) = crate::jobs::outcome(result) {
                    self.watch_error = Some(e.clone());
                    errors.push(format!("Live mode stopped: {e}"));
                }
                self.watch = None;
            }
        }
        (errors, appended)
    }

    pub fn busy(&self) -> bool {
        self.frame_job.is_some()
            || self.funnel.is_running()
            || self.carts.is_running()
            || self.forecast.is_running()
            || self.product_days.is_running()
            || self.sales.is_running()
    }

    /// Whether the copy shown (or on its way) may not match the workspace: read straight from a
    /// file whose import might yet fail.
    pub fn unconfirmed(&self) -> bool {
        self.frame_job.is_some() || self.frame.as_ref().is_some_and(|f| f.workspace_rowid.is_none())
    }

    pub fn loading(&self) -> bool {
        self.frame_job.is_some()
    }

    pub fn request_funnel(&mut self, filters: &Filters) -> Option<JobMonitor> {
        let frame = self.frame.clone()?;
        let settings = self.funnel_settings.clone();
        let key = (self.generation, filters.clone(), settings.clone());
        let filters = filters.clone();
        self.funnel.request(&key, move || {
            Job::spawn("compute funnel", move |ctx| funnel::compute(&frame, &filters, &settings, ctx).map_err(|e| e.to_string()))
        })
    }

    /// Abandonment as of now: in live mode the wall clock moves sessions past their expiry, so
    /// the key includes the current 10-second tick.
    pub fn request_carts(&mut self, filters: &Filters) -> Option<JobMonitor> {
        let frame = self.frame.clone()?;
        let settings = self.cart_settings.clone();
        let now = self.watch.as_ref().map(|_| carts::live_now(&frame) / 10 * 10);
        let key = (self.generation, filters.clone(), settings.clone(), now.unwrap_or(0));
        let filters = filters.clone();
        self.carts.request(&key, move || Job::spawn("find abandoned carts", move |_| Ok(carts::compute(&frame, &filters, &settings, now))))
    }

    pub fn request_forecast(&mut self, filters: &Filters) -> Option<JobMonitor> {
        let frame = self.frame.clone()?;
        let key = (self.generation, filters.clone());
        let filters = filters.clone();
        self.forecast.request(&key, move || Job::spawn("forecast demand", move |_| forecast::compute(&frame, &filters)))
    }

    pub fn request_product(&mut self, filters: &Filters, product: u32) -> Option<JobMonitor> {
        let frame = self.frame.clone()?;
        let key = (self.generation, filters.clone(), product);
        let filters = filters.clone();
        self.product_days
            .request(&key, move || Job::spawn("product history", move |_| Ok(forecast::product_days(&frame, &filters, product))))
    }

    /// Sales per product over the last 24 hours of events.
    pub fn request_sales(&mut self) -> Option<JobMonitor> {
        let frame = self.frame.clone()?;
        self.sales.request(&self.generation, move || {
            Job::spawn("sales per product", move |_| {
                let since = frame.time_span().map_or(0, |(_, last)| last - 86_400);
                Ok(forecast::sales_since(&frame, since))
            })
        })
    }

    /// Starts live mode on `target` (a file or a folder), appending to `workspace`.
    pub fn start_watch(&mut self, workspace: PathBuf, target: PathBuf) -> JobMonitor {
        self.stop_watch();
        self.watch_error = None;
        let watched = target.clone();
        let job = Job::spawn("live mode: watching", move |ctx| {
            let mut ws = crate::workspace::Workspace::open(&workspace).map_err(|e| e.to_string())?;
            let mut watcher = crate::import::watch::Watcher::new(&watched);
            ctx.set_message(format!("watching {}", watched.display()));
            let mut total = 0u64;
            loop {
                let appended = watcher.poll(ws.conn_mut()).map_err(|e| e.to_string())?;
                total += appended.rows;
                ctx.set_done(total);
                // Sleep in short steps so Stop answers at once.
                for _ in 0..20 {
                    if ctx.is_cancelled() {
                        watcher.finish(ws.conn()).map_err(|e| e.to_string())?;
                        return Ok(total);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        let monitor = job.monitor();
        self.watch = Some(Watch { target, job, started: Instant::now(), seen_rows: 0 });
        monitor
    }

    pub fn stop_watch(&mut self) {
        if let Some(watch) = &self.watch {
            watch.job.cancel();
        }
    }
}
