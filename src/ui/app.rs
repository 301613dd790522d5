//! The app shell: menus, the global filter bar, navigation, the status bar with running jobs,
//! messages, file dialogs, drag-and-drop import. It loads the workspace's listing and order
//! lines ([`WorkspaceData`]), draws the panels listed in [`panels::all`], carries out their
//! [`Request`]s and polls every family's models once per frame. It computes nothing itself.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use eframe::egui::{self, RichText};

use crate::analytics::order_frame::OrderFrame;
use crate::analytics::period::DateRange;
use crate::analytics::Filters;
use crate::import::{self, ImportOptions};
use crate::jobs::{take_finished, Job, JobContext, JobError, JobMonitor, JobResult};
use crate::ui::early_copies::{CopyKind, EarlyCopies};
use crate::ui::file_dialog::{PendingDialog, Pick};
use crate::ui::mapping_dialog::{MappingChoice, MappingDialog};
use crate::ui::models::{CacheSave, DataChange, Message, Models, PollContext, Versioned, WorkspaceData};
use crate::ui::panels::data::DataModels;
use crate::ui::panels::event_models::EventModels;
use crate::ui::panels::overview::OverviewModels;
use crate::ui::panels::sql::SqlModels;
use crate::ui::panels::{self, ImportResults, Panel, PanelContext, Request, ViewState};
use crate::ui::story::{Presentation, SaveViewDialog, Sidebar, SidebarAction, StoryModels};
use crate::ui::widgets;
use crate::workspace::snapshot::WorkspaceSnapshot;
use crate::workspace::{self, Workspace};

const SETTINGS_KEY: &str = "shoplens";
const MAX_RECENT: usize = 8;
/// Jobs shorter than this do not flash in the status bar.
const SHOW_JOBS_AFTER: Duration = Duration::from_millis(300);

/// What is remembered between runs (eframe persistence).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent: Vec<PathBuf>,
    pub dark: bool,
    pub presentation: bool,
    /// The panel shown ([`Panel::id`]).
    pub panel_id: String,
    /// The Story sidebar is open.
    pub story_open: bool,
    /// The currency of imported money where a file does not say (ISO code; empty: not stated).
    pub import_currency: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            dark: false,
            presentation: false,
            panel_id: panels::panel_names::OVERVIEW.id.into(),
            story_open: true,
            import_currency: String::new(),
        }
    }
}

/// One import the app runs: a file, or a lines file joined to others (as one import).
enum ImportItem {
    File(PathBuf, ImportOptions),
    /// `remember`: the user made the join; save it for files with the same columns.
    Joined {
        spec: import::join::JoinSpec,
        options: ImportOptions,
        remember: bool,
    },
}

impl ImportItem {
    fn file(&self) -> &Path {
        match self {
            ImportItem::File(file, _) => file,
            ImportItem::Joined { spec, .. } => &spec.lines,
        }
    }
}

/// The order-lines copy, and the save it needs when the cache lags behind it.
type LoadedOrders = (OrderFrame, Option<workspace::cache::PendingSave>);

/// Files given together: the sets a known or remembered join puts together, and each other
/// file with what inspecting it found.
type Inspections = (Vec<import::join::JoinSpec>, Vec<(PathBuf, Result<import::Inspection, String>)>);

pub struct ShoplensApp {
    settings: Settings,
    data: WorkspaceData,
    filters: Filters,
    from_text: String,
    to_text: String,
    /// Opening a workspace checks it first (our schema, nothing else: `workspace::trust`);
    /// nothing reads it, and no panel draws, until the check has passed.
    vet_job: Option<Job<Option<UnreadableWorkspace>>>,
    snapshot_job: Option<Job<SnapshotRead>>,
    /// The open workspace file is damaged or untrusted: no panel draws, and the offer to copy
    /// its data is shown.
    damaged: Option<DamagedWorkspace>,
    recover_job: Option<Job<workspace::recover::Recovery>>,
    orders_job: Option<Job<Option<LoadedOrders>>>,
    /// Saving the order-lines copy into the workspace's cache after it is shown.
    orders_save: CacheSave,
    /// Reload the order lines once the listing job has (re)created the workspace.
    reload_orders_after_snapshot: bool,
    panels: Vec<Box<dyn Panel>>,
    models: Models,
    import_job: Option<Job<ImportResults>>,
    /// Imports' copies shown before their commit, and those then not kept.
    early_copies: EarlyCopies,
    /// Files being looked at before import, to decide whether to ask for a mapping.
    inspect_job: Option<Job<Inspections>>,
    /// Files waiting for the running import to finish.
    import_queue: Vec<ImportItem>,
    /// Data files handed over before any workspace was open (the demo still being built):
    /// imported into the first workspace that opens.
    waiting_for_workspace: Vec<PathBuf>,
    /// Unrecognised files waiting for the user's mapping, shown one at a time.
    mapping_queue: VecDeque<MappingDialog>,
    demo_job: Option<Job<PathBuf>>,
    /// Jobs whose only outcome is a message (exports, Save As, saving a chart).
    chores: Vec<Job<String>>,
    monitors: Vec<JobMonitor>,
    messages: Vec<Message>,
    show_about: bool,
    /// The file dialog being answered, if any (one at a time).
    dialog: Option<PendingDialog<Chosen>>,
    /// Window screenshots on their way to PNG files: (target file, chart rect in points, image).
    screenshots: (Sender<Screenshot>, Receiver<Screenshot>),
    sidebar: Sidebar,
    save_view: Option<SaveViewDialog>,
    /// The Story sidebar was opened by hand in this session: it stays open in a narrow window
    /// (where it would otherwise start collapsed, leaving the panel its width).
    story_opened_here: bool,
    presentation: Option<Presentation>,
    /// The dates of the view last opened, re-resolved when the data's last day changes (a
    /// relative view opened before the order lines arrived, or after an import); cleared when
    /// the user sets the filters by hand.
    view_dates: Option<(DateRange, Option<NaiveDate>)>,
}

type Screenshot = (PathBuf, egui::Rect, Arc<egui::ColorImage>);

/// What a file dialog's answer is for.
enum Chosen {
    Open,
    New,
    Import,
    SaveAs,
    ExportTable {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    ExportQuery(String),
    SavePng(egui::Rect),
    /// Live mode: follow this file or folder.
    Watch,
    /// Where to copy what still reads of a damaged (or untrusted) workspace.
    Recover,
    /// The story report's HTML file (the PDF goes beside it).
    Report,
}

/// Reading the workspace listing either works or finds the file damaged or holding what
/// shoplens does not make (both of which the app offers to copy into a clean workspace,
/// instead of showing one more error).
enum SnapshotRead {
    Read(WorkspaceSnapshot),
    Unreadable(UnreadableWorkspace),
}

/// Why a workspace was not opened; both are answered by copying its data into a new file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unreadable {
    /// SQLite cannot read it as a whole.
    Damaged,
    /// It reads, but holds objects shoplens does not make (a trigger, a view, a changed
    /// table), so it is not opened at all: it came from elsewhere and may carry code.
    Untrusted,
}

struct UnreadableWorkspace {
    why: Unreadable,
    detail: String,
}

impl UnreadableWorkspace {
    /// The errors that make a workspace unreadable as a whole (any other is a plain error).
    fn from_error(e: &workspace::WorkspaceError) -> Option<Self> {
        match e {
            workspace::WorkspaceError::Damaged { detail, .. } => Some(Self { why: Unreadable::Damaged, detail: detail.clone() }),
            workspace::WorkspaceError::Untrusted { found, .. } => Some(Self { why: Unreadable::Untrusted, detail: found.to_string() }),
            e if workspace::recover::is_damage(e) => Some(Self { why: Unreadable::Damaged, detail: e.to_string() }),
            _ => None,
        }
    }
}

