//! The one place that owns threads.
//!
//! A [`Job`] runs a closure on its own thread and exposes what a user needs to see and do while
//! it runs: its name, its progress (done / total and a message) and a cancel button. The CLI draws
//! the progress with indicatif; the GUI polls the same handle every frame. Work inside a job that
//! wants a second core uses [`pipeline`], which keeps even that thread spawn here. Network I/O
//! runs on the one tokio [`runtime`], which jobs wait on with [`block_on`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Returned by work that noticed its job was cancelled. Error types of work that can be
/// cancelled wrap it as their source (`Cancelled(#[from] Cancelled)`), so [`JobError`] can tell a
/// cancel from a failure by type, wherever in the chain it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// How a job ended when it produced no result: the user (or a newer request) cancelled it, or it
/// failed with a message for the user. A panic inside a job is a failure, too.
///
/// Deliberately not a `std::error::Error`: that keeps the blanket conversion below coherent, so
/// `?` turns any error inside a job into the right variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    Cancelled,
    Failed(String),
}

/// What a job's work returns.
pub type JobResult<T> = Result<T, JobError>;

impl JobError {
    /// A failure with this message (for errors that are plain text).
    pub fn failed(message: impl std::fmt::Display) -> Self {
        JobError::Failed(message.to_string())
    }

