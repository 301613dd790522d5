//! Warehouse sources in the window: the saved connections (listed in the Data panel), adding and
//! testing one, browsing its tables, previewing a table or a query, importing either, and
//! running the Overview, Segments or the Funnel on a server table. [`WarehouseModels`] owns every job; each job opens
//! its own read-only session and a cancel reaches the server.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{self, RichText};

use super::{PanelContext, StartImport};
use crate::analytics::funnel::{FunnelResult, FunnelSettings};
use crate::analytics::overview::OverviewResult;
use crate::analytics::rfm::SegmentGrid;
use crate::analytics::Filters;
use crate::jobs::{take_finished, Job, JobMonitor, JobResult, Keyed};
use crate::ui::models::{DataChange, PanelModels, PollContext};
use crate::ui::widgets;
use crate::warehouse::browse::{self, Preview, Relation, ServerTable};
use crate::warehouse::{self, pushdown, Server};
use crate::workspace::catalogue::Target;
use crate::workspace::sources::{self, SourceConfig};
use crate::workspace::{self, Workspace};

/// A server table a panel runs on, chosen in the Data panel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChosenTable {
    pub source: String,
    pub table: String,
}

/// A result computed on a server, with what crossed the network.
pub struct OnServer<T> {
    pub result: T,
    pub bytes: u64,
}

type FunnelKey = (ChosenTable, Filters, FunnelSettings);
/// The table, filters, analysis date and the segment map (as JSON: the map is not hashable).
type RfmKey = (ChosenTable, Filters, Option<chrono::NaiveDate>, String);

/// The new-connection form.
#[derive(Clone)]
struct AddForm {
    name: String,
    host: String,
    port: String,
    database: String,
    user: String,
    tls: bool,
    /// A private CA's certificate (PEM), optional.
    ca_file: String,
    /// Another machine without encryption (then no password is sent).
    plain_text: bool,
    /// Seconds to wait for the connection, TLS, login and the first answer.
    timeout: String,
}

impl Default for AddForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            host: "localhost".into(),
            port: "5432".into(),
            database: String::new(),
            user: String::new(),
            tls: false,
            ca_file: String::new(),
            plain_text: false,
            timeout: "15".into(),
        }
    }
}

/// The password for `source` (typed, else PGPASSWORD or ~/.pgpass), looked up on the job's
/// thread, and only for a source the user confirmed: `Server::connect` refuses the others.
fn password(source: &SourceConfig, typed: Option<String>) -> Option<String> {
    warehouse::trust::is_trusted(source).then(|| warehouse::find_password(source, typed).0).flatten()
}

#[derive(Default)]
pub struct WarehouseModels {
    workspace: Option<PathBuf>,
    sources: Vec<SourceConfig>,
    sources_job: Option<Job<(Vec<SourceConfig>, HashSet<String>)>>,
    /// Sources the user has not added or confirmed on this machine (a received workspace's):
    /// nothing connects to them until the user trusts them.
    untrusted: HashSet<String>,
    /// The source shown in the Data panel (a workspace table or import clears it).
    pub selected: Option<String>,
    /// Passwords typed this session, by source: kept in memory only, never written anywhere.
    passwords: HashMap<String, String>,
    form: Option<AddForm>,
    save_job: Option<Job<String>>,
    test: Option<(String, Result<String, String>)>,
    test_job: Option<(String, Job<String>)>,
    tables: Option<(String, Result<Vec<ServerTable>, String>)>,
    tables_job: Option<(String, Job<Vec<ServerTable>>)>,
    table: Option<String>,
    query: String,
    preview: Option<(Relation, Result<Preview, String>)>,
    preview_job: Option<(Relation, Job<Preview>)>,
    /// Where the Overview runs when the user picks the server.
    pub overview_on: Option<ChosenTable>,
    /// True: the Overview shows the server's figures; false: the workspace's copy.
    pub overview_on_server: bool,
    overview: Keyed<(ChosenTable, Filters), OnServer<OverviewResult>>,
    /// True: Segments shows the server's RFM over the same order-lines table as the Overview.
    pub segments_on_server: bool,
    rfm: Keyed<RfmKey, OnServer<pushdown::ServerRfm>>,
    /// Where the funnel runs when the user picks the server (an events table).
    pub events_on: Option<ChosenTable>,
    pub funnel_on_server: bool,
    funnel: Keyed<FunnelKey, OnServer<FunnelResult>>,
}