struct DamagedWorkspace {
    path: PathBuf,
    why: Unreadable,
    detail: String,
    /// "Not now" closes the window; the central area keeps the offer.
    dismissed: bool,
}

impl DamagedWorkspace {
    /// The window's title, what it says of the file, the offer, and the offer's button.
    fn wording(&self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self.why {
            Unreadable::Damaged => (
                "This workspace file is damaged",
                "cannot be read as a whole:",
                "shoplens can copy every table and row that still reads into a new workspace, and list what was lost. The damaged file is left as it is.",
                "Copy what still reads into a new workspace…",
            ),
            Unreadable::Untrusted => (
                "This workspace file was not opened",
                "holds what shoplens does not make, so nothing of it was read or run:",
                "A workspace from someone else can carry code that runs when it is read. shoplens can copy its tables and rows alone (never its code) into a clean workspace, and list what was left out. The file is left as it is.",
                "Copy its data into a clean workspace…",
            ),
        }
    }
}

fn csv_dialog(name: &str) -> rfd::FileDialog {
    rfd::FileDialog::new().set_file_name(name).add_filter("CSV", &["csv"])
}

fn workspace_dialog() -> rfd::FileDialog {
    rfd::FileDialog::new().add_filter("shoplens workspace", &[workspace::EXTENSION])
}