    /// The message to show, or `None` for a cancel (which needs no message).
    pub fn message(&self) -> Option<&str> {
        match self {
            JobError::Cancelled => None,
            JobError::Failed(message) => Some(message),
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Cancelled => f.write_str("cancelled"),
            JobError::Failed(message) => f.write_str(message),
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for JobError {
    /// A cancel if [`Cancelled`] is anywhere in the error's source chain, else a failure.
    fn from(error: E) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(e) = cause {
            if e.is::<Cancelled>() {
                return JobError::Cancelled;
            }
            cause = e.source();
        }
        let hint = FAILURE_HINT.get().and_then(|hint| hint(&error)).unwrap_or_default();
        JobError::Failed(format!("{error}{hint}"))
    }
}

/// What to add to a failure's message, given the error: set by a layer that can say more than
/// the error itself (the workspace layer: "the workspace file is damaged: recover it…"), so
/// that this module needs no knowledge of the layers above it.
pub type FailureHint = fn(&(dyn std::error::Error + 'static)) -> Option<&'static str>;

static FAILURE_HINT: std::sync::OnceLock<FailureHint> = std::sync::OnceLock::new();

/// Sets the [`FailureHint`] every job failure's message is given (the first one set stays).
pub fn hint_failures_with(hint: FailureHint) {
    let _ = FAILURE_HINT.set(hint);
}

thread_local! {
    /// The job running on this thread, if any.
    static CURRENT_JOB: std::cell::RefCell<Option<JobContext>> = const { std::cell::RefCell::new(None) };
}

/// Whether the job running on this thread has been asked to stop. Every workspace connection's
/// progress handler asks this (`workspace::configure`), so a long SQLite statement (an endless
/// recursive query, a report over a huge table) stops within a fraction of a second of a cancel:
/// Ctrl-C and SIGTERM in a command, Cancel in the window.
pub fn current_job_cancelled() -> bool {
    CURRENT_JOB.with(|current| current.borrow().as_ref().is_some_and(JobContext::is_cancelled))
}

/// Shared view of a job's progress and cancel flag; cheap to clone into worker code.
#[derive(Clone, Default)]
pub struct JobContext {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    message: Mutex<String>,
}

/// A snapshot of a job's progress, for drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub done: u64,
    /// 0 when the amount of work is not known yet.
    pub total: u64,
    pub message: String,
}

impl Progress {
    /// Fraction in 0..=1, or `None` while the total is unknown.
    pub fn fraction(&self) -> Option<f32> {
        (self.total > 0).then(|| (self.done as f64 / self.total as f64).clamp(0.0, 1.0) as f32)
    }
}

impl JobContext {
    /// A context not attached to any job: for running job code inline (tests, benchmarks).
    pub fn detached() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the user asked to stop; call it between units of work.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn set_total(&self, total: u64) {
        self.inner.total.store(total, Ordering::Relaxed);
    }

    pub fn set_done(&self, done: u64) {
        self.inner.done.store(done, Ordering::Relaxed);
    }

    pub fn set_message(&self, message: impl Into<String>) {
        if let Ok(mut slot) = self.inner.message.lock() {
            *slot = message.into();
        }
    }

    pub fn progress(&self) -> Progress {
        Progress {
            done: self.inner.done.load(Ordering::Relaxed),
            total: self.inner.total.load(Ordering::Relaxed),
            message: self.inner.message.lock().map(|m| m.clone()).unwrap_or_default(),
        }
    }
}

/// A running (or finished) background job producing `T`.
pub struct Job<T> {
    /// Name, progress, cancel flag and start time: everything but the result.
    monitor: JobMonitor,
    handle: Option<JoinHandle<JobResult<T>>>,
}

/// What a job list shows about a job: its name, progress and whether it is still running, with
/// a cancel button. Cheap to clone; holds no result.
#[derive(Clone)]
pub struct JobMonitor {
    name: Arc<str>,
    context: JobContext,
    started: Instant,
    finished: Arc<AtomicBool>,
}

impl JobMonitor {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn progress(&self) -> Progress {
        self.context.progress()
    }

    pub fn cancel(&self) {
        self.context.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.context.is_cancelled()
    }

    pub fn is_running(&self) -> bool {
        !self.finished.load(Ordering::Relaxed)
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// Marks a job finished when its thread ends, panic or not.
struct FinishedOnDrop(Arc<AtomicBool>);

impl Drop for FinishedOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread. The closure receives the job's context for progress and
    /// cancellation; `?` inside it turns any error into [`JobError`] (a cancel stays a cancel).
    pub fn spawn(name: impl Into<String>, work: impl FnOnce(&JobContext) -> JobResult<T> + Send + 'static) -> Self {
        let name = name.into();
        let context = JobContext::default();
        let worker_context = context.clone();
        let finished = Arc::new(AtomicBool::new(false));
        let guard = FinishedOnDrop(finished.clone());
        let handle = std::thread::Builder::new()
            .name(format!("job: {name}"))
            .spawn(move || {
                let _guard = guard;
                CURRENT_JOB.with(|current| *current.borrow_mut() = Some(worker_context.clone()));
                match work(&worker_context) {
                    // A statement SQLite stopped because the job was cancelled (see
                    // `current_job_cancelled`) fails with its own error: it is a cancel.
                    Err(JobError::Failed(_)) if worker_context.is_cancelled() => Err(JobError::Cancelled),
                    other => other,
                }
            })
            .expect("the OS refused to start a thread");
        let monitor = JobMonitor { name: name.as_str().into(), context, started: Instant::now(), finished };
        Self { monitor, handle: Some(handle) }
    }

    /// A handle for job lists (the status bar) that can show progress and cancel.
    pub fn monitor(&self) -> JobMonitor {
        self.monitor.clone()
    }

    pub fn name(&self) -> &str {
        self.monitor.name()
    }

    pub fn context(&self) -> &JobContext {
        &self.monitor.context
    }

    pub fn progress(&self) -> Progress {
        self.monitor.progress()
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.monitor.elapsed()
    }

    /// Asks the job to stop; it notices at its next check and ends with `JobError::Cancelled`.
    pub fn cancel(&self) {
        self.monitor.cancel();
    }

    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// The job's outcome once it has finished, without blocking; `None` while it runs or after
    /// the outcome was taken. A panic inside the job becomes a failure naming the job.
    pub fn try_take(&mut self) -> Option<JobResult<T>> {
        if !self.handle.as_ref()?.is_finished() {
            return None;
        }
        Some(self.join_inner())
    }

    /// Waits for the job to finish.
    pub fn join(mut self) -> JobResult<T> {
        self.join_inner()
    }

    fn join_inner(&mut self) -> JobResult<T> {
        let Some(handle) = self.handle.take() else {
            return Err(JobError::Failed(format!("internal error in job '{}': result already taken", self.name())));
        };
        handle.join().unwrap_or_else(|payload| {
            Err(JobError::Failed(format!("internal error in job '{}': {}", self.name(), panic_message(payload.as_ref()))))
        })
    }
}

/// The outcome of the job in `slot` once it has finished, emptying the slot; `None` while it
/// runs or when there is none.
pub fn take_finished<T: Send + 'static>(slot: &mut Option<Job<T>>) -> Option<JobResult<T>> {
    let result = slot.as_mut()?.try_take()?;
    *slot = None;
    Some(result)
}

/// Calls running under [`catch_panic`] right now (on any thread).
static EXPECTED_PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs `work`, turning a panic inside it into `Err(message)`. For third-party code that panics
/// on malformed input it was handed (polars' Parquet reader on a damaged file) instead of
/// returning an error: the caller reports that input as unreadable. Worker threads `work` uses
/// (polars' pool) pass their panic back to it.
pub fn catch_panic<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    EXPECTED_PANICS.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    EXPECTED_PANICS.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| panic_message(payload.as_ref()))
}

/// Whether a panic now is (probably) one that [`catch_panic`] turns into an error: the panic
/// hook stays quiet about those rather than asking the user to report a bug.
pub fn panic_is_expected() -> bool {
    EXPECTED_PANICS.load(Ordering::SeqCst) > 0
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// The result of a computation for the latest inputs: when the inputs (`key`) change, the
/// running job for the old inputs is cancelled and a new one starts; meanwhile the previous
/// result stays available, so panels keep drawing something sensible.
pub struct Latest<K, T> {
    shown: Option<(K, Arc<T>)>,
    running: Option<(K, Job<T>)>,
    error: Option<(K, String)>,
}

impl<K, T> Default for Latest<K, T> {
    fn default() -> Self {
        Self { shown: None, running: None, error: None }
    }
}

impl<K: PartialEq + Clone, T: Send + 'static> Latest<K, T> {
    /// Makes sure the result for `key` is shown or on its way. `spawn` starts the job; the
    /// returned monitor (for a newly started job) goes to the status bar.
    pub fn request(&mut self, key: &K, spawn: impl FnOnce() -> Job<T>) -> Option<JobMonitor> {
        let shown = self.shown.as_ref().is_some_and(|(k, _)| k == key);
        let running = self.running.as_ref().is_some_and(|(k, _)| k == key);
        if shown || running || self.error.as_ref().is_some_and(|(k, _)| k == key) {
            return None;
        }
        if let Some((_, old)) = self.running.take() {
            old.cancel();
        }
        let job = spawn();
        let monitor = job.monitor();
        self.running = Some((key.clone(), job));
        Some(monitor)
    }

    /// Collects a finished job; returns its error message, once, if it failed.
    pub fn poll(&mut self) -> Option<String> {
        let (_, job) = self.running.as_mut()?;
        let result = job.try_take()?;
        let (key, _) = self.running.take()?;
        match result {
            Ok(result) => {
                self.shown = Some((key, Arc::new(result)));
                self.error = None;
                None
            }
            // A cancelled run is no answer: the next request for these inputs starts again.
            Err(JobError::Cancelled) => None,
            Err(JobError::Failed(message)) => {
                self.error = Some((key, message.clone()));
                Some(message)
            }
        }
    }

    /// The newest finished result (perhaps for older inputs while a new one is computed).
    pub fn get(&self) -> Option<&Arc<T>> {
        self.shown.as_ref().map(|(_, t)| t)
    }

    /// The newest finished result with the inputs it is for.
    pub fn get_with_key(&self) -> Option<(&K, &Arc<T>)> {
        self.shown.as_ref().map(|(k, t)| (k, t))
    }

    /// The result only if it is for `key`.
    pub fn get_for(&self, key: &K) -> Option<&Arc<T>> {
        self.shown.as_ref().filter(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// The error for `key`, if its computation failed.
    pub fn error_for(&self, key: &K) -> Option<&str> {
        self.error.as_ref().filter(|(k, _)| k == key).map(|(_, e)| e.as_str())
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Forgets a failure, so the next request for its inputs runs again (Retry).
    pub fn forget_error(&mut self) {
        self.error = None;
    }

    /// Forgets everything (the data underneath changed).
    pub fn clear(&mut self) {
        if let Some((_, job)) = self.running.take() {
            job.cancel();
        }
        self.shown = None;
        self.error = None;
    }
}

/// [`Latest`] that also keeps every result it finished, by its inputs: going back to inputs
/// seen before (a filter undone, another table picked and picked back) shows their result at
/// once instead of computing it again. Keys carry what the result was computed from (a copy's
/// id), so a result is never shown against other data.
pub struct Keyed<K, T> {
    latest: Latest<K, T>,
    finished: std::collections::HashMap<K, Arc<T>>,
}

impl<K, T> Default for Keyed<K, T> {
    fn default() -> Self {
        Self { latest: Latest::default(), finished: std::collections::HashMap::new() }
    }
}

impl<K: Eq + std::hash::Hash + Clone, T: Send + 'static> Keyed<K, T> {
    /// Whether the result for `key` is already at hand.
    pub fn has(&self, key: &K) -> bool {
        self.finished.contains_key(key)
    }

    /// Makes sure the result for `key` is at hand or on its way (see [`Latest::request`]).
    pub fn request(&mut self, key: &K, spawn: impl FnOnce() -> Job<T>) -> Option<JobMonitor> {
        if self.has(key) {
            return None;
        }
        self.latest.request(key, spawn)
    }

    /// The result for `key` (`true`: it is for these inputs), or else the newest finished one
    /// (`false`: the panel says it is updating).
    pub fn shown(&self, key: &K) -> Option<(Arc<T>, bool)> {
        match self.finished.get(key) {
            Some(result) => Some((result.clone(), true)),
            None => self.latest.get().map(|r| (r.clone(), false)),
        }
    }

    /// Collects a finished job and keeps its result; returns its error message, once.
    pub fn poll(&mut self) -> Option<String> {
        let failed = self.latest.poll();
        if let Some((key, result)) = self.latest.get_with_key() {
            self.finished.entry(key.clone()).or_insert_with(|| result.clone());
        }
        failed
    }

    /// The newest finished result, whatever its inputs.
    pub fn last(&self) -> Option<&Arc<T>> {
        self.latest.get()
    }

    pub fn error_for(&self, key: &K) -> Option<&str> {
        self.latest.error_for(key)
    }

    /// Forgets a failure, so the next request for its inputs runs again (Retry).
    pub fn forget_error(&mut self) {
        self.latest.forget_error();
    }

    pub fn is_running(&self) -> bool {
        self.latest.is_running()
    }

    /// Forgets the kept results (their data is gone) but not the newest, which panels keep
    /// drawing, marked as not current, until the next result arrives.
    pub fn forget_finished(&mut self) {
        self.finished.clear();
    }
}

/// Jobs that run one after another in the order they were asked for, never side by side: a
/// panel family's writes (an Acknowledge and its Undo land in that order, a save cannot overtake
/// the one before it).
pub struct Serial<T> {
    queue: std::collections::VecDeque<(String, SerialWork<T>)>,
    running: Option<Job<T>>,
}

type SerialWork<T> = Box<dyn FnOnce(&JobContext) -> JobResult<T> + Send>;

impl<T> Default for Serial<T> {
    fn default() -> Self {
        Self { queue: Default::default(), running: None }
    }
}

impl<T: Send + 'static> Serial<T> {
    /// Queues `work`; it starts when every job queued before it has finished.
    pub fn push(&mut self, name: impl Into<String>, work: impl FnOnce(&JobContext) -> JobResult<T> + Send + 'static) {
        self.queue.push_back((name.into(), Box::new(work)));
    }

    /// Collects the running job's outcome when it has finished and starts the next one; returns
    /// the outcome (in the order queued) and the monitor of a job just started.
    pub fn poll(&mut self) -> (Option<JobResult<T>>, Option<JobMonitor>) {
        let outcome = take_finished(&mut self.running);
        let mut started = None;
        if self.running.is_none() {
            if let Some((name, work)) = self.queue.pop_front() {
                let job = Job::spawn(name, work);
                started = Some(job.monitor());
                self.running = Some(job);
            }
        }
        (outcome, started)
    }

    /// Whether a job runs or waits.
    pub fn is_busy(&self) -> bool {
        self.running.is_some() || !self.queue.is_empty()
    }
}

/// Runs `a` and `b` side by side on polars' pool (the one pool of worker threads) and returns
/// both results.
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    polars_core::runtime::THREAD_POOL.install(|| rayon::join(a, b))
}

/// The worker threads [`parallel_ranges`] runs on (polars' pool): how many parts to split
/// work into when the split must follow the data (whole months, say).
pub fn worker_threads() -> usize {
    polars_core::runtime::THREAD_POOL.current_num_threads()
}

/// Splits `0..len` into contiguous ranges and maps them on polars' rayon pool (the one pool of
/// worker threads in the process), returning the results in range order. For data-parallel
/// passes inside a job. One range per pool thread: each part builds its own tallies, and
/// more, smaller parts cost more in those than they gain in balance (docs/PERFORMANCE.md).
pub fn parallel_ranges<R: Send>(len: usize, work: impl Fn(std::ops::Range<usize>) -> R + Sync) -> Vec<R> {
    use rayon::prelude::*;
    let pool = &*polars_core::runtime::THREAD_POOL;
    let parts = pool.current_num_threads().clamp(1, 16).min(len.max(1));
    let chunk = len.div_ceil(parts);
    pool.install(|| (0..parts).into_par_iter().map(|i| work((i * chunk).min(len)..((i + 1) * chunk).min(len))).collect())
}

/// The process's one tokio runtime, for network I/O (warehouse sources). Made on first use,
/// with one worker thread: it only drives sockets, the work is the server's. Nothing on the UI
/// thread ever waits on it; jobs do, through [`block_on`].
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("shoplens-net")
            .enable_io()
            .enable_time()
            .build()
            .unwrap_or_else(|err| panic!("cannot start the network runtime: {err}"))
    })
}