impl WarehouseModels {
    pub fn close_form(&mut self) {
        self.form = None;
    }

    fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The password typed for `source` this session, if any. PGPASSWORD and ~/.pgpass are read
    /// by the job that connects ([`password`]), never on the UI thread.
    fn typed_password(&self, source: &SourceConfig) -> Option<String> {
        self.passwords.get(&source.name).filter(|p| !p.is_empty()).cloned()
    }

    /// Lets the failed server runs (Overview, RFM, funnel) run again when next asked (Retry).
    pub fn retry(&mut self) {
        self.overview.forget_error();
        self.rfm.forget_error();
        self.funnel.forget_error();
    }

    /// Reads the saved sources of `workspace`, once (a save reads them again).
    fn load(&mut self, workspace: &std::path::Path) -> Option<JobMonitor> {
        if self.workspace.as_deref() == Some(workspace) {
            return None;
        }
        self.workspace = Some(workspace.to_path_buf());
        let path = workspace.to_path_buf();
        let job = Job::spawn("read warehouse sources", move |_| {
            let list = sources::list(&workspace::open_read_only(&path)?)?;
            let untrusted = list.iter().filter(|s| !warehouse::trust::is_trusted(s)).map(|s| s.name.clone()).collect();
            Ok((list, untrusted))
        });
        let monitor = job.monitor();
        self.sources_job = Some(job);
        Some(monitor)
    }

