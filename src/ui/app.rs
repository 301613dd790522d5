//! The app shell: menus, the global filter bar, navigation, the status bar with running jobs,
//! drag-and-drop import. It owns every job the panels' results come from, so switching panels
//! or filters never waits on I/O: results are cached per filter set and recomputed in jobs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use eframe::egui::{self, RichText};

use crate::analytics::order_frame::OrderFrame;
use crate::analytics::overview::{self, OverviewResult};
use crate::analytics::Filters;
use crate::import::{self, ImportOptions, ImportOutcome};
use crate::jobs::{outcome, take_finished as finished, Job, JobMonitor};
use crate::ui::customer_models::CustomerModels;
use crate::ui::event_models::EventModels;
use crate::ui::file_dialog::{PendingDialog, Pick};
use crate::ui::mapping_dialog::{MappingChoice, MappingDialog};
use crate::ui::panels::customer_value::CustomerValuePanel;
use crate::ui::panels::data::DataPanel;
use crate::ui::panels::funnel::{FunnelPanel, LiveRequest};
use crate::ui::panels::overview::{OverviewAction, OverviewPanel};
use crate::ui::panels::segments::SegmentsPanel;
use crate::ui::panels::sql::{SqlAction, SqlPanel};
use crate::ui::panels::{PanelId, PanelRequest};
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
    pub panel: PanelId,
}

impl Default for Settings {
    fn default() -> Self {
        Self { recent: Vec::new(), dark: false, presentation: false, panel: PanelId::Overview }
    }
}

struct Message {
    text: String,
    error: bool,
}

type ImportResults = Vec<(PathBuf, Result<ImportOutcome, String>)>;
type Inspections = Vec<(PathBuf, Result<import::Inspection, String>)>;