impl ShoplensApp {
    /// The app as `shoplens` starts it: settings from eframe storage, then `workspace`, the most
    /// recent one, or the demo workspace (built on first start).
    pub fn new(cc: &eframe::CreationContext<'_>, workspace: Option<PathBuf>, panel: Option<String>) -> Self {
        let mut settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, SETTINGS_KEY)).unwrap_or_default();
        if let Some(id) = panel {
            settings.panel_id = id;
        }
        let start = workspace.or_else(|| settings.recent.first().filter(|p| p.exists()).cloned());
        // User data can hold any script; a character the fonts lack must draw as a box, never
        // stop the app (egui's tests make it panic instead, to catch our own labels).
        cc.egui_ctx.set_missing_glyph_policy(egui::epaint::text::MissingGlyphPolicy::Tofu);
        let mut app = Self::with_settings(&cc.egui_ctx, settings, start);
        if app.data.path.is_none() {
            let demo = crate::demo::demo_path();
            if demo.exists() {
                app.open_workspace(demo);
            } else {
                app.build_demo();
            }
        }
        app
    }

    /// The app on a given workspace (or none), without touching storage: for tests.
    pub fn with_settings(ctx: &egui::Context, settings: Settings, workspace: Option<PathBuf>) -> Self {
        let mut app = Self {
            settings,
            data: WorkspaceData::default(),
            filters: Filters::default(),
            from_text: String::new(),
            to_text: String::new(),
            vet_job: None,
            snapshot_job: None,
            damaged: None,
            recover_job: None,
            orders_job: None,
            orders_save: CacheSave::default(),
            reload_orders_after_snapshot: false,
            panels: panels::all(),
            models: Models::default(),
            import_job: None,
            early_copies: EarlyCopies::default(),
            inspect_job: None,
            import_queue: Vec::new(),
            waiting_for_workspace: Vec::new(),
            mapping_queue: VecDeque::new(),
            demo_job: None,
            chores: Vec::new(),
            monitors: Vec::new(),
            messages: Vec::new(),
            show_about: false,
            screenshots: std::sync::mpsc::channel(),
            dialog: None,
            sidebar: Sidebar::default(),
            save_view: None,
            story_opened_here: false,
            presentation: None,
            view_dates: None,
        };
        // The story family reads the stories as soon as a workspace is open.
        app.models.get::<StoryModels>();
        app.apply_view_settings(ctx);
        if let Some(path) = workspace {
            app.open_workspace(path);
        }
        app
    }

    /// Takes over the events load `ui::run` started before the window existed.
    pub fn adopt_events_load(&mut self, job: Job<Option<crate::ui::panels::event_models::LoadedEvents>>) {
        let workspace = self.data.path.clone();
        let monitor = self.models.get::<EventModels>().adopt_load(job, workspace);
        self.monitors.push(monitor);
    }

    pub fn workspace(&self) -> Option<&Path> {
        self.data.path.as_deref()
    }

    /// True while any job this app started is still running.
    pub fn busy(&self) -> bool {
        self.monitors.iter().any(JobMonitor::is_running) || self.models.busy()
    }

    /// Every family's models (for tests that drive the app as a person would, then look inside).
    pub fn models(&self) -> &Models {
        &self.models
    }

    pub fn models_mut(&mut self) -> &mut Models {
        &mut self.models
    }

    fn apply_view_settings(&self, ctx: &egui::Context) {
        ctx.set_theme(if self.settings.dark { egui::ThemePreference::Dark } else { egui::ThemePreference::Light });
        ctx.set_zoom_factor(if self.settings.presentation { 1.5 } else { 1.0 });
    }

    fn info(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), error: false });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), error: true });
    }

    /// Starts a job whose only outcome is a message, shown in the status bar meanwhile.
    fn chore(&mut self, name: &str, work: impl FnOnce(&JobContext) -> JobResult<String> + Send + 'static) {
        let job = Job::spawn(name, work);
        self.track(&job);
        self.chores.push(job);
    }

    /// Shows a job's progress (with Cancel) in the status bar.
    fn track<T: Send + 'static>(&mut self, job: &Job<T>) {
        self.monitors.push(job.monitor());
    }

    /// Runs `f` on the families with a context to report and track through; re-reads the
    /// listing if one of them changed the workspace.
    fn with_families(&mut self, f: impl FnOnce(&mut Models, &mut PollContext<'_>)) {
        let mut listing_changed = false;
        let mut cx = PollContext::new(&self.data, &mut self.messages, &mut self.monitors, &mut listing_changed);
        f(&mut self.models, &mut cx);
        if listing_changed {
            self.refresh_snapshot();
        }
    }

    /// Tells every family what changed.
    fn notify(&mut self, change: DataChange) {
        self.with_families(|models, cx| models.data_changed(&change, cx));
    }

    pub fn open_workspace(&mut self, path: PathBuf) {
        self.settings.recent.retain(|p| p != &path);
        self.settings.recent.insert(0, path.clone());
        self.settings.recent.truncate(MAX_RECENT);
        self.data = WorkspaceData { path: Some(path), building_demo: self.demo_job.is_some(), ..Default::default() };
        self.damaged = None;
        if let Some(job) = self.orders_job.take() {
            job.cancel();
        }
        self.filters = Filters::default();
        self.from_text.clear();
        self.to_text.clear();
        for panel in &mut self.panels {
            panel.reset();
        }
        self.early_copies.forget();
        self.notify(DataChange::Workspace);
        self.vet_workspace();
    }

    /// Checks the workspace just opened (creating it if new) before anything reads it: a file
    /// that is damaged or holds what shoplens does not make gets the offer of a clean copy.
    fn vet_workspace(&mut self) {
        let Some(path) = self.data.path.clone() else { return };
        if let Some(old) = self.vet_job.take() {
            old.cancel();
        }
        let job = Job::spawn("open workspace", move |_| match Workspace::open(&path) {
            Ok(workspace) => {
                drop(workspace);
                Ok(None)
            }
            Err(e) => match UnreadableWorkspace::from_error(&e) {
                Some(unreadable) => Ok(Some(unreadable)),
                None => Err(e.into()),
            },
        });
        self.track(&job);
        self.vet_job = Some(job);
    }

    /// The workspace passed its check: the listing and the order lines load, and files that
    /// waited for it are imported.
    fn workspace_vetted(&mut self) {
        self.refresh_snapshot();
        // The copy loads beside the listing, not after it: the listing counts every table's
        // rows, which on a workspace of millions takes longer than reading the cached copy.
        self.reload_orders();
        let waiting = std::mem::take(&mut self.waiting_for_workspace);
        if !waiting.is_empty() {
            self.import_files(waiting);
        }
    }

    /// Files handed over by the command line, the file manager or a drop: the first workspace
    /// among them opens here, every further one in a window of its own (a window shows one
    /// workspace), and the data files are imported into the workspace open here.
    pub fn open_files(&mut self, files: Vec<PathBuf>) {
        let (workspaces, data): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| workspace::is_workspace_file(f));
        if let Some(first) = workspaces.first() {
            self.open_workspace(first.clone());
        }
        for other in workspaces.iter().skip(1) {
            let opened = std::env::current_exe().and_then(|exe| std::process::Command::new(exe).arg("open").arg(other).spawn());
            if let Err(e) = opened {
                self.error(format!("Cannot open {} in a new window: {e}", other.display()));
            }
        }
        if !data.is_empty() {
            self.import_files(data);
        }
    }

    /// Re-reads tables, import history, saved queries and schema.
    fn refresh_snapshot(&mut self) {
        let Some(path) = self.data.path.clone() else { return };
        let job = Job::spawn("read workspace", move |_| {
            let read = || -> Result<WorkspaceSnapshot, workspace::WorkspaceError> {
                // Creating the file (and its schema) if new is the one write here.
                drop(Workspace::open(&path)?);
                let conn = workspace::open_read_only(&path)?;
                Ok(WorkspaceSnapshot::read(&conn)?)
            };
            match read() {
                Ok(snapshot) => Ok(SnapshotRead::Read(snapshot)),
                Err(e) => match UnreadableWorkspace::from_error(&e) {
                    Some(unreadable) => Ok(SnapshotRead::Unreadable(unreadable)),
                    None => Err(e.into()),
                },
            }
        });
        self.track(&job);
        self.snapshot_job = Some(job);
    }

    fn reload_orders(&mut self) {
        let Some(path) = self.data.path.clone() else { return };
        if let Some(old) = self.orders_job.take() {
            old.cancel();
        }
        let job = Job::spawn("load order lines", crate::ui::models::load_copy(path, workspace::cache::load_order_lines));
        self.track(&job);
        self.orders_job = Some(job);
    }

    fn build_demo(&mut self) {
        let path = crate::demo::demo_path();
        let job = Job::spawn("build demo workspace", move |ctx| {
            crate::demo::build(&path, ctx)?;
            Ok(path)
        });
        self.track(&job);
        self.demo_job = Some(job);
        self.data.building_demo = true;
    }

    /// Imports files: each is inspected first; recognised files load at once, the others wait
    /// for the mapping dialog.
    pub fn import_files(&mut self, files: Vec<PathBuf>) {
        let Some(path) = self.data.path.clone() else {
            if self.demo_job.is_some() {
                // Imported once the demo workspace is built and open.
                self.waiting_for_workspace.extend(files);
            } else {
                self.error("Open or create a workspace before importing.");
            }
            return;
        };
        let job = Job::spawn("inspect files", move |_| {
            // Opened (made, for a new workspace) here: files handed over with a workspace that
            // does not exist yet must still be looked at, not imported blind.
            let workspace = Workspace::open(&path).map_err(|e| e.to_string());
            let conn = workspace.as_ref().map(Workspace::conn).map_err(Clone::clone);
            // Files a known or remembered join puts together import as one.
            let recipes = import::join::recipes(conn.as_ref().ok().copied())?;
            let (joined, alone) = import::join::group_files(&files, &recipes)?;
            let inspected = alone
                .into_iter()
                .map(|file| {
                    let inspection = conn.clone().and_then(|c| import::inspect(c, &file, None).map_err(|e| e.to_string()));
                    (file, inspection)
                })
                .collect();
            Ok((joined, inspected))
        });
        self.track(&job);
        self.inspect_job = Some(job);
    }

    /// The options of an import the app starts: the currency set for imports, where a file does
    /// not state its own.
    fn import_options(&self) -> ImportOptions {
        let currency = Some(self.settings.import_currency.trim().to_uppercase()).filter(|c| !c.is_empty());
        // The copy is built from the rows as they are written: the panels show a dropped file's
        // figures without reading every row back out of the workspace.
        ImportOptions {
            price_feed: import::PriceFeed { currency, prices_include_tax: None },
            keep_copy: true,
            early_copy: Some(self.early_copies.sender()),
            ..Default::default()
        }
    }

    /// Imports files one after the other, each in its own transaction.
    fn start_imports(&mut self, items: Vec<ImportItem>) {
        let Some(path) = self.data.path.clone() else { return };
        if self.import_job.is_some() {
            self.import_queue.extend(items);
            return;
        }
        if items.is_empty() {
            return;
        }
        let job = Job::spawn("import", move |ctx| {
            let mut ws = match Workspace::open(&path) {
                Ok(ws) => ws,
                Err(e) => return Ok(items.into_iter().map(|item| (item.file().to_path_buf(), Err(e.to_string()))).collect()),
            };
            let mut results = Vec::new();
            for item in items {
                // Each file reports its own outcome: a cancel leaves the rest unimported.
                let result = ctx.check().map_err(import::ImportError::from).and_then(|()| match &item {
                    ImportItem::File(file, options) => import::import_file(&mut ws, file, options, ctx),
                    ImportItem::Joined { spec, options, remember } => {
                        let outcome = import::import_joined(&mut ws, spec, options, ctx)?;
                        if *remember {
                            import::join::remember(ws.conn(), &import::join::Recipe::of(spec)?)?;
                        }
                        Ok(outcome)
                    }
                });
                results.push((item.file().to_path_buf(), result.map_err(|e| e.to_string())));
            }
            Ok(results)
        });
        self.track(&job);
        self.import_job = Some(job);
    }

    /// Starts live mode on a file or folder.
    pub fn watch(&mut self, target: PathBuf) {
        let Some(path) = self.data.path.clone() else {
            self.error("Open or create a workspace before watching a file.");
            return;
        };
        let monitors = self.models.get::<EventModels>().start_watch(path, target.clone());
        self.monitors.extend(monitors);
        self.info(format!("Watching {} for new events", target.display()));
    }

    /// Collects finished jobs; called once per frame before drawing.
    fn poll_jobs(&mut self) {
        match take_finished(&mut self.demo_job) {
            Some(Ok(path)) => {
                self.data.building_demo = false;
                self.open_workspace(path);
            }
            Some(Err(e)) => {
                self.data.building_demo = false;
                self.error(format!("Could not build the demo workspace: {e}"));
            }
            None => {}
        }
        match take_finished(&mut self.recover_job) {
            Some(Ok(recovery)) => {
                let target = recovery.target.clone();
                self.info(format!("Recovered: {}", recovery.to_string().trim_end().replace('\n', "; ")));
                self.open_workspace(target);
            }
            Some(Err(JobError::Cancelled)) => {}
            Some(Err(e)) => self.error(format!("Recovery failed: {e}")),
            None => {}
        }
        match take_finished(&mut self.vet_job) {
            Some(Ok(None)) => self.workspace_vetted(),
            Some(Ok(Some(UnreadableWorkspace { why, detail }))) => {
                if let Some(path) = self.data.path.clone() {
                    self.damaged = Some(DamagedWorkspace { path, why, detail, dismissed: false });
                }
            }
            Some(Err(JobError::Cancelled)) => {}
            Some(Err(e)) => self.error(format!("Could not open the workspace: {e}")),
            None => {}
        }
        match take_finished(&mut self.snapshot_job) {
            Some(Ok(SnapshotRead::Unreadable(UnreadableWorkspace { why, detail }))) => {
                if let Some(path) = self.data.path.clone() {
                    self.damaged = Some(DamagedWorkspace { path, why, detail, dismissed: false });
                }
            }
            Some(Ok(SnapshotRead::Read(snapshot))) => {
                self.data.snapshot = Some(Arc::new(snapshot));
                if std::mem::take(&mut self.reload_orders_after_snapshot) {
                    self.reload_orders();
                }
            }
            Some(Err(e)) => self.error(format!("Could not read the workspace: {e}")),
            None => {}
        }
        match take_finished(&mut self.orders_job) {
            Some(Ok(None)) => {}
            Some(Ok(Some((frame, unsaved)))) => {
                let orders = Versioned::new(frame);
                if let Some(save) = unsaved {
                    let frame = orders.data.clone();
                    let monitor = self.orders_save.start("save order lines for a fast reopen", move |_| Ok(save.order_lines(&frame)?));
                    self.monitors.push(monitor);
                }
                self.data.orders = Some(orders);
                self.notify(DataChange::OrderLines);
            }
            Some(Err(JobError::Cancelled)) => {}
            Some(Err(e)) => self.error(format!("Could not load order lines: {e}")),
            None => {}
        }
        if let Some(failure) = self.orders_save.failure() {
            self.error(failure);
        }
        self.with_families(|models, cx| models.poll(cx));
        self.poll_imports();
        let mut finished = Vec::new();
        self.chores.retain_mut(|job| match job.try_take() {
            Some(result) => {
                finished.push(result);
                false
            }
            None => true,
        });
        for result in finished {
            match result {
                Ok(text) => self.info(text),
                Err(JobError::Failed(text)) => self.error(text),
                Err(JobError::Cancelled) => {}
            }
        }
        self.monitors.retain(JobMonitor::is_running);
    }

    fn poll_imports(&mut self) {
        // An import's figures, shown while its rows are still being saved.
        let mut orders_shown = false;
        for copy in self.early_copies.arrived() {
            orders_shown |= self.show_imported_copy(copy);
        }
        if orders_shown {
            self.notify(DataChange::OrderLines);
        }
        if let Some(result) = take_finished(&mut self.inspect_job) {
            let (joined, inspected) = result.unwrap_or_default();
            let options = self.import_options();
            let mut ready: Vec<ImportItem> =
                joined.into_iter().map(|spec| ImportItem::Joined { spec, options: options.clone(), remember: false }).collect();
            // Files dropped together can be joined in the mapping dialog.
            let companions: Vec<(PathBuf, import::Inspection)> =
                inspected.iter().filter_map(|(f, i)| Some((f.clone(), i.as_ref().ok()?.clone()))).collect();
            for (file, inspection) in inspected {
                match inspection {
                    // Errors surface from the import itself, with the same message as the CLI.
                    Ok(inspection) if inspection.recognised.is_none() => {
                        let others = companions.iter().filter(|(f, _)| *f != file).cloned().collect();
                        self.mapping_queue.push_back(MappingDialog::new(file, inspection, others))
                    }
                    // Events in CSV: read them into memory at once, so the funnel shows while
                    // the import is still writing them to the workspace.
                    Ok(inspection)
                        if inspection.recognised.as_deref() == Some("rees46_events")
                            && file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) =>
                    {
                        let monitor = self.models.get::<EventModels>().load_csv_first(file.clone());
                        self.monitors.push(monitor);
                        // That read is the early copy: a second one built by the import would
                        // hold the events twice in memory.
                        ready.push(ImportItem::File(file, ImportOptions { keep_copy: false, ..options.clone() }));
                    }
                    _ => ready.push(ImportItem::File(file, options.clone())),
                }
            }
            self.start_imports(ready);
        }
        let Some(result) = take_finished(&mut self.import_job) else { return };
        let (mut tables, mut copies) = (Vec::new(), Vec::new());
        let outcomes = result.unwrap_or_else(|e| vec![(PathBuf::new(), Err(e.to_string()))]);
        for (file, outcome) in outcomes {
            match outcome {
                Ok(o) => {
                    let r = &o.report;
                    self.info(format!(
                        "Imported {} into {}: {} loaded, {} rejected.",
                        widgets::display_name(&file),
                        o.table,
                        widgets::count_of(r.rows_loaded, "row", "rows"),
                        widgets::number(r.rows_rejected as f64, 0)
                    ));
                    self.models.get::<DataModels>().import_id = Some(o.import_id);
                    tables.push(o.table);
                    if let Some(Ok(copy)) = o.copy {
                        copies.push(copy);
                    }
                }
                Err(e) => self.error(format!("{}: {e}", widgets::display_name(&file))),
            }
        }
        // A copy the import built is shown (if it was not already, before the commit) and saved
        // for the next open; otherwise the copy is read again. Cached Overview results stay
        // until the new copy arrives: clearing them now would only recompute them on the old
        // copy.
        let settled = self.early_copies.settle(copies);
        let orders_in_hand = settled.to_show.iter().chain(&settled.to_save).any(|c| CopyKind::of(c) == CopyKind::OrderLines);
        let mut orders_copied = false;
        for copy in settled.to_show {
            orders_copied |= self.show_imported_copy(copy.clone());
            self.save_imported_copy(copy);
        }
        for copy in settled.to_save {
            self.save_imported_copy(copy);
        }
        for kind in settled.not_kept {
            self.error(format!(
                "The import did not finish and was rolled back: the {} on screen were read from the file but are not in the workspace (marked \"not saved\" below). Import the file again to keep them.",
                kind.table()
            ));
        }
        self.reload_orders_after_snapshot |= !orders_in_hand && tables.iter().any(|t| t == "order_lines");
        self.refresh_snapshot();
        self.notify(DataChange::Imported { tables });
        if orders_copied {
            self.notify(DataChange::OrderLines);
        }
        let queued = std::mem::take(&mut self.import_queue);
        self.start_imports(queued);
    }

    /// Shows the copy an import built, maybe before its commit; true for the order lines.
    fn show_imported_copy(&mut self, copy: import::copy::ImportedCopy) -> bool {
        let Some(path) = self.data.path.clone() else { return false };
        match copy {
            import::copy::ImportedCopy::OrderLines(frame) => {
                if let Some(old) = self.orders_job.take() {
                    old.cancel();
                }
                self.data.orders = Some(Versioned::shared(frame));
                true
            }
            import::copy::ImportedCopy::Events(frame) => {
                self.models.get::<EventModels>().show_imported(frame, path);
                false
            }
        }
    }

    /// Saves a committed import's copy for the next open.
    fn save_imported_copy(&mut self, copy: import::copy::ImportedCopy) {
        let Some(path) = self.data.path.clone() else { return };
        let monitor = match copy {
            import::copy::ImportedCopy::OrderLines(frame) => self
                .orders_save
                .start("save order lines for a fast reopen", move |_| Ok(workspace::cache::save_order_lines_as_current(&path, &frame)?)),
            import::copy::ImportedCopy::Events(frame) => self.models.get::<EventModels>().save_imported(frame, path),
        };
        self.monitors.push(monitor);
    }

    /// Carries out what a panel asked for.
    fn handle(&mut self, request: Request) {
        match request {
            Request::ExportTable { file_name, table: (header, rows) } => {
                self.ask(csv_dialog(&file_name), Pick::Save, Chosen::ExportTable { header, rows })
            }
            Request::SaveChart { file_name, rect } => {
                let dialog = rfd::FileDialog::new().set_file_name(file_name).add_filter("PNG image", &["png"]);
                self.ask(dialog, Pick::Save, Chosen::SavePng(rect));
            }
            Request::ExportQuery { sql } => self.ask(csv_dialog("query.csv"), Pick::Save, Chosen::ExportQuery(sql)),
            Request::Track(monitor) => self.monitors.push(monitor),
            Request::PickWatchTarget { folder: false } => {
                self.ask(rfd::FileDialog::new().add_filter("Events CSV", &["csv"]), Pick::File, Chosen::Watch)
            }
            Request::PickWatchTarget { folder: true } => self.ask(rfd::FileDialog::new(), Pick::Folder, Chosen::Watch),
            Request::SaveView { title } => self.open_save_view(Some(title)),
            Request::Import { what, start } => {
                if self.import_job.is_some() {
                    self.error(format!("An import is running; {what} when it has finished."));
                    return;
                }
                let job = start();
                self.track(&job);
                self.import_job = Some(job);
            }
        }
    }

    fn handle_shortcuts_and_drops(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if !dropped.is_empty() {
            self.open_files(dropped);
        }
        let open = ctx.input_mut(|i| i.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O)));
        let import = ctx.input_mut(|i| i.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::I)));
        if open {
            self.open_dialog();
        }
        if import {
            self.import_dialog();
        }
    }

    /// Opens a file dialog without blocking the window; the answer is handled in `on_chosen`.
    fn ask(&mut self, dialog: rfd::FileDialog, pick: Pick, purpose: Chosen) {
        if self.dialog.is_none() {
            self.dialog = Some(PendingDialog::ask(dialog, pick, purpose));
        }
    }

    fn open_dialog(&mut self) {
        self.ask(workspace_dialog(), Pick::File, Chosen::Open);
    }

    fn import_dialog(&mut self) {
        let dialog = rfd::FileDialog::new()
            .add_filter("Data files", &["csv", "tsv", "txt", "gz", "zst", "bz2", "xz", "zip", "parquet", "xlsx", "jsonl", "ndjson", "json"])
            .add_filter("All files", &["*"]);
        self.ask(dialog, Pick::Files, Chosen::Import);
    }

    fn poll_dialog(&mut self, ctx: &egui::Context) {
        let Some((purpose, paths)) = self.dialog.as_mut().and_then(PendingDialog::poll) else { return };
        self.dialog = None;
        if !paths.is_empty() {
            self.on_chosen(ctx, purpose, paths);
        }
    }

    fn on_chosen(&mut self, ctx: &egui::Context, purpose: Chosen, mut paths: Vec<PathBuf>) {
        let first = paths.swap_remove(0);
        match purpose {
            Chosen::Open | Chosen::New => self.open_workspace(first),
            Chosen::Import => {
                paths.insert(0, first);
                self.import_files(paths);
            }
            Chosen::SaveAs => self.save_as(first),
            Chosen::ExportTable { header, rows } => self.chore("export table", move |_| {
                let n = crate::analytics::write_csv(&first, &header, rows)?;
                Ok(format!("Saved {} to {}", widgets::count_of(n as u64, "row", "rows"), first.display()))
            }),
            Chosen::ExportQuery(sql) => self.export_query(sql, first),
            Chosen::Watch => self.watch(first),
            Chosen::Recover => self.recover(first),
            Chosen::Report => {
                let targets =
                    crate::present::ReportTargets { pdf: Some(first.with_extension("pdf")), html: Some(first.with_extension("html")) };
                let started = self.models.get::<StoryModels>().export_report(targets);
                self.monitors.extend(started);
            }
            Chosen::SavePng(rect) => {
                // The screenshot is of the next frame, once the dialog is gone.
                let sender = self.screenshots.0.clone();
                let repaint = ctx.clone();
                ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(egui::ScreenshotCallback::new(move |image| {
                    let _ = sender.send((first, rect, image));
                    repaint.request_repaint();
                })));
            }
        }
    }

    fn write_screenshots(&mut self, ctx: &egui::Context) {
        let pixels_per_point = ctx.pixels_per_point();
        while let Ok((path, rect, image)) = self.screenshots.1.try_recv() {
            self.chore("save chart", move |_| widgets::save_chart_png(&image, rect, pixels_per_point, &path).map_err(JobError::Failed));
        }
    }

    fn export_query(&mut self, sql: String, target: PathBuf) {
        let Some(path) = self.data.path.clone() else { return };
        self.chore("export query", move |_| {
            let file = std::fs::File::create(&target).map_err(|e| JobError::failed(format!("cannot write {}: {e}", target.display())))?;
            workspace::snapshot::query_to_csv(&path, &sql, std::io::BufWriter::new(file))?;
            Ok(format!("Exported the query to {}", target.display()))
        });
    }

    /// Copies what still reads of the damaged workspace into `target`, then opens the copy.
    fn recover(&mut self, target: PathBuf) {
        let Some(damaged) = self.damaged.take() else { return };
        let job = Job::spawn("recover workspace", move |ctx| Ok(workspace::recover::recover(&damaged.path, &target, ctx)?));
        self.track(&job);
        self.recover_job = Some(job);
    }

    /// The offer shown when the open workspace turned out damaged on disk, or holding what
    /// shoplens does not make.
    fn damaged_window(&mut self, ctx: &egui::Context) {
        let Some(damaged) = self.damaged.as_ref().filter(|d| !d.dismissed) else { return };
        let (title, intro, offer, button) = damaged.wording();
        let mut recover = false;
        let mut close = false;
        egui::Window::new(title).collapsible(false).resizable(false).anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0]).show(ctx, |ui| {
            ui.label(format!("{} {intro}", widgets::display_name(&damaged.path)));
            ui.label(RichText::new(&damaged.detail).weak());
            ui.add_space(6.0);
            ui.label(offer);
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                recover = ui.button(button).clicked();
                close = ui.button("Not now").clicked();
            });
        });
        if recover {
            self.ask_where_to_recover();
        }
        if close {
            if let Some(damaged) = &mut self.damaged {
                damaged.dismissed = true;
            }
        }
    }

    /// Where the clean copy of the damaged or refused workspace goes.
    fn ask_where_to_recover(&mut self) {
        let Some(damaged) = &self.damaged else { return };
        let suffix = if damaged.why == Unreadable::Untrusted { "clean" } else { "recovered" };
        let name = damaged.path.file_stem().map_or_else(|| suffix.into(), |s| format!("{}-{suffix}", s.to_string_lossy()));
        let dialog = workspace_dialog().set_file_name(format!("{name}.{}", workspace::EXTENSION));
        self.ask(dialog, Pick::Save, Chosen::Recover);
    }

    /// The central area while the open workspace cannot be used: what happened and the ways on
    /// (no panel draws over a file that was not opened).
    fn unopened_page(&mut self, ui: &mut egui::Ui) {
        let Some(damaged) = &self.damaged else { return };
        let (title, intro, _, button) = damaged.wording();
        let (mut recover, mut open) = (false, false);
        ui.add_space(40.0);
        ui.vertical_centered(|ui| {
            ui.heading(title);
            ui.add_space(6.0);
            ui.label(format!("{} {intro}", widgets::display_name(&damaged.path)));
            ui.label(RichText::new(&damaged.detail).weak());
            ui.add_space(12.0);
            recover = ui.button(button).clicked();
            open = ui.button("Open another workspace…").clicked();
        });
        if recover {
            self.ask_where_to_recover();
        }
        if open {
            self.open_dialog();
        }
    }

    fn save_as(&mut self, target: PathBuf) {
        let Some(source) = self.data.path.clone() else { return };
        self.chore("save workspace as", move |ctx| {
            workspace::save_copy(&source, &target, |done, total| {
                ctx.set_total(total);
                ctx.set_done(done);
            })
            .map_err(|e| JobError::failed(format!("Save As failed: {e}")))?;
            Ok(format!("Saved a copy as {}", target.display()))
        });
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("New workspace…").clicked() {
                    self.ask(workspace_dialog().set_file_name("analysis.shoplens"), Pick::Save, Chosen::New);
                }
                if ui.button("Open…  (Ctrl+O)").clicked() {
                    self.open_dialog();
                }
                ui.menu_button("Recent workspaces", |ui| {
                    for path in self.settings.recent.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            self.open_workspace(path);
                        }
                    }
                });
                if ui.add_enabled(self.data.path.is_some(), egui::Button::new("Save As…")).clicked() {
                    self.ask(workspace_dialog().set_file_name("copy.shoplens"), Pick::Save, Chosen::SaveAs);
                }
                ui.separator();
                if ui.add_enabled(self.data.path.is_some(), egui::Button::new("Import…  (Ctrl+I)")).clicked() {
                    self.import_dialog();
                }
                ui.menu_button("Currency of imports", |ui| {
                    ui.label("The currency of a file's money when the file does not say (an ISO code):");
                    ui.horizontal(|ui| {
                        for code in ["GBP", "EUR", "USD"] {
                            ui.selectable_value(&mut self.settings.import_currency, code.to_string(), code);
                        }
                        ui.selectable_value(&mut self.settings.import_currency, String::new(), "not stated");
                    });
                    let label = ui.label("Other:");
                    ui.add(egui::TextEdit::singleline(&mut self.settings.import_currency).desired_width(60.0).char_limit(3))
                        .labelled_by(label.id);
                });
                ui.menu_button("Export", |ui| {
                    let overview = self.models.find::<OverviewModels>().and_then(OverviewModels::last);
                    if ui.add_enabled(overview.is_some(), egui::Button::new("Overview: monthly figures (CSV)…")).clicked() {
                        if let Some(result) = overview {
                            let table = crate::analytics::overview::months_table(&result);
                            self.handle(Request::ExportTable { file_name: "overview_months.csv".into(), table });
                        }
                    }
                    if ui.add_enabled(self.data.path.is_some(), egui::Button::new("SQL console: current query (CSV)…")).clicked() {
                        let sql = self.models.get::<SqlModels>().text.clone();
                        self.handle(Request::ExportQuery { sql });
                    }
                });
            });
            ui.menu_button("View", |ui| {
                if ui.checkbox(&mut self.settings.dark, "Dark theme").changed()
                    || ui.checkbox(&mut self.settings.presentation, "Presentation text size").changed()
                {
                    self.apply_view_settings(ui.ctx());
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("Reset demo workspace").clicked() {
                    if self.data.path.as_deref() == Some(crate::demo::demo_path().as_path()) {
                        self.data.path = None;
                    }
                    self.build_demo();
                }
                if ui.button("About shoplens").clicked() {
                    self.show_about = true;
                }
            });
        });
    }

    fn filter_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            let name = self.data.path.as_deref().map_or("no workspace".to_string(), widgets::display_name);
            ui.label(RichText::new(name).strong())
                .on_hover_text(self.data.path.as_deref().map(|p| p.display().to_string()).unwrap_or_default());
            ui.separator();
            let span = self.data.orders.as_ref().and_then(|f| f.data.date_span());
            let hint = |d: Option<NaiveDate>| d.map_or("YYYY-MM-DD".to_string(), |d| d.to_string());
            ui.label("From");
            let from = ui.add(egui::TextEdit::singleline(&mut self.from_text).hint_text(hint(span.map(|s| s.0))).desired_width(90.0));
            let to_label = ui.label("to");
            let to = ui
                .add(egui::TextEdit::singleline(&mut self.to_text).hint_text(hint(span.map(|s| s.1))).desired_width(90.0))
                .labelled_by(to_label.id);
            if from.lost_focus() || to.lost_focus() {
                self.apply_dates();
            }
            let label = ui.label("Country");
            let countries = self.data.orders.as_ref().map(|f| f.data.country_names()).unwrap_or_default();
            let mut country = self.filters.country.clone();
            egui::ComboBox::from_id_salt("country_filter")
                .selected_text(country.clone().unwrap_or_else(|| "All countries".into()))
                .width(150.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut country, None, "All countries");
                    for c in countries {
                        ui.selectable_value(&mut country, Some(c.clone()), c);
                    }
                })
                .response
                .labelled_by(label.id);
            if country != self.filters.country {
                self.view_dates = None;
            }
            self.filters.country = country;
            // Money in different currencies is never added up: with several, one is chosen.
            if let Some(frame) = self.data.orders.as_ref().map(|f| &f.data).filter(|f| f.currencies.len() > 1) {
                let label = ui.label("Currency");
                let mut currency = self.filters.currency.clone();
                let name = |code: &str| if code.is_empty() { "not stated".to_string() } else { code.to_string() };
                egui::ComboBox::from_id_salt("currency_filter")
                    .selected_text(currency.clone().unwrap_or_else(|| format!("{} (most lines)", name(&frame.currencies[0]))))
                    .width(150.0)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut currency, None, format!("{} (most lines)", name(&frame.currencies[0])));
                        for (code, lines) in frame.currencies.iter().zip(&frame.currency_lines) {
                            let text = format!("{} ({} lines)", name(code), widgets::number(*lines as f64, 0));
                            ui.selectable_value(&mut currency, Some(code.clone()), text);
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text("The order lines are in several currencies; figures sum one at a time, never several.");
                self.filters.currency = currency;
            }
            if ui.button("Reset filters").clicked() {
                self.view_dates = None;
                self.filters = Filters::default();
                self.from_text.clear();
                self.to_text.clear();
            }
        });
    }

    fn apply_dates(&mut self) {
        let parse = |text: &str| -> Result<Option<NaiveDate>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            crate::timestamp::parse_date(text).map(Some).map_err(|e| e.to_string())
        };
        match (parse(&self.from_text), parse(&self.to_text)) {
            (Ok(from), Ok(to)) => {
                if (from, to) != (self.filters.from, self.filters.to) {
                    self.view_dates = None;
                }
                self.filters.from = from;
                self.filters.to = to;
            }
            (Err(e), _) | (_, Err(e)) => self.error(e),
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(snapshot) = &self.data.snapshot {
                for table in ["order_lines", "events"] {
                    if let Some((_, count)) = snapshot.tables.iter().find(|(n, _)| n == table) {
                        ui.label(format!("{table}: {}", widgets::number(*count as f64, 0)));
                    }
                }
            }
            if self.early_copies.saving() {
                ui.separator();
                ui.label("saving into the workspace…").on_hover_text(
                    "The figures shown come from the file just imported; its rows are being saved into the workspace.",
                );
            }
            for kind in self.early_copies.not_kept() {
                ui.separator();
                ui.colored_label(widgets::BAD, format!("{} not saved", kind.table())).on_hover_text(format!(
                    "The {} shown were read from a file whose import was rolled back: they are not in the workspace. Import the file again to keep them.",
                    kind.table()
                ));
            }
            for monitor in self.monitors.iter().filter(|m| m.is_running() && m.elapsed() > SHOW_JOBS_AFTER) {
                ui.separator();
                let progress = monitor.progress();
                let label = if progress.message.is_empty() { monitor.name().to_string() } else { progress.message.clone() };
                match progress.fraction() {
                    Some(f) => ui.add(egui::ProgressBar::new(f).desired_width(160.0).text(label)),
                    None => ui.add(egui::Spinner::new()).on_hover_text(label),
                };
                if monitor.is_cancelled() {
                    ui.label("cancelling…");
                } else if ui.small_button("Cancel").on_hover_text(format!("Cancel {}", monitor.name())).clicked() {
                    // A job's models notice the cancel (the SQL console also interrupts SQLite).
                    monitor.cancel();
                }
            }
        });
    }

    fn messages(&mut self, ui: &mut egui::Ui) {
        let mut dismissed = None;
        for (i, message) in self.messages.iter().enumerate().rev().take(3) {
            ui.horizontal(|ui| {
                let color = if message.error { widgets::BAD } else { widgets::GOOD };
                ui.colored_label(color, RichText::new(if message.error { "Error" } else { "Done" }).strong());
                ui.label(&message.text);
                if ui.small_button("Dismiss").clicked() {
                    dismissed = Some(i);
                }
            });
        }
        if let Some(i) = dismissed {
            self.messages.remove(i);
        }
    }

    fn about(&mut self, ctx: &egui::Context) {
        if !self.show_about {
            return;
        }
        let response = egui::Modal::new(egui::Id::unique("about")).show(ctx, |ui| {
            ui.heading("shoplens");
            ui.label(format!("Version {}", crate::VERSION));
            ui.label("Desktop analytics for e-commerce marketing teams.");
            ui.separator();
            ui.label("The demo workspace contains the Online Retail II dataset (Year 2009-2010)");
            ui.label("by Daqing Chen, UCI Machine Learning Repository, doi:10.24432/C5CG6D, licensed CC BY 4.0,");
            ui.label("and synthetic shop events generated by shoplens in the layout of the REES46 / Open CDP logs.");
            ui.button("Close").clicked()
        });
        if response.inner || response.should_close() {
            self.show_about = false;
        }
    }

    fn navigation(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        for panel in &self.panels {
            let selected = self.settings.panel_id == panel.id();
            if ui
                .add_sized([118.0, 28.0], egui::Button::selectable(selected, RichText::new(panel.title()).size(15.0)))
                .on_hover_text(panel.hint())
                .clicked()
            {
                self.settings.panel_id = panel.id().to_string();
            }
        }
        ui.add_space(12.0);
        if ui.add_enabled(self.data.path.is_some(), egui::Button::new("Import…")).on_hover_text("Or drop files on the window").clicked() {
            self.import_dialog();
        }
        ui.add_space(6.0);
        let mut shown = self.story_sidebar_shown(ui.ctx());
        if ui.toggle_value(&mut shown, "Story").on_hover_text("Saved views and stories: open, present, export").changed() {
            self.settings.story_open = shown;
            self.story_opened_here = shown;
        }
    }

    /// Draws the selected panel (the first one if the remembered id is unknown) and carries out
    /// what it asks for.
    fn central(&mut self, ui: &mut egui::Ui) {
        if let Some(damaged) = &self.damaged {
            // While the window says it, the area stays empty rather than say it twice.
            if damaged.dismissed {
                self.unopened_page(ui);
            }
            return;
        }
        if self.vet_job.is_some() {
            let name = self.data.path.as_deref().map(widgets::display_name).unwrap_or_default();
            ui.add_space(40.0);
            ui.vertical_centered(|ui| {
                ui.spinner();
                ui.label(format!("Opening {name}…"));
            });
            return;
        }
        let index = self.panels.iter().position(|p| p.id() == self.settings.panel_id).unwrap_or(0);
        let mut requests = Vec::new();
        let mut cx = PanelContext::new(&self.filters, &self.data, &mut self.models, &mut requests);
        self.panels[index].ui(ui, &mut cx);
        for request in requests {
            self.handle(request);
        }
    }
}