    fn connected<T: Send + 'static>(
        &self,
        name: &str,
        what: &str,
        work: impl FnOnce(&Server, &crate::jobs::JobContext) -> Result<T, warehouse::WarehouseError> + Send + 'static,
    ) -> Option<Job<T>> {
        let source = self.source(name)?.clone();
        let typed = self.typed_password(&source);
        Some(Job::spawn(format!("{what} on {}", source.name), move |ctx| {
            let password = password(&source, typed);
            let server = Server::connect(&source, password.as_deref(), ctx)?;
            Ok(work(&server, ctx)?)
        }))
    }

    fn request_tables(&mut self, name: &str) -> Option<JobMonitor> {
        let job = self.connected(name, "list tables", browse::tables)?;
        let monitor = job.monitor();
        self.tables_job = Some((name.to_string(), job));
        Some(monitor)
    }

    fn request_test(&mut self, name: &str) -> Option<JobMonitor> {
        let job = self.connected(name, "test connection", |server, ctx| {
            let tables = browse::tables(server, ctx)?.len();
            Ok(format!("{} · {tables} tables and views readable · read-only session", server.version(ctx)?))
        })?;
        let monitor = job.monitor();
        self.test_job = Some((name.to_string(), job));
        Some(monitor)
    }

    fn request_preview(&mut self, name: &str, relation: Relation) -> Option<JobMonitor> {
        let for_job = relation.clone();
        let job = self.connected(name, "preview", move |server, ctx| browse::preview(server, ctx, &for_job, 100))?;
        let monitor = job.monitor();
        self.preview_job = Some((relation, job));
        Some(monitor)
    }

    /// An import job of `relation`, in the shape the shell's import flow takes.
    pub fn import_job(&self, name: &str, relation: Relation) -> Option<StartImport> {
        let workspace = self.workspace.clone()?;
        let source = self.source(name)?.clone();
        let typed = self.typed_password(&source);
        let file = PathBuf::from(format!("{} {}", source.name, relation.describe()));
        Some(Box::new(move || {
            Job::spawn(format!("import from {}", source.name), move |ctx| {
                let result = (|| {
                    let password = password(&source, typed);
                    let mut ws = Workspace::open(&workspace)?;
                    let server = Server::connect(&source, password.as_deref(), ctx)?;
                    warehouse::pull::import(&mut ws, &server, &relation, &Default::default(), ctx)
                })();
                Ok(vec![(file, result.map_err(|e| e.to_string()))])
            })
        }))
    }

    /// What starts a job running `work` on `on`'s table (read as `target`) on its server.
    fn table_job<T: Send + Sync + 'static>(
        &self,
        what: &'static str,
        on: ChosenTable,
        target: Target,
        work: impl FnOnce(&Server, &crate::jobs::JobContext, &pushdown::MappedTable) -> Result<T, warehouse::WarehouseError> + Send + 'static,
    ) -> Option<impl FnOnce() -> Job<OnServer<T>>> {
        let source = self.source(&on.source)?.clone();
        let (typed, workspace) = (self.typed_password(&source), self.workspace.clone()?);
        Some(move || {
            Job::spawn(what, move |ctx| {
                let password = password(&source, typed);
                let run = pushdown::TableRun {
                    workspace: &workspace,
                    source: &source,
                    password: password.as_deref(),
                    table: &on.table,
                    target,
                    map: &[],
                };
                let (result, bytes) = pushdown::on_table(run, ctx, work)?;
                Ok(OnServer { result, bytes })
            })
        })
    }

    /// Makes sure the Overview of `filters` on the server table is known or on its way.
    pub fn request_overview(&mut self, filters: &Filters) -> Option<JobMonitor> {
        let on = self.overview_on.clone()?;
        let key = (on.clone(), filters.clone());
        if self.overview.has(&key) {
            return None;
        }
        let filters = filters.clone();
        let spawn = self.table_job("overview on the server", on, Target::OrderLines, move |server, ctx, table| {
            pushdown::overview(server, ctx, table, &filters, true)
        })?;
        self.overview.request(&key, spawn)
    }

    /// The server's Overview for `filters`, or the last one finished (not current).
    pub fn shown_overview(&self, filters: &Filters) -> Option<(Arc<OnServer<OverviewResult>>, bool)> {
        self.overview.shown(&(self.overview_on.clone()?, filters.clone()))
    }

    pub fn overview_error(&self, filters: &Filters) -> Option<&str> {
        self.overview.error_for(&(self.overview_on.clone()?, filters.clone()))
    }

    fn rfm_key(&self, filters: &Filters, date: Option<chrono::NaiveDate>, grid: &SegmentGrid) -> Option<RfmKey> {
        Some((self.overview_on.clone()?, filters.clone(), date, serde_json::to_string(grid).ok()?))
    }

    /// Makes sure RFM of `filters` on the server's order-lines table is known or on its way.
    pub fn request_rfm(&mut self, filters: &Filters, date: Option<chrono::NaiveDate>, grid: &SegmentGrid) -> Option<JobMonitor> {
        let key = self.rfm_key(filters, date, grid)?;
        if self.rfm.has(&key) {
            return None;
        }
        let (filters, grid) = (filters.clone(), grid.clone());
        let spawn = self.table_job("RFM on the server", key.0.clone(), Target::OrderLines, move |server, ctx, table| {
            pushdown::rfm(server, ctx, table, &filters, date, &grid)
        })?;
        self.rfm.request(&key, spawn)
    }

    /// The server's RFM for these inputs, or the last one finished (not current).
    pub fn shown_rfm(
        &self,
        filters: &Filters,
        date: Option<chrono::NaiveDate>,
        grid: &SegmentGrid,
    ) -> Option<(Arc<OnServer<pushdown::ServerRfm>>, bool)> {
        self.rfm.shown(&self.rfm_key(filters, date, grid)?)
    }

    pub fn rfm_error(&self, filters: &Filters, date: Option<chrono::NaiveDate>, grid: &SegmentGrid) -> Option<&str> {
        self.rfm.error_for(&self.rfm_key(filters, date, grid)?)
    }

    /// Makes sure the funnel of `settings` and `filters` on the server's events table is known
    /// or on its way.
    pub fn request_funnel(&mut self, filters: &Filters, settings: &FunnelSettings) -> Option<JobMonitor> {
        let on = self.events_on.clone()?;
        let key = (on.clone(), filters.clone(), settings.clone());
        if self.funnel.has(&key) {
            return None;
        }
        let (filters, settings) = (filters.clone(), settings.clone());
        let spawn = self.table_job("funnel on the server", on, Target::Events, move |server, ctx, table| {
            pushdown::funnel(server, ctx, table, &filters, &settings)
        })?;
        self.funnel.request(&key, spawn)
    }

    /// The server's funnel for these inputs, or the last one finished (not current).
    pub fn shown_funnel(&self, filters: &Filters, settings: &FunnelSettings) -> Option<(Arc<OnServer<FunnelResult>>, bool)> {
        self.funnel.shown(&(self.events_on.clone()?, filters.clone(), settings.clone()))
    }

    pub fn funnel_error(&self, filters: &Filters, settings: &FunnelSettings) -> Option<&str> {
        self.funnel.error_for(&(self.events_on.clone()?, filters.clone(), settings.clone()))
    }
}