/// Waits for one step of network I/O (the next chunk of a stream) on the [`runtime`] from a
/// worker thread. Not cancellable by itself: the caller checks its job between steps, and a
/// dropped stream asks its server to stop.
pub fn wait_for<T>(step: impl std::future::Future<Output = T>) -> T {
    runtime().block_on(step)
}

/// How long work asked to stop may take to end by itself before it is dropped.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `work` on the [`runtime`] from a job's thread (never the UI thread) and returns its
/// output, or `Err(Cancelled)` once `ctx` is cancelled. On a cancel `stop` runs first (a server's
/// cancel request, so the server stops working too), then `work` gets [`CANCEL_GRACE`] to end
/// by itself before it is dropped (which closes its connection).
pub fn block_on<T>(
    ctx: &JobContext,
    work: impl std::future::Future<Output = T>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<T, Cancelled> {
    use futures_util::future::{select, Either};
    runtime().block_on(async {
        let work = std::pin::pin!(work);
        let watch = std::pin::pin!(async {
            while !ctx.is_cancelled() {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        });
        match select(work, watch).await {
            Either::Left((output, _)) => Ok(output),
            Either::Right(((), work)) => {
                stop.await;
                let _ = tokio::time::timeout(CANCEL_GRACE, work).await;
                Err(Cancelled)
            }
        }
    })
}

/// Runs `producer` on a second thread while `consumer` runs on this one, joined by a bounded
/// channel of `capacity` items, and returns both results. Used where parsing and writing can
/// overlap (imports).
///
/// The consumer's error wins when both fail: a producer that sees the channel close stops
/// quietly, so the consumer's error is the cause. Otherwise the producer's error is returned.
pub fn pipeline<T: Send, P, C, PR, CR, E>(capacity: usize, producer: P, consumer: C) -> Result<(PR, CR), E>
where
    P: FnOnce(std::sync::mpsc::SyncSender<T>) -> Result<PR, E> + Send,
    C: FnOnce(std::sync::mpsc::Receiver<T>) -> Result<CR, E>,
    PR: Send,
    E: Send,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    std::thread::scope(|scope| {
        let produced = std::thread::Builder::new()
            .name("pipeline producer".into())
            .spawn_scoped(scope, move || producer(tx))
            .expect("the OS refused to start a thread");
        let consumed = consumer(rx);
        let produced = match produced.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        };
        let consumed = consumed?;
        Ok((produced?, consumed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reports_progress_and_result() {
        let mut job = Job::spawn("count", |ctx| {
            ctx.set_total(10);
            for i in 1..=10 {
                ctx.set_done(i);
            }
            ctx.set_message("done counting");
            Ok(42)
        });
        let result = loop {
            if let Some(r) = job.try_take() {
                break r;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(result, Ok(42));
        let p = job.progress();
        assert_eq!((p.done, p.total, p.message.as_str()), (10, 10, "done counting"));
        assert_eq!(p.fraction(), Some(1.0));
        assert!(!job.monitor().is_running());
        assert!(job.try_take().is_none(), "a result is taken once");
    }

    #[test]
    fn cancel_reaches_the_worker() {
        let job: Job<()> = Job::spawn("spin", |ctx| loop {
            ctx.check()?;
            std::thread::sleep(std::time::Duration::from_millis(1));
        });
        job.cancel();
        assert_eq!(job.join(), Err(JobError::Cancelled));
    }

    #[test]
    fn a_panic_becomes_an_error_not_a_crash() {
        let job = Job::spawn("boom", |_| -> JobResult<u8> { panic!("kaput") });
        let err = job.join().unwrap_err();
        assert!(matches!(&err, JobError::Failed(m) if m.contains("kaput") && m.contains("boom")), "{err}");
    }

    #[test]
    fn pipeline_passes_items_and_reports_the_failing_side() {
        let sum: Result<((), u64), String> = pipeline(
            2,
            |tx| {
                for i in 1..=100u64 {
                    tx.send(i).map_err(|e| e.to_string())?;
                }
                Ok(())
            },
            |rx| Ok(rx.iter().sum()),
        );
        assert_eq!(sum.unwrap().1, 5050);

        let producer_failed: Result<((), usize), String> =
            pipeline(1, |_tx: std::sync::mpsc::SyncSender<u8>| Err("bad input".to_string()), |rx| Ok(rx.iter().count()));
        assert_eq!(producer_failed.unwrap_err(), "bad input");

        let consumer_failed: Result<((), ()), String> = pipeline(
            1,
            |tx| {
                for i in 0..1000u32 {
                    if tx.send(i).is_err() {
                        break;
                    }
                }
                Ok(())
            },
            |_rx| Err("disk full".to_string()),
        );
        assert_eq!(consumer_failed.unwrap_err(), "disk full");
    }

    #[test]
    fn a_cancel_is_recognised_by_type_anywhere_in_the_error_chain() {
        #[derive(Debug, thiserror::Error)]
        enum Inner {
            #[error("stopped")]
            Cancelled(#[from] Cancelled),
        }
        #[derive(Debug, thiserror::Error)]
        #[error("loading failed")]
        struct Outer(#[source] Inner);
        assert_eq!(JobError::from(Outer(Inner::from(Cancelled))), JobError::Cancelled);
        // A failure that merely says "cancelled" is still a failure.
        let io = std::io::Error::other("cancelled");
        assert_eq!(JobError::from(io), JobError::Failed("cancelled".into()));
    }

    #[test]
    fn parallel_ranges_cover_every_index_once_in_order() {
        for len in [0usize, 1, 7, 1000] {
            let parts = parallel_ranges(len, |r| r.collect::<Vec<_>>());
            assert_eq!(parts.concat(), (0..len).collect::<Vec<_>>());
        }
    }

    fn settle<K: PartialEq + Clone, T: Send + 'static>(latest: &mut Latest<K, T>) -> Option<String> {
        for _ in 0..500 {
            if !latest.is_running() {
                return None;
            }
            if let Some(e) = latest.poll() {
                return Some(e);
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("the job did not finish");
    }

    #[test]
    fn latest_keeps_the_newest_inputs_result_and_retries_after_a_cancel() {
        let mut latest: Latest<u32, u32> = Latest::default();
        assert!(latest.request(&1, || Job::spawn("x", |_| Ok(10))).is_some());
        // The same inputs again: nothing new starts.
        assert!(latest.request(&1, || Job::spawn("x", |_| Ok(99))).is_none());
        assert_eq!(settle(&mut latest), None);
        assert_eq!(latest.get_for(&1).map(|v| **v), Some(10));
        // New inputs: the old result stays shown until the new one arrives.
        latest.request(&2, || Job::spawn("x", |_| Err(JobError::failed("bad input"))));
        assert_eq!(latest.get().map(|v| **v), Some(10));
        assert_eq!(settle(&mut latest).as_deref(), Some("bad input"));
        assert_eq!(latest.error_for(&2), Some("bad input"));
        assert!(latest.request(&2, || Job::spawn("x", |_| Ok(0))).is_none(), "a failure is not retried for the same inputs");
        // A cancelled run is forgotten: asking again starts a new run.
        // Even a failure whose text is "cancelled" is a failure: only the type says cancel.
        latest.request(&3, || Job::spawn("x", |_| Err(JobError::Cancelled)));
        assert_eq!(settle(&mut latest), None);
        assert!(latest.request(&3, || Job::spawn("x", |_| Ok(30))).is_some());
        settle(&mut latest);
        assert_eq!(latest.get_for(&3).map(|v| **v), Some(30));
    }

    #[test]
    fn keyed_results_come_back_at_once_for_inputs_seen_before() {
        let mut keyed: Keyed<u32, u32> = Keyed::default();
        let wait = |keyed: &mut Keyed<u32, u32>| {
            while keyed.is_running() {
                keyed.poll();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        keyed.request(&1, || Job::spawn("x", |_| Ok(10)));
        wait(&mut keyed);
        assert_eq!(keyed.shown(&1).map(|(v, current)| (*v, current)), Some((10, true)));
        keyed.request(&2, || Job::spawn("x", |_| Ok(20)));
        // Until 2 arrives, 1's result is shown, marked as not for these inputs.
        assert_eq!(keyed.shown(&2).map(|(v, current)| (*v, current)), Some((10, false)));
        wait(&mut keyed);
        // Back to 1: at hand, nothing starts.
        assert!(keyed.request(&1, || Job::spawn("x", |_| Ok(99))).is_none());
        assert_eq!(keyed.shown(&1).map(|(v, current)| (*v, current)), Some((10, true)));
        // The data changed: kept results go, the newest stays shown as not current.
        keyed.forget_finished();
        assert_eq!(keyed.shown(&1).map(|(v, current)| (*v, current)), Some((20, false)));
        assert!(keyed.request(&1, || Job::spawn("x", |_| Ok(11))).is_some());
        wait(&mut keyed);
        assert_eq!(keyed.shown(&1).map(|(v, _)| *v), Some(11));
    }
}