/// Saved views, stories and presentation mode.
impl ShoplensApp {
    /// The last day of the order lines: relative view dates count from it.
    fn last_day(&self) -> Option<NaiveDate> {
        self.data.orders.as_ref().and_then(|o| o.data.date_span()).map(|s| s.1)
    }

    /// Sets the filters to a view's dates (resolved against the data's last day) and country.
    fn apply_view_dates(&mut self, dates: &DateRange, country: Option<String>) {
        let last = self.last_day();
        let (from, to) = match (dates, last) {
            (DateRange::Fixed { from, to }, _) => (*from, *to),
            (_, Some(last)) => dates.resolve(last),
            (_, None) => (None, None),
        };
        self.filters = Filters { from, to, country, currency: self.filters.currency.clone() };
        self.from_text = from.map(|d| d.to_string()).unwrap_or_default();
        self.to_text = to.map(|d| d.to_string()).unwrap_or_default();
        self.view_dates = Some((dates.clone(), last));
    }

    /// Re-resolves an opened view's relative dates when the data's last day changed.
    fn keep_view_dates(&mut self) {
        if let Some((dates, resolved_for)) = self.view_dates.clone() {
            if resolved_for != self.last_day() {
                let country = self.filters.country.clone();
                self.apply_view_dates(&dates, country);
            }
        }
    }