impl PanelModels for WarehouseModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        if let Some(result) = take_finished(&mut self.sources_job) {
            match result {
                Ok((list, untrusted)) => {
                    self.sources = list;
                    self.untrusted = untrusted;
                }
                Err(e) => cx.report("Reading warehouse sources failed", e.message().map(str::to_string)),
            }
        }
        if cx.chore_outcome(take_finished(&mut self.save_job), "Saving the connection failed") {
            self.form = None;
            if let Some(path) = self.workspace.take() {
                self.sources.clear();
                if let Some(monitor) = self.load(&path) {
                    cx.track(monitor);
                }
            }
        }
        fn finish<T: Send + 'static>(slot: &mut Option<(String, Job<T>)>) -> Option<(String, JobResult<T>)> {
            let (name, job) = slot.as_mut()?;
            let result = job.try_take()?;
            let name = name.clone();
            *slot = None;
            Some((name, result))
        }
        if let Some((name, result)) = finish(&mut self.test_job) {
            self.test = Some((name, result.map_err(|e| e.to_string())));
        }
        if let Some((name, result)) = finish(&mut self.tables_job) {
            self.tables = Some((name, result.map_err(|e| e.to_string())));
        }
        if let Some((relation, job)) = &mut self.preview_job {
            if let Some(result) = job.try_take() {
                self.preview = Some((relation.clone(), result.map_err(|e| e.to_string())));
                self.preview_job = None;
            }
        }
        cx.report("Overview on the server failed", self.overview.poll());
        cx.report("RFM on the server failed", self.rfm.poll());
        cx.report("Funnel on the server failed", self.funnel.poll());
    }

    fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
        // Another workspace has other sources; an import changes nothing on a server.
        if matches!(change, DataChange::Workspace) {
            *self = Self::default();
        }
    }

    fn busy(&self) -> bool {
        self.sources_job.is_some()
            || self.save_job.is_some()
            || self.test_job.is_some()
            || self.tables_job.is_some()
            || self.preview_job.is_some()
            || self.overview.is_running()
            || self.funnel.is_running()
            || self.rfm.is_running()
    }
}

/// The "Computed on: the copy / the server: source › table" row a panel shows once a server
/// table is chosen for it; `on_server` is the choice. `local` names the copy, `travels` says
/// what comes back from the server.
pub fn computed_on_ui(ui: &mut egui::Ui, on: &ChosenTable, on_server: &mut bool, local: &str, travels: &str) {
    ui.horizontal(|ui| {
        ui.label("Computed on:");
        ui.radio_value(on_server, false, local);
        ui.radio_value(on_server, true, format!("the server: {} › {}", on.source, on.table)).on_hover_text(travels);
    });
}

/// What the Data panel should do after drawing the sources.
pub enum SourceAction {
    Import { source: String, relation: Relation },
}

