//! What panels draw from: the workspace data the shell loads (the listing and the order-lines
//! copy), and one models type per panel family (`OverviewModels`, `CustomerModels`,
//! `EventModels`, ...) that owns its inputs, its jobs and its latest results.
//!
//! Families live in [`Models`], a map by type: a panel asks for `cx.models.get::<MyModels>()`
//! and gets the one instance, made on first use. Adding a family therefore needs no list to edit;
//! the shell polls and notifies every family through the [`PanelModels`] trait.

use std::any::Any;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::analytics::order_frame::OrderFrame;
use crate::jobs::{Job, JobContext, JobError, JobMonitor, JobResult};
use crate::workspace::snapshot::WorkspaceSnapshot;

/// An in-memory copy of workspace data, with an id no other copy made by this process has.
/// Results key on the id (never on an address, which a later copy may reuse) and carry the
/// `Arc`, so a result is always read against the copy it was computed from.
pub struct Versioned<T> {
    pub id: u64,
    pub data: Arc<T>,
}

impl<T> Clone for Versioned<T> {
    fn clone(&self) -> Self {
        Self { id: self.id, data: self.data.clone() }
    }
}

impl<T> Versioned<T> {
    pub fn new(data: T) -> Self {
        Self::shared(Arc::new(data))
    }

    /// A copy already shared (one an import built), under a new id.
    pub fn shared(data: Arc<T>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), data }
    }
}

/// Saving an in-memory copy into the workspace's cache (`workspace::cache`) once it is on
/// screen, so the next open reads it back in a fraction of the time. At most one runs per copy;
/// a failure costs only speed, and is said once.
#[derive(Default)]
pub struct CacheSave {
    job: Option<Job<()>>,
}

impl CacheSave {
    pub fn start(&mut self, name: &str, save: impl FnOnce(&JobContext) -> JobResult<()> + Send + 'static) -> JobMonitor {
        let job = Job::spawn(name, save);
        let monitor = job.monitor();
        // An earlier save still running finishes on its own: both write whole folders.
        self.job = Some(job);
        monitor
    }

    /// Why the last save failed, once it has.
    pub fn failure(&mut self) -> Option<String> {
        match crate::jobs::take_finished(&mut self.job)? {
            Err(JobError::Failed(e)) => Some(format!("Could not save the copy for a faster next open: {e}")),
            Ok(()) | Err(JobError::Cancelled) => None,
        }
    }
}

/// A job body that reads `workspace`'s in-memory copy through its cache (`load`:
/// `cache::load_order_lines` or `cache::load_events`), with the save the cache needs when it
/// lags. `None`: the file is damaged, which the listing reports (with the way to recover): no
/// copy, no second message.
pub fn load_copy<F: Send + 'static>(
    workspace: PathBuf,
    load: fn(&std::path::Path, &JobContext) -> Result<crate::workspace::cache::Loaded<F>, crate::workspace::copies::CopyError>,
) -> impl FnOnce(&JobContext) -> JobResult<Option<(F, Option<crate::workspace::cache::PendingSave>)>> + Send + 'static {
    use crate::workspace::{self, recover::is_damage};
    move |ctx| {
        // Creates (or upgrades) the file first, as the listing's job does: whichever runs first
        // does it, the other finds it done.
        if let Err(e) = workspace::Workspace::open(&workspace) {
            return if is_damage(&e) { Ok(None) } else { Err(e.into()) };
        }
        match load(&workspace, ctx) {
            Ok(loaded) => Ok(Some(loaded.into_frame(&workspace))),
            Err(e) if is_damage(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The job that loads a family's in-memory copy: at most one runs (a newer load cancels the
/// older), and it is cancelled when the family lets it go (another workspace opened).
pub struct CopyJob<T: Send + 'static> {
    job: Option<Job<T>>,
}

impl<T: Send + 'static> Default for CopyJob<T> {
    fn default() -> Self {
        Self { job: None }
    }
}

impl<T: Send + 'static> CopyJob<T> {
    /// Starts loading, cancelling a load still on its way.
    pub fn start(&mut self, name: &str, load: impl FnOnce(&JobContext) -> JobResult<T> + Send + 'static) -> JobMonitor {
        self.cancel();
        let job = Job::spawn(name, load);
        let monitor = job.monitor();
        self.job = Some(job);
        monitor
    }

    /// Takes over a load started elsewhere (before the window existed), cancelling one on its way.
    pub fn adopt(&mut self, job: Job<T>) -> JobMonitor {
        self.cancel();
        let monitor = job.monitor();
        self.job = Some(job);
        monitor
    }

    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// The workspace to load from when a family's copy is needed: none is shown (`have_copy`)
    /// or on its way, and the workspace has been read (the family is made when its panel first
    /// asks, so that is when its copy loads).
    pub fn wanted_from(&self, have_copy: bool, data: &WorkspaceData) -> Option<PathBuf> {
        if have_copy || self.running() || data.snapshot.is_none() {
            return None;
        }
        data.path.clone()
    }

    /// The load's outcome once it has finished.
    pub fn take_finished(&mut self) -> Option<JobResult<T>> {
        crate::jobs::take_finished(&mut self.job)
    }

    pub fn cancel(&mut self) {
        if let Some(job) = self.job.take() {
            job.cancel();
        }
    }
}