pub struct ShoplensApp {
    settings: Settings,
    workspace: Option<PathBuf>,
    filters: Filters,
    from_text: String,
    to_text: String,
    snapshot: Option<Arc<WorkspaceSnapshot>>,
    snapshot_job: Option<Job<Result<WorkspaceSnapshot, String>>>,
    frame: Option<Arc<OrderFrame>>,
    frame_job: Option<Job<Result<OrderFrame, String>>>,
    /// Which in-memory copies to reload once the listing job has (re)created the workspace:
    /// (order lines, events).
    reload_after_snapshot: (bool, bool),
    overview: OverviewPanel,
    overview_results: HashMap<Filters, Arc<OverviewResult>>,
    overview_job: Option<(Filters, Job<Result<OverviewResult, String>>)>,
    shown_overview: Option<Arc<OverviewResult>>,
    /// RFM, clusters, cohorts and CLV: shared by the Segments and Customer value panels.
    customer_models: CustomerModels,
    segments: SegmentsPanel,
    customer_value: CustomerValuePanel,
    /// Events copy, funnel, carts, forecast and live mode, for the Funnel panel.
    event_models: EventModels,
    funnel: FunnelPanel,
    data: DataPanel,
    sql: SqlPanel,
    import_job: Option<Job<ImportResults>>,
    /// Files being looked at before import, to decide whether to ask for a mapping.
    inspect_job: Option<Job<Inspections>>,
    /// Files waiting for the running import to finish.
    import_queue: Vec<(PathBuf, ImportOptions)>,
    /// Unrecognised files waiting for the user's mapping, shown one at a time.
    mapping_queue: std::collections::VecDeque<MappingDialog>,
    demo_job: Option<Job<Result<PathBuf, String>>>,
    /// Jobs whose only outcome is a message (exports, Save As, saving a query).
    chores: Vec<Job<Result<String, String>>>,
    monitors: Vec<JobMonitor>,
    messages: Vec<Message>,
    show_about: bool,
    /// The file dialog being answered, if any (one at a time).
    dialog: Option<PendingDialog<Chosen>>,
    /// Window screenshots on their way to PNG files: (target file, chart rect in points, image).
    screenshots: (Sender<Screenshot>, Receiver<Screenshot>),
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
    pub fn new(cc: &eframe::CreationContext<'_>, workspace: Option<PathBuf>) -> Self {
        let settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, SETTINGS_KEY)).unwrap_or_default();
        let start = workspace.or_else(|| settings.recent.first().filter(|p| p.exists()).cloned());
        // User data can hold any script; a character the fonts lack must draw as a box, never
        // stop the app (egui's tests make it panic instead, to catch our own labels).
        cc.egui_ctx.set_missing_glyph_policy(egui::epaint::text::MissingGlyphPolicy::Tofu);
        let mut app = Self::with_settings(&cc.egui_ctx, settings, start);
        if app.workspace.is_none() {
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
            workspace: None,
            filters: Filters::default(),
            from_text: String::new(),
            to_text: String::new(),
            snapshot: None,
            snapshot_job: None,
            frame: None,
            frame_job: None,
            reload_after_snapshot: (false, false),
            overview: OverviewPanel::default(),
            overview_results: HashMap::new(),
            overview_job: None,
            shown_overview: None,
            customer_models: CustomerModels::default(),
            segments: SegmentsPanel::default(),
            customer_value: CustomerValuePanel::default(),
            event_models: EventModels::default(),
            funnel: FunnelPanel::default(),
            data: DataPanel::default(),
            sql: SqlPanel::default(),
            import_job: None,
            inspect_job: None,
            import_queue: Vec::new(),
            mapping_queue: Default::default(),
            demo_job: None,
            chores: Vec::new(),
            monitors: Vec::new(),
            messages: Vec::new(),
            show_about: false,
            screenshots: std::sync::mpsc::channel(),
            dialog: None,
        };
        app.apply_view_settings(ctx);
        if let Some(path) = workspace {
            app.open_workspace(path);
        }
        app
    }

    pub fn workspace(&self) -> Option<&Path> {
        self.workspace.as_deref()
    }

    /// True while any job this app started is still running.
    pub fn busy(&self) -> bool {
        self.monitors.iter().any(JobMonitor::is_running) || self.customer_models.busy() || self.event_models.busy()
    }

    fn apply_view_settings(&self, ctx: &egui::Context) {
        ctx.set_theme(if self.settings.dark { egui::ThemePreference::Dark } else { egui::ThemePreference::Light });
        ctx.set_zoom_factor(if self.settings.presentation { 1.5 } else { 1.0 });
    }

    fn track<T: Send + 'static>(&mut self, job: &Job<T>) {
        self.monitors.push(job.monitor());
    }

    fn info(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), error: false });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), error: true });
    }

    pub fn open_workspace(&mut self, path: PathBuf) {
        self.settings.recent.retain(|p| p != &path);
        self.settings.recent.insert(0, path.clone());
        self.settings.recent.truncate(MAX_RECENT);
        self.workspace = Some(path);
        self.filters = Filters::default();
        self.from_text.clear();
        self.to_text.clear();
        self.snapshot = None;
        self.frame = None;
        self.shown_overview = None;
        self.overview_results.clear();
        self.customer_models.forget();
        self.segments = SegmentsPanel::default();
        self.event_models.reset();
        self.data = DataPanel::default();
        self.sql.result = None;
        self.refresh();
    }

    /// Re-reads tables, import history, saved queries and schema.
    fn refresh_snapshot(&mut self) {
        let Some(path) = self.workspace.clone() else { return };
        let job = Job::spawn("read workspace", move |_| {
            // Creating the file (and its schema) if new is the one write here.
            drop(Workspace::open(&path).map_err(|e| e.to_string())?);
            let conn = workspace::open_read_only(&path).map_err(|e| e.to_string())?;
            WorkspaceSnapshot::read(&conn).map_err(|e| e.to_string())
        });
        self.track(&job);
        self.snapshot_job = Some(job);
    }

    /// Re-reads the workspace after it changed: the listing, then the columnar copy (the listing
    /// job creates a new workspace file, so the copy must not start before it).
    fn refresh(&mut self) {
        self.refresh_copies(true, true);
    }

    /// Re-reads the listing, then only the copies whose tables changed: an import of order lines
    /// need not reload millions of events, nor the other way round.
    fn refresh_copies(&mut self, orders: bool, events: bool) {
        self.refresh_snapshot();
        // Cached Overview results stay until the new copy arrives (see poll_jobs): clearing them
        // now would only recompute them on the old copy.
        self.reload_after_snapshot = (self.reload_after_snapshot.0 || orders, self.reload_after_snapshot.1 || events);
        self.data.reset();
    }

    fn reload_events(&mut self) {
        let Some(path) = self.workspace.clone() else { return };
        let monitor = self.event_models.reload(path);
        self.monitors.push(monitor);
    }

    fn reload_orders(&mut self) {
        let Some(path) = self.workspace.clone() else { return };
        let job = Job::spawn("load order lines", move |ctx| {
            let conn = workspace::open_read_only(&path).map_err(|e| e.to_string())?;
            OrderFrame::load(&conn, ctx).map_err(|e| e.to_string())
        });
        self.track(&job);
        self.frame_job = Some(job);
    }

    fn build_demo(&mut self) {
        let path = crate::demo::demo_path();
        let job = Job::spawn("build demo workspace", move |ctx| crate::demo::build(&path, ctx).map(|_| path).map_err(|e| e.to_string()));
        self.track(&job);
        self.demo_job = Some(job);
    }

    /// Imports files: each is inspected first; recognised files load at once, the others wait
    /// for the mapping dialog.
    pub fn import_files(&mut self, files: Vec<PathBuf>) {
        let Some(path) = self.workspace.clone() else {
            self.error("Open or create a workspace before importing.");
            return;
        };
        let job = Job::spawn("inspect files", move |_| {
            let conn = workspace::open_read_only(&path).map_err(|e| e.to_string());
            files
                .into_iter()
                .map(|file| {
                    let inspection =
                        conn.as_ref().map_err(Clone::clone).and_then(|c| import::inspect(c, &file, None).map_err(|e| e.to_string()));
                    (file, inspection)
                })
                .collect()
        });
        self.track(&job);
        self.inspect_job = Some(job);
    }

    /// Imports files one after the other, each in its own transaction.
    fn start_imports(&mut self, items: Vec<(PathBuf, ImportOptions)>) {
        let Some(path) = self.workspace.clone() else { return };
        if self.import_job.is_some() {
            self.import_queue.extend(items);
            return;
        }
        if items.is_empty() {
            return;
        }
        let job = Job::spawn("import", move |ctx| {
            let mut results = Vec::new();
            let mut ws = match Workspace::open(&path) {
                Ok(ws) => ws,
                Err(e) => return items.into_iter().map(|(f, _)| (f, Err(e.to_string()))).collect(),
            };
            for (file, options) in items {
                if ctx.is_cancelled() {
                    results.push((file, Err("cancelled".to_string())));
                    continue;
                }
                let result = import::import_file(&mut ws, &file, &options, ctx).map_err(|e| e.to_string());
                results.push((file, result));
            }
            results
        });
        self.track(&job);
        self.import_job = Some(job);
    }

    /// Collects finished jobs; called once per frame before drawing.
    fn poll_jobs(&mut self) {
        match finished(&mut self.demo_job) {
            Some(Ok(path)) => self.open_workspace(path),
            Some(Err(e)) => self.error(format!("Could not build the demo workspace: {e}")),
            None => {}
        }
        match finished(&mut self.snapshot_job) {
            Some(Ok(snapshot)) => {
                self.snapshot = Some(Arc::new(snapshot));
                let (orders, events) = std::mem::take(&mut self.reload_after_snapshot);
                if orders {
                    self.reload_orders();
                }
                if events {
                    self.reload_events();
                }
            }
            Some(Err(e)) => self.error(format!("Could not read the workspace: {e}")),
            None => {}
        }
        match finished(&mut self.frame_job) {
            Some(Ok(frame)) => {
                self.frame = Some(Arc::new(frame));
                // Results from the previous copy are stale, finished or not.
                self.overview_results.clear();
                self.overview_job = None;
                self.customer_models.data_changed(self.workspace.clone());
            }
            Some(Err(e)) => self.error(format!("Could not load order lines: {e}")),
            None => {}
        }
        if let Some((filters, job)) = &mut self.overview_job {
            if let Some(result) = job.try_take() {
                let filters = filters.clone();
                self.overview_job = None;
                match outcome(result) {
                    Ok(result) => {
                        self.overview_results.insert(filters, Arc::new(result));
                    }
                    Err(e) => self.error(format!("Overview failed: {e}")),
                }
            }
        }
        for error in self.customer_models.poll() {
            self.error(error);
        }
        let (errors, appended) = self.event_models.poll();
        for error in errors {
            self.error(error);
        }
        if appended {
            // Live mode added rows: the copy catches up (the shown one stays until it is ready).
            if let Some(path) = self.workspace.clone() {
                let monitor = self.event_models.catch_up(path);
                self.monitors.push(monitor);
                self.refresh_snapshot();
            }
        }
        if let Some(job) = &mut self.inspect_job {
            if let Some(result) = job.try_take() {
                self.inspect_job = None;
                let mut ready = Vec::new();
                for (file, inspection) in result.unwrap_or_default() {
                    match inspection {
                        // Errors surface from the import itself, with the same message as the CLI.
                        Ok(inspection) if inspection.recognised.is_none() => {
                            self.mapping_queue.push_back(MappingDialog::new(file, inspection))
                        }
                        // Events in CSV: read them into memory at once, so the funnel shows
                        // while the import is still writing them to the workspace.
                        Ok(inspection)
                            if inspection.recognised.as_deref() == Some("rees46_events")
                                && file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) =>
                        {
                            let monitor = self.event_models.load_csv_first(file.clone());
                            self.monitors.push(monitor);
                            ready.push((file, ImportOptions::default()));
                        }
                        _ => ready.push((file, ImportOptions::default())),
                    }
                }
                self.start_imports(ready);
            }
        }
        if let Some(job) = &mut self.import_job {
            if let Some(result) = job.try_take() {
                self.import_job = None;
                let (mut orders, mut events) = (false, false);
                for (file, outcome) in result.unwrap_or_else(|e| vec![(PathBuf::new(), Err(e.to_string()))]) {
                    match outcome {
                        Ok(o) => {
                            orders |= o.table == "order_lines";
                            events |= o.table == "events";
                            let r = &o.report;
                            self.info(format!(
                                "Imported {} into {}: {} rows loaded, {} rejected.",
                                widgets::display_name(&file),
                                o.table,
                                widgets::number(r.rows_loaded as f64, 0),
                                widgets::number(r.rows_rejected as f64, 0)
                            ));
                            self.data.import_id = Some(o.import_id);
                        }
                        Err(e) => self.error(format!("{}: {e}", widgets::display_name(&file))),
                    }
                }
                // A copy read straight from an events file is replaced by the workspace's
                // own, whether its import succeeded or not.
                let events = events || self.event_models.unconfirmed();
                self.refresh_copies(orders, events);
                let queued = std::mem::take(&mut self.import_queue);
                self.start_imports(queued);
            }
        }
        let mut finished = Vec::new();
        self.chores.retain_mut(|job| match job.try_take() {
            Some(result) => {
                finished.push(outcome(result));
                false
            }
            None => true,
        });
        if !finished.is_empty() {
            // A chore may have changed the workspace (a saved query): re-read the listing.
            self.refresh_snapshot();
        }
        for result in finished {
            match result {
                Ok(text) => self.info(text),
                Err(text) => self.error(text),
            }
        }
        self.monitors.retain(JobMonitor::is_running);
    }

    /// Starts the Overview computation for the current filters unless it is cached or running.
    fn ensure_overview(&mut self) {
        let Some(frame) = self.frame.clone() else { return };
        if let Some(result) = self.overview_results.get(&self.filters) {
            self.shown_overview = Some(result.clone());
            return;
        }
        if self.overview_job.as_ref().is_some_and(|(f, _)| *f == self.filters) {
            return;
        }
        let filters = self.filters.clone();
        let job_filters = filters.clone();
        let job = Job::spawn("compute overview", move |_| overview::compute(&frame, &job_filters).map_err(|e| e.to_string()));
        self.track(&job);
        self.overview_job = Some((filters, job));
    }

    fn handle_shortcuts_and_drops(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if !dropped.is_empty() {
            self.import_files(dropped);
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
            .add_filter("Data files", &["csv", "tsv", "txt", "gz", "parquet", "xlsx", "jsonl", "ndjson", "json"])
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
            Chosen::ExportTable { header, rows } => {
                let job = Job::spawn("export table", move |_| {
                    crate::analytics::write_csv(&first, &header, rows).map(|n| format!("Saved {n} rows to {}", first.display()))
                });
                self.track(&job);
                self.chores.push(job);
            }
            Chosen::ExportQuery(sql) => self.export_query(sql, first),
            Chosen::Watch => self.watch(first),
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

    fn save_as(&mut self, target: PathBuf) {
        let Some(source) = self.workspace.clone() else { return };
        let job = Job::spawn("save workspace as", move |ctx| {
            let conn = workspace::open_read_only(&source).map_err(|e| e.to_string())?;
            // SQLite's online backup: a consistent copy even while the workspace is in use.
            let progress = |p: rusqlite::backup::Progress| {
                ctx.set_total(p.pagecount.max(0) as u64);
                ctx.set_done((p.pagecount - p.remaining).max(0) as u64);
            };
            conn.backup(rusqlite::MAIN_DB, &target, Some(progress)).map_err(|e| format!("Save As failed: {e}"))?;
            Ok(format!("Saved a copy as {}", target.display()))
        });
        self.track(&job);
        self.chores.push(job);
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
                if ui.add_enabled(self.workspace.is_some(), egui::Button::new("Save As…")).clicked() {
                    self.ask(workspace_dialog().set_file_name("copy.shoplens"), Pick::Save, Chosen::SaveAs);
                }
                ui.separator();
                if ui.add_enabled(self.workspace.is_some(), egui::Button::new("Import…  (Ctrl+I)")).clicked() {
                    self.import_dialog();
                }
                ui.menu_button("Export", |ui| {
                    let overview = self.shown_overview.clone();
                    if ui.add_enabled(overview.is_some(), egui::Button::new("Overview: monthly figures (CSV)…")).clicked() {
                        if let Some(result) = overview {
                            self.export_overview(OverviewAction::ExportMonths, &result);
                        }
                    }
                    let sql = self.sql.text.clone();
                    if ui.add_enabled(self.workspace.is_some(), egui::Button::new("SQL console: current query (CSV)…")).clicked() {
                        self.ask(csv_dialog("query.csv"), Pick::Save, Chosen::ExportQuery(sql));
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
                    if self.workspace.as_deref() == Some(crate::demo::demo_path().as_path()) {
                        self.workspace = None;
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
            let name = self.workspace.as_deref().map_or("no workspace".to_string(), widgets::display_name);
            ui.label(RichText::new(name).strong())
                .on_hover_text(self.workspace.as_deref().map(|p| p.display().to_string()).unwrap_or_default());
            ui.separator();
            let span = self.frame.as_ref().and_then(|f| f.date_span());
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
            let countries = self.frame.as_ref().map(|f| f.country_names()).unwrap_or_default();
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
            self.filters.country = country;
            if ui.button("Reset filters").clicked() {
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
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| format!("'{text}' is not a date like 2010-03-31"))
        };
        match (parse(&self.from_text), parse(&self.to_text)) {
            (Ok(from), Ok(to)) => {
                self.filters.from = from;
                self.filters.to = to;
            }
            (Err(e), _) | (_, Err(e)) => self.error(e),
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(snapshot) = &self.snapshot {
                for table in ["order_lines", "events"] {
                    if let Some((_, count)) = snapshot.tables.iter().find(|(n, _)| n == table) {
                        ui.label(format!("{table}: {}", widgets::number(*count as f64, 0)));
                    }
                }
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
                    monitor.cancel();
                    self.sql.cancel();
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
            ui.label(format!("Version {} (build {})", env!("CARGO_PKG_VERSION"), env!("SHOPLENS_COMMIT")));
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

    fn central(&mut self, ui: &mut egui::Ui) {
        let workspace = self.workspace.clone();
        match self.settings.panel {
            PanelId::Overview => {
                self.ensure_overview();
                if let Some(result) = self.shown_overview.clone() {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        if self.overview_job.is_some() {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label("updating…");
                            });
                        }
                        if let Some(action) = self.overview.ui(ui, &result) {
                            self.export_overview(action, &result);
                        }
                    });
                } else {
                    widgets::waiting(ui, if self.demo_job.is_some() { "Building the demo workspace…" } else { "Loading order lines…" });
                }
            }
            PanelId::Segments | PanelId::CustomerValue => {
                let Some(frame) = self.frame.clone() else {
                    widgets::waiting(ui, if self.demo_job.is_some() { "Building the demo workspace…" } else { "Loading order lines…" });
                    return;
                };
                let filters = self.filters.clone();
                let requests = if self.settings.panel == PanelId::Segments {
                    self.segments.ui(ui, &mut self.customer_models, &frame, &filters)
                } else {
                    self.customer_value.ui(ui, &mut self.customer_models, &frame, &filters)
                };
                for request in requests {
                    self.handle_request(request);
                }
            }
            PanelId::Funnel => {
                let filters = self.filters.clone();
                let (requests, live) = self.funnel.ui(ui, &mut self.event_models, &filters);
                for request in requests {
                    self.handle_request(request);
                }
                match live {
                    Some(LiveRequest::PickFile) => {
                        let dialog = rfd::FileDialog::new().add_filter("Events CSV", &["csv"]);
                        self.ask(dialog, Pick::File, Chosen::Watch);
                    }
                    Some(LiveRequest::PickFolder) => self.ask(rfd::FileDialog::new(), Pick::Folder, Chosen::Watch),
                    Some(LiveRequest::Stop) => self.event_models.stop_watch(),
                    None => {}
                }
            }
            PanelId::Data => {
                let snapshot = self.snapshot.clone();
                if let Some(monitor) = self.data.ui(ui, workspace.as_deref(), snapshot.as_deref()) {
                    self.monitors.push(monitor);
                }
            }
            PanelId::Sql => {
                let snapshot = self.snapshot.clone();
                match self.sql.ui(ui, workspace.as_deref(), snapshot.as_deref()) {
                    Some(SqlAction::Track(monitor)) => self.monitors.push(monitor),
                    Some(SqlAction::SaveQuery { name, sql }) => self.save_query(name, sql),
                    Some(SqlAction::Export { sql }) => self.ask(csv_dialog("query.csv"), Pick::Save, Chosen::ExportQuery(sql)),
                    None => {}
                }
            }
        }
    }

    /// Starts live mode on a file or folder.
    pub fn watch(&mut self, target: PathBuf) {
        let Some(path) = self.workspace.clone() else {
            self.error("Open or create a workspace before watching a file.");
            return;
        };
        let monitor = self.event_models.start_watch(path, target.clone());
        self.monitors.push(monitor);
        self.info(format!("Watching {} for new events", target.display()));
    }

    fn handle_request(&mut self, request: PanelRequest) {
        match request {
            PanelRequest::Export { file_name, table: (header, rows) } => {
                self.ask(csv_dialog(&file_name), Pick::Save, Chosen::ExportTable { header, rows })
            }
            PanelRequest::SaveGrid(grid) => {
                if let Some(job) = self.customer_models.set_grid(*grid, self.workspace.clone()) {
                    self.track(&job);
                    self.chores.push(job);
                }
            }
            PanelRequest::Track(monitor) => self.monitors.push(monitor),
        }
    }

    fn write_screenshots(&mut self, ctx: &egui::Context) {
        let pixels_per_point = ctx.pixels_per_point();
        while let Ok((path, rect, image)) = self.screenshots.1.try_recv() {
            let job = Job::spawn("save chart", move |_| widgets::save_chart_png(&image, rect, pixels_per_point, &path));
            self.track(&job);
            self.chores.push(job);
        }
    }

    fn export_overview(&mut self, action: OverviewAction, result: &OverviewResult) {
        use crate::analytics::overview::{months_table, ranked_table};
        let (name, (header, rows)) = match action {
            OverviewAction::SavePng { name, rect } => {
                let dialog = rfd::FileDialog::new().set_file_name(name).add_filter("PNG image", &["png"]);
                self.ask(dialog, Pick::Save, Chosen::SavePng(rect));
                return;
            }
            OverviewAction::ExportMonths => ("overview_months.csv", months_table(result)),
            OverviewAction::ExportCountries => {
                ("top_countries.csv", ranked_table(&result.top_countries, ["country", "", "revenue", "orders"]))
            }
            OverviewAction::ExportProducts => {
                ("top_products.csv", ranked_table(&result.top_products, ["stock_code", "description", "revenue", "units"]))
            }
        };
        self.ask(csv_dialog(name), Pick::Save, Chosen::ExportTable { header, rows });
    }

    fn save_query(&mut self, name: String, sql: String) {
        let Some(path) = self.workspace.clone() else { return };
        let job = Job::spawn("save query", move |_| {
            let ws = Workspace::open(&path).map_err(|e| e.to_string())?;
            ws.conn()
                .execute("INSERT OR REPLACE INTO saved_queries (name, sql, starter) VALUES (?1, ?2, 0)", [&name, &sql])
                .map_err(|e| e.to_string())?;
            Ok(format!("Saved query '{name}'"))
        });
        self.track(&job);
        self.chores.push(job);
    }

    fn export_query(&mut self, sql: String, target: PathBuf) {
        let Some(path) = self.workspace.clone() else { return };
        let job = Job::spawn("export query", move |_| {
            let file = std::fs::File::create(&target).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            workspace::snapshot::query_to_csv(&path, &sql, std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
            Ok(format!("Exported the query to {}", target.display()))
        });
        self.track(&job);
        self.chores.push(job);
    }
}

impl eframe::App for ShoplensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll_jobs();
        self.poll_dialog(&ctx);
        self.write_screenshots(&ctx);
        self.handle_shortcuts_and_drops(&ctx);
        egui::Panel::top("menu").show(ui, |ui| {
            self.menu_bar(ui);
            self.filter_bar(ui);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            self.messages(ui);
            self.status_bar(ui);
        });
        egui::Panel::left("nav").resizable(false).exact_size(130.0).show(ui, |ui| {
            ui.add_space(6.0);
            for panel in PanelId::ALL {
                let selected = self.settings.panel == panel;
                if ui
                    .add_sized([118.0, 28.0], egui::Button::selectable(selected, RichText::new(panel.title()).size(15.0)))
                    .on_hover_text(panel.hint())
                    .clicked()
                {
                    self.settings.panel = panel;
                }
            }
            ui.add_space(12.0);
            if ui.add_enabled(self.workspace.is_some(), egui::Button::new("Import…")).on_hover_text("Or drop files on the window").clicked()
            {
                self.import_dialog();
            }
        });
        egui::CentralPanel::default().show(ui, |ui| self.central(ui));
        self.about(&ctx);
        if let Some(dialog) = self.mapping_queue.front_mut() {
            match dialog.ui(&ctx) {
                Some(MappingChoice::Import(file, options)) => {
                    self.mapping_queue.pop_front();
                    self.start_imports(vec![(file, options)]);
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