/// The saved sources in the Data panel's left column.
pub fn list_ui(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) -> bool {
    let Some(path) = cx.data.path.clone() else { return false };
    let models = cx.models.get::<WarehouseModels>();
    let started = models.load(&path);
    let mut picked = false;
    ui.heading("Warehouse sources");
    if models.sources.is_empty() && models.sources_job.is_none() {
        ui.label(RichText::new("None saved. Add a PostgreSQL (or Citus, Greenplum) connection to browse and import its tables.").weak());
    }
    let names: Vec<(String, String)> = models.sources.iter().map(|s| (s.name.clone(), s.address())).collect();
    for (name, address) in names {
        let selected = models.selected.as_deref() == Some(name.as_str());
        // A source not confirmed on this computer says so in the list, not only when picked.
        let label = if models.untrusted.contains(&name) {
            RichText::new(format!("{name}  ·  {address}  ·  not confirmed")).color(ui.visuals().warn_fg_color)
        } else {
            RichText::new(format!("{name}  ·  {address}"))
        };
        if ui.selectable_label(selected, label).clicked() {
            models.selected = Some(name.clone());
            models.form = None;
            picked = true;
        }
    }
    if ui.button("Add connection…").on_hover_text("Host, port, database, user; the password is never saved").clicked() {
        models.form = Some(AddForm::default());
        models.selected = None;
        picked = true;
    }
    cx.track(started);
    picked
}