impl<T: Send + 'static> Drop for CopyJob<T> {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A result together with the input it was computed from. Panels look names and ids up in
/// `input`, never in "the current copy": a result and its codes always agree, whatever copy
/// arrived since.
pub struct Computed<I, R> {
    pub input: Arc<I>,
    pub result: R,
}

impl<I, R> std::ops::Deref for Computed<I, R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.result
    }
}

/// The workspace as the shell has loaded it; shared by every panel and family.
#[derive(Default)]
pub struct WorkspaceData {
    pub path: Option<PathBuf>,
    /// Tables, import history, saved queries and schema (re-read after every change).
    pub snapshot: Option<Arc<WorkspaceSnapshot>>,
    /// The order lines in memory, for the Overview and the customer models.
    pub orders: Option<Versioned<OrderFrame>>,
    /// The demo workspace is being built (panels say so instead of "loading").
    pub building_demo: bool,
}

impl WorkspaceData {
    /// What a panel waiting for the order lines should say.
    pub fn orders_waiting_text(&self) -> &'static str {
        if self.building_demo {
            "Building the demo workspace…"
        } else {
            "Loading order lines…"
        }
    }
}

/// What changed underneath the families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChange {
    /// Another workspace was opened: forget everything.
    Workspace,
    /// A new copy of the order lines arrived.
    OrderLines,
    /// Imports finished (successfully or not) into these tables.
    Imported { tables: Vec<String> },
}

impl DataChange {
    /// Whether imports into any of `tables` happened (a family whose copy reads them reloads).
    pub fn touches(&self, tables: &[&str]) -> bool {
        matches!(self, DataChange::Imported { tables: imported } if imported.iter().any(|t| tables.contains(&t.as_str())))
    }
}

/// What a family holding its own copy of `tables` does about `change`: another workspace resets
/// it (dropping the old family cancels its load); an import into one of its tables reloads it
/// with `reload`, whose job the status bar tracks.
pub fn follow_copy<F: Default>(
    family: &mut F,
    change: &DataChange,
    tables: &[&str],
    cx: &mut PollContext<'_>,
    reload: impl FnOnce(&mut F, PathBuf) -> JobMonitor,
) {
    match change {
        DataChange::Workspace => *family = F::default(),
        change if change.touches(tables) => {
            if let Some(path) = cx.data.path.clone() {
                let monitor = reload(family, path);
                cx.track(monitor);
            }
        }
        _ => {}
    }
}

/// A message for the status area.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// What a family may tell the shell while it collects finished jobs.
pub struct PollContext<'a> {
    pub data: &'a WorkspaceData,
    messages: &'a mut Vec<Message>,
    monitors: &'a mut Vec<JobMonitor>,
    listing_changed: &'a mut bool,
}