    /// Restores a saved view: its panel, the panel's state, and its dates and country.
    pub fn open_view(&mut self, saved: &crate::workspace::views::SavedView) {
        let view = &saved.view;
        match self.panels.iter_mut().find(|p| p.id() == view.panel) {
            Some(panel) => {
                panel.restore_view(&ViewState::from_json(&view.state), &mut self.models);
                self.settings.panel_id = view.panel.clone();
            }
            None => self.error(format!("The view '{}' is for a panel this version does not have ({})", view.title, view.panel)),
        }
        self.apply_view_dates(&view.dates, view.country.clone());
        self.sidebar.opened = Some(saved.id);
    }

    /// Starts presenting the shown story at view `index`, full screen.
    pub fn start_presentation(&mut self, ctx: &egui::Context, index: usize) {
        let views = self.models.get::<StoryModels>().listing.views.clone();
        let Some(first) = views.get(index).cloned() else { return };
        self.presentation = Some(Presentation { views, index, zoom_before: ctx.zoom_factor() });
        ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(true));
        self.open_view(&first);
    }

    fn stop_presentation(&mut self, ctx: &egui::Context) {
        if let Some(p) = self.presentation.take() {
            ctx.set_zoom_factor(p.zoom_before);
            ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(false));
        }
    }

    /// Whether the Story sidebar is on screen: open, and either the window is wide enough for
    /// it beside the panel (1,400 points: at 1280 it would clip the panels' tables) or the user
    /// opened it in this session.
    fn story_sidebar_shown(&self, ctx: &egui::Context) -> bool {
        self.settings.story_open && (self.story_opened_here || ctx.content_rect().width() >= 1400.0)
    }

    /// The global filters (for tests).
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Whether presentation mode is on (for tests).
    pub fn presenting(&self) -> Option<usize> {
        self.presentation.as_ref().map(|p| p.index)
    }

    /// A slide: the view's header and its panel, nothing else; keys step and leave.
    fn present(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        let (next, previous, leave) = ctx.input_mut(|i| {
            let none = egui::Modifiers::NONE;
            let next = i.consume_key(none, egui::Key::ArrowRight)
                || i.consume_key(none, egui::Key::PageDown)
                || i.consume_key(none, egui::Key::Space);
            let previous = i.consume_key(none, egui::Key::ArrowLeft) || i.consume_key(none, egui::Key::PageUp);
            (next, previous, i.consume_key(none, egui::Key::Escape))
        });
        if leave {
            self.stop_presentation(ctx);
            return;
        }
        let Some(p) = &mut self.presentation else { return };
        let step = match (next, previous) {
            (true, false) if p.index + 1 < p.views.len() => Some(p.index + 1),
            (false, true) if p.index > 0 => Some(p.index - 1),
            _ => None,
        };
        if let Some(index) = step {
            p.index = index;
            let view = p.views[index].clone();
            self.open_view(&view);
        }
        // Large type that fits: the layout sees about 1150 points across whatever the screen
        // (1280×720 or 1920×1080), so a slide looks the same on both.
        let width = ctx.content_rect().width() * ctx.zoom_factor();
        let zoom = (width / 1150.0).clamp(1.0, 2.5);
        if (ctx.zoom_factor() - zoom).abs() > 0.01 {
            ctx.set_zoom_factor(zoom);
        }
        // Computed on the first slide, and again only after the data or the views changed.
        let started = self.models.get::<StoryModels>().ensure_slides();
        self.monitors.extend(started);
        let story = self.models.get::<StoryModels>();
        let Some(p) = &self.presentation else { return };
        egui::CentralPanel::default().show(ui, |ui| {
            match story.slides.as_ref().and_then(|s| s.slides.get(p.index).map(|slide| (s, slide))) {
                Some((prepared, slide)) if prepared.story == story.story => {
                    crate::ui::slide_view::show(ui, slide, p.index + 1, prepared.slides.len())
                }
                _ => {
                    ui.heading(RichText::new(&p.views[p.index].view.title).size(30.0).strong());
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("Preparing the slides… {} / {}", p.index + 1, p.views.len()));
                    });
                }
            }
        });
    }

    fn story_sidebar(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        let last_day = self.last_day();
        let action = self.sidebar.ui(ui, self.models.get::<StoryModels>(), last_day);
        match action {
            Some(SidebarAction::Open(saved)) => self.open_view(&saved),
            Some(SidebarAction::Present(index)) => self.start_presentation(ctx, index),
            Some(SidebarAction::SaveCurrent) => self.open_save_view(None),
            Some(SidebarAction::ExportReport) => {
                let story = self.models.get::<StoryModels>().story.clone();
                let name = format!("{}.html", story.replace(['/', '\\'], "-"));
                self.ask(rfd::FileDialog::new().set_file_name(name).add_filter("HTML report", &["html"]), Pick::Save, Chosen::Report);
            }
            Some(SidebarAction::ShowStory(name)) => {
                let started = self.models.get::<StoryModels>().show_story(&name);
                self.monitors.extend(started);
            }
            Some(SidebarAction::Change(change)) => {
                let started = self.models.get::<StoryModels>().change(change);
                self.monitors.extend(started);
            }
            None => {}
        }
    }

    /// Opens the "Save view" dialog for the current panel, titled `title` or by the panel.
    fn open_save_view(&mut self, title: Option<String>) {
        let index = self.panels.iter().position(|p| p.id() == self.settings.panel_id).unwrap_or(0);
        let fixed = self.filters.from.is_some() || self.filters.to.is_some();
        let story = self.models.get::<StoryModels>().story.clone();
        let panel = &self.panels[index];
        let elements = crate::present::slide::elements(panel.id(), &panel.view_state(&self.models).to_json());
        let mut dialog = SaveViewDialog::new(&story, panel.title(), fixed, elements);
        if let Some(title) = title {
            dialog.title = title;
        }
        self.save_view = Some(dialog);
    }

    fn save_view_dialog(&mut self, ctx: &egui::Context) {
        let last_day = self.last_day();
        let Some(dialog) = &mut self.save_view else { return };
        let days = match (self.filters.from, self.filters.to) {
            (None, None) => "all dates".to_string(),
            (from, to) => format!("{} to {}", from.map_or("start".into(), |d| d.to_string()), to.map_or("end".into(), |d| d.to_string())),
        };
        match dialog.ui(ctx, &days, last_day) {
            Some(true) => {
                let index = self.panels.iter().position(|p| p.id() == self.settings.panel_id).unwrap_or(0);
                let panel = &self.panels[index];
                let mut state = panel.view_state(&self.models).to_json();
                if let (Some(element), Some(fields)) = (dialog.element, state.as_object_mut()) {
                    fields.insert("slide".into(), serde_json::to_value(element).unwrap_or_default());
                }
                let view = crate::workspace::views::View {
                    title: dialog.title.trim().to_string(),
                    caption: dialog.caption.trim().to_string(),
                    panel: panel.id().to_string(),
                    state,
                    dates: dialog.date_range(self.filters.from, self.filters.to),
                    country: self.filters.country.clone(),
                };
                let story = dialog.story.trim().to_string();
                self.save_view = None;
                let started = self.models.get::<StoryModels>().change(crate::ui::story::StoryChange::Save { story, view: Box::new(view) });
                self.monitors.extend(started);
            }
            Some(false) => self.save_view = None,
            None => {}
        }
    }
}