/// The central view of the selected source (or the new-connection form); `None` when neither
/// is shown.
pub fn detail_ui(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) -> Option<Option<SourceAction>> {
    let models = cx.models.get::<WarehouseModels>();
    let mut started: Vec<JobMonitor> = Vec::new();
    if let Some(mut form) = models.form.take() {
        let mut keep = true;
        ui.heading("New warehouse connection");
        egui::Grid::new("source_form").num_columns(2).show(ui, |ui| {
            for (label, value) in [
                ("Name", &mut form.name),
                ("Host", &mut form.host),
                ("Port", &mut form.port),
                ("Database", &mut form.database),
                ("User", &mut form.user),
            ] {
                let label = ui.label(label);
                ui.text_edit_singleline(value).labelled_by(label.id);
                ui.end_row();
            }
            ui.label("Encryption");
            ui.vertical(|ui| {
                ui.label(RichText::new("Always TLS to another machine, its certificate checked against the system's roots.").weak());
                ui.add_enabled(!form.plain_text, egui::Checkbox::new(&mut form.tls, "TLS on this computer too"));
                ui.checkbox(&mut form.plain_text, "No encryption to another machine (then no password is ever sent)");
            });
            ui.end_row();
            let label = ui.label("Private CA");
            ui.add_enabled(
                !form.plain_text,
                egui::TextEdit::singleline(&mut form.ca_file).hint_text("optional: the CA certificate's PEM file").desired_width(260.0),
            )
            .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Wait up to (s)");
            ui.add(egui::TextEdit::singleline(&mut form.timeout).desired_width(60.0)).labelled_by(label.id);
            ui.end_row();
        });
        ui.label(
            RichText::new("The password is not saved: shoplens reads PGPASSWORD or ~/.pgpass, or you type it when you connect.").weak(),
        );
        let port = form.port.trim().parse::<u16>();
        if port.is_err() {
            ui.colored_label(widgets::BAD, "The port is a number such as 5432.");
        }
        let timeout = form.timeout.trim().parse::<u32>().ok().filter(|s| (1..=600).contains(s));
        if timeout.is_none() {
            ui.colored_label(widgets::BAD, "The wait is a number of seconds from 1 to 600.");
        }
        let ca_file = Some(form.ca_file.trim()).filter(|f| !f.is_empty() && !form.plain_text).map(str::to_string);
        let ready = !form.name.trim().is_empty()
            && !form.database.trim().is_empty()
            && !form.user.trim().is_empty()
            && port.is_ok()
            && timeout.is_some();
        ui.horizontal(|ui| {
            if ui.add_enabled(ready && models.save_job.is_none(), egui::Button::new("Save connection")).clicked() {
                let source = SourceConfig {
                    name: form.name.trim().to_string(),
                    host: form.host.trim().to_string(),
                    port: port.clone().unwrap_or(5432),
                    database: form.database.trim().to_string(),
                    user: form.user.trim().to_string(),
                    tls: form.tls && !form.plain_text,
                    plain_text: form.plain_text,
                    ca_file,
                    connect_timeout: timeout,
                };
                if let Some(path) = models.workspace.clone() {
                    let job = Job::spawn("save connection", move |_| {
                        if let Some(ca) = &source.ca_file {
                            if !std::path::Path::new(ca).is_file() {
                                return Err(crate::jobs::JobError::failed(format!("the CA certificate {ca} is not a file")));
                            }
                        }
                        sources::add(Workspace::open(&path)?.conn(), &source)?;
                        // Added here by the user: a connection a password may go to.
                        crate::warehouse::trust::trust(&source)?;
                        Ok(format!("Saved the connection {} ({}).", source.name, source.address()))
                    });
                    started.push(job.monitor());
                    models.save_job = Some(job);
                }
            }
            if ui.button("Cancel").clicked() {
                keep = false;
            }
        });
        if keep {
            models.form = Some(form);
        }
        cx.track(started);
        return Some(None);
    }
    let name = models.selected.clone()?;
    let source = models.source(&name)?.clone();
    let mut action = None;
    ui.heading(format!("{}  ·  {}", source.name, source.address()));
    if models.untrusted.contains(&name) {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "This connection was not added or confirmed on this computer: a workspace you received may name any server, to collect \
             the password shoplens would send it. shoplens does not connect to it until you confirm it is yours.",
        );
        if ui.add_enabled(models.save_job.is_none(), egui::Button::new("Trust this connection")).clicked() {
            let job = Job::spawn("trust connection", move |_| {
                warehouse::trust::trust(&source)?;
                Ok(format!("Trusted {} ({}).", source.name, source.address()))
            });
            started.push(job.monitor());
            models.save_job = Some(job);
        }
        cx.track(started);
        return Some(None);
    }
    ui.horizontal(|ui| {
        let label = ui.label("Password");
        let password = models.passwords.entry(name.clone()).or_default();
        ui.add(egui::TextEdit::singleline(password).password(true).desired_width(160.0).hint_text("PGPASSWORD / ~/.pgpass"))
            .labelled_by(label.id)
            .on_hover_text("Kept only while the app runs; never written to the workspace");
        if ui.add_enabled(models.test_job.is_none(), egui::Button::new("Test")).clicked() {
            started.extend(models.request_test(&name));
        }
        if ui.add_enabled(models.tables_job.is_none(), egui::Button::new("Browse tables")).clicked() {
            started.extend(models.request_tables(&name));
        }
    });
    match &models.test {
        Some((n, Ok(text))) if *n == name => {
            ui.colored_label(widgets::GOOD, format!("Connected: {text}"));
        }
        Some((n, Err(e))) if *n == name => {
            ui.colored_label(widgets::BAD, e);
        }
        _ => {}
    }
    if models.test_job.is_some() || models.tables_job.is_some() {
        ui.spinner();
    }
    ui.separator();
    let tables = match &models.tables {
        Some((n, Ok(tables))) if *n == name => Some(tables.clone()),
        Some((n, Err(e))) if *n == name => {
            ui.colored_label(widgets::BAD, e);
            None
        }
        _ => None,
    };
    ui.columns(2, |columns| {
        let ui = &mut columns[0];
        ui.strong("Tables and views (row estimates from the server's statistics)");
        match &tables {
            Some(tables) => {
                egui::ScrollArea::vertical().id_salt("server_tables").max_height(260.0).show(ui, |ui| {
                    egui::Grid::new("server_tables_grid").striped(true).num_columns(3).show(ui, |ui| {
                        for t in tables {
                            let qualified = t.qualified();
                            if ui.selectable_label(models.table.as_deref() == Some(qualified.as_str()), &qualified).clicked() {
                                models.table = Some(qualified.clone());
                                started.extend(models.request_preview(&name, Relation::Table(qualified.clone())));
                            }
                            ui.label(RichText::new(&t.kind).weak());
                            ui.label(t.rows_estimate.map_or("—".to_string(), |n| widgets::number(n as f64, 0)));
                            ui.end_row();
                        }
                    });
                });
            }
            None => {
                ui.label(RichText::new("Browse tables to list them.").weak());
            }
        }
        let ui = &mut columns[1];
        ui.strong("Or a query (read-only)");
        ui.add(egui::TextEdit::multiline(&mut models.query).code_editor().desired_rows(4).desired_width(f32::INFINITY));
        ui.horizontal(|ui| {
            let has_query = !models.query.trim().is_empty();
            if ui.add_enabled(has_query, egui::Button::new("Preview query")).clicked() {
                started.extend(models.request_preview(&name, Relation::Query(models.query.clone())));
            }
            if ui.add_enabled(has_query, egui::Button::new("Import result")).clicked() {
                action = Some(SourceAction::Import { source: name.clone(), relation: Relation::Query(models.query.clone()) });
            }
        });
    });
    if let Some(table) = models.table.clone() {
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong(&table);
            if ui
                .button("Import into the workspace")
                .on_hover_text("Streamed with COPY; the same quality report and all-or-nothing import as a file")
                .clicked()
            {
                action = Some(SourceAction::Import { source: name.clone(), relation: Relation::Table(table.clone()) });
            }
            let on = ChosenTable { source: name.clone(), table: table.clone() };
            let chosen = models.overview_on.as_ref() == Some(&on);
            if ui
                .add_enabled(
                    !chosen,
                    egui::Button::new(if chosen {
                        "The Overview and Segments can run on this table"
                    } else {
                        "Run the Overview and Segments on this table"
                    }),
                )
                .on_hover_text("The Overview and RFM segments computed by the server over this table (order lines): only totals travel")
                .clicked()
            {
                models.overview_on = Some(on.clone());
                models.overview_on_server = true;
                models.segments_on_server = true;
            }
            let chosen = models.events_on.as_ref() == Some(&on);
            if ui
                .add_enabled(
                    !chosen,
                    egui::Button::new(if chosen { "The Funnel can run on this table" } else { "Run the Funnel on this table" }),
                )
                .on_hover_text("The funnel counted by the server over this table (events): only counts travel")
                .clicked()
            {
                models.events_on = Some(on);
                models.funnel_on_server = true;
            }
        });
    }
    match &models.preview {
        Some((relation, Ok(preview))) => {
            ui.label(RichText::new(format!("First {} rows of {}", preview.rows.len(), relation.describe())).weak());
            preview_grid(ui, preview);
        }
        Some((_, Err(e))) => {
            ui.colored_label(widgets::BAD, e);
        }
        None if models.preview_job.is_some() => {
            ui.spinner();
        }
        None => {}
    }
    cx.track(started);
    Some(action)
}

fn preview_grid(ui: &mut egui::Ui, preview: &Preview) {
    use egui_extras::{Column, TableBuilder};
    egui::ScrollArea::horizontal().id_salt("server_preview").show(ui, |ui| {
        let mut builder = TableBuilder::new(ui).striped(true).resizable(true).max_scroll_height(f32::INFINITY);
        for _ in &preview.columns {
            builder = builder.column(Column::initial(120.0).at_least(50.0).clip(true));
        }
        builder
            .header(22.0, |mut header| {
                for name in &preview.columns {
                    header.col(|ui| {
                        ui.strong(name);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, preview.rows.len(), |mut row| {
                    let values = &preview.rows[row.index()];
                    for value in values {
                        row.col(|ui| match value {
                            Some(v) => {
                                ui.label(v);
                            }
                            None => {
                                ui.label(RichText::new("NULL").weak());
                            }
                        });
                    }
                });
            });
    });
}