impl<'a> PollContext<'a> {
    pub fn new(
        data: &'a WorkspaceData,
        messages: &'a mut Vec<Message>,
        monitors: &'a mut Vec<JobMonitor>,
        listing_changed: &'a mut bool,
    ) -> Self {
        Self { data, messages, monitors, listing_changed }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), error: false });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), error: true });
    }

    /// Shows a failed computation's message, prefixed with what it was (`Latest::poll`'s answer).
    pub fn report(&mut self, what: &str, failure: Option<String>) {
        if let Some(e) = failure {
            self.error(format!("{what}: {e}"));
        }
    }

    /// Shows a finished chore's message (a save), or why it failed; true when it succeeded.
    pub fn chore_outcome(&mut self, outcome: Option<JobResult<String>>, failure: &str) -> bool {
        match outcome {
            Some(Ok(message)) => {
                self.info(message);
                true
            }
            Some(Err(JobError::Failed(e))) => {
                self.error(format!("{failure}: {e}"));
                false
            }
            Some(Err(JobError::Cancelled)) | None => false,
        }
    }

    /// Shows a job started while polling in the status bar.
    pub fn track(&mut self, monitor: JobMonitor) {
        self.monitors.push(monitor);
    }

    /// The workspace's tables changed (a saved query, live rows): re-read the listing.
    pub fn listing_changed(&mut self) {
        *self.listing_changed = true;
    }
}

/// A family whose one result is a figure of in-memory copies and the filters (the Overview's
/// of the order lines, the findings' of the order lines and the events): the newest request's job
/// (a newer request cancels it) and every finished result for the current copies, so going back
/// to a filter set is instant. `R` names the family in messages ([`CopyFigures`]); a panel adds
/// its `request` as an inherent impl.
pub struct CopyResults<R> {
    results: crate::jobs::Keyed<(Copies, crate::analytics::Filters), R>,
}

/// The ids of the copies a result was computed from: the order lines', and the events' where
/// the result reads them too.
pub type Copies = (u64, Option<u64>);

/// What a [`CopyResults`] family computes.
pub trait CopyFigures: Send + Sync + 'static {
    /// The status bar's message when a computation fails: "Overview failed".
    const FAILED: &'static str;
    /// Tables the job reads from the workspace itself (not from a copy whose id keys the
    /// result): an import into one of them makes every result stale.
    const READS_TABLES: &'static [&'static str] = &[];
}

impl<R> Default for CopyResults<R> {
    fn default() -> Self {
        Self { results: Default::default() }
    }
}

impl<R: CopyFigures> CopyResults<R> {
    /// Makes sure the result for `filters` on `copies` is known or on its way; `spawn` starts its
    /// job when it is not.
    pub fn request_with(
        &mut self,
        copies: Copies,
        filters: &crate::analytics::Filters,
        spawn: impl FnOnce() -> Job<R>,
    ) -> Option<JobMonitor> {
        self.results.request(&(copies, filters.clone()), spawn)
    }

    /// The result for `filters` on `copies`, or else the last one finished (marked as not
    /// current, so the panel can say it is updating).
    pub fn shown(&self, copies: Copies, filters: &crate::analytics::Filters) -> Option<(Arc<R>, bool)> {
        self.results.shown(&(copies, filters.clone()))
    }

    /// The result last finished.
    pub fn last(&self) -> Option<Arc<R>> {
        self.results.last().cloned()
    }
}

impl<R: CopyFigures> PanelModels for CopyResults<R> {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        cx.report(R::FAILED, self.results.poll());
    }

    fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
        match change {
            // Results of the old copy are never asked for again (keys carry the copy's id).
            DataChange::OrderLines => self.results.forget_finished(),
            DataChange::Workspace => *self = Self::default(),
            change if change.touches(R::READS_TABLES) => self.results.forget_finished(),
            // Other tables do not change these figures.
            DataChange::Imported { .. } => {}
        }
    }

    fn busy(&self) -> bool {
        self.results.is_running()
    }
}