impl eframe::App for ShoplensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll_jobs();
        self.poll_dialog(&ctx);
        self.write_screenshots(&ctx);
        self.keep_view_dates();
        if self.presentation.is_some() {
            self.present(ui, &ctx);
            if self.busy() {
                ctx.request_repaint_after(Duration::from_millis(100));
            }
            return;
        }
        self.handle_shortcuts_and_drops(&ctx);
        egui::Panel::top("menu").show(ui, |ui| {
            self.menu_bar(ui);
            self.filter_bar(ui);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            self.messages(ui);
            self.status_bar(ui);
        });
        egui::Panel::left("nav").resizable(false).exact_size(130.0).show(ui, |ui| self.navigation(ui));
        if self.story_sidebar_shown(&ctx) {
            egui::Panel::right("story").resizable(true).default_size(280.0).show(ui, |ui| self.story_sidebar(ui, &ctx));
        }
        egui::CentralPanel::default().show(ui, |ui| self.central(ui));
        self.save_view_dialog(&ctx);
        self.about(&ctx);
        self.damaged_window(&ctx);
        if let Some(dialog) = self.mapping_queue.front_mut() {
            match dialog.ui(&ctx) {
                Some(MappingChoice::Import { file, mut options, joins }) => {
                    self.mapping_queue.pop_front();
                    options.price_feed = self.import_options().price_feed;
                    let item = if joins.is_empty() {
                        ImportItem::File(file, options)
                    } else {
                        // The joined files are part of this import, not imports of their own.
                        self.mapping_queue.retain(|d| !joins.iter().any(|j| j.path == d.file));
                        ImportItem::Joined { spec: import::join::JoinSpec { lines: file, related: joins }, options, remember: true }
                    };
                    self.start_imports(vec![item]);
                }
                Some(MappingChoice::Skip(file)) => {
                    self.mapping_queue.pop_front();
                    self.info(format!("Skipped {}", widgets::display_name(&file)));
                }
                None => {}
            }
        }
        if self.busy() || self.dialog.is_some() || ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}