/// One panel family's models: inputs, jobs and latest results.
pub trait PanelModels: Any {
    /// Collects finished jobs; called once per frame before anything is drawn.
    fn poll(&mut self, cx: &mut PollContext<'_>);

    /// The data underneath changed: drop what is stale, reload what the family owns.
    fn data_changed(&mut self, change: &DataChange, cx: &mut PollContext<'_>);

    /// Whether any of the family's jobs is running (the window keeps repainting meanwhile).
    fn busy(&self) -> bool;
}

/// Every family's models, one instance per type, made on first use.
#[derive(Default)]
pub struct Models {
    families: Vec<Box<dyn PanelModels>>,
}

impl Models {
    /// The family of type `M`, made (with `Default`) if no panel asked for it yet.
    pub fn get<M: PanelModels + Default>(&mut self) -> &mut M {
        let index = match self.families.iter().position(|f| (f.as_ref() as &dyn Any).is::<M>()) {
            Some(index) => index,
            None => {
                self.families.push(Box::new(M::default()));
                self.families.len() - 1
            }
        };
        (self.families[index].as_mut() as &mut dyn Any).downcast_mut::<M>().expect("the family at this index has this type")
    }

    /// The family of type `M` if it exists (for reading without making one).
    pub fn find<M: PanelModels>(&self) -> Option<&M> {
        self.families.iter().find_map(|f| (f.as_ref() as &dyn Any).downcast_ref::<M>())
    }

    pub fn poll(&mut self, cx: &mut PollContext<'_>) {
        for family in &mut self.families {
            family.poll(cx);
        }
    }

    pub fn data_changed(&mut self, change: &DataChange, cx: &mut PollContext<'_>) {
        for family in &mut self.families {
            family.data_changed(change, cx);
        }
    }

    pub fn busy(&self) -> bool {
        self.families.iter().any(|f| f.busy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter {
        polls: usize,
        changes: Vec<DataChange>,
    }

    impl PanelModels for Counter {
        fn poll(&mut self, _: &mut PollContext<'_>) {
            self.polls += 1;
        }
        fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
            self.changes.push(change.clone());
        }
        fn busy(&self) -> bool {
            self.polls == 0
        }
    }

    #[test]
    fn a_family_is_made_once_and_reached_by_every_loop() {
        let mut models = Models::default();
        assert!(models.find::<Counter>().is_none());
        assert!(!models.busy(), "no family, nothing running");
        models.get::<Counter>();
        assert!(models.busy());
        let data = WorkspaceData::default();
        let (mut messages, mut monitors, mut changed) = (Vec::new(), Vec::new(), false);
        let mut cx = PollContext::new(&data, &mut messages, &mut monitors, &mut changed);
        models.poll(&mut cx);
        models.data_changed(&DataChange::OrderLines, &mut cx);
        let counter = models.get::<Counter>();
        assert_eq!((counter.polls, counter.changes.as_slice()), (1, [DataChange::OrderLines].as_slice()));
        assert!(!models.busy());
    }

    /// A newer load cancels the older, and letting the family go cancels its load.
    #[test]
    fn a_copy_job_runs_one_load_and_is_cancelled_when_dropped() {
        let wait_for_cancel = |ctx: &JobContext| -> JobResult<u32> {
            while !ctx.is_cancelled() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(JobError::Cancelled)
        };
        let mut load = CopyJob::default();
        let first = load.start("first", wait_for_cancel);
        let second = load.start("second", |_| Ok(7));
        assert!(first.is_cancelled() && !second.is_cancelled());
        while load.running() && load.take_finished().is_none() {}
        let third = load.start("third", wait_for_cancel);
        drop(load);
        assert!(third.is_cancelled());
    }

    #[test]
    fn every_copy_has_its_own_id() {
        let a = Versioned::new(1u8);
        let b = Versioned::new(1u8);
        assert_ne!(a.id, b.id);
        assert_eq!(a.clone().id, a.id);
    }
}
