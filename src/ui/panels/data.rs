//! The Data panel: tables and row counts, the import history with quality reports, rejected rows,
//! and a preview grid of any table that stays smooth on millions of rows (pages load as jobs
//! owned by [`DataModels`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::jobs::{Job, JobError, JobMonitor};
use crate::ui::models::{DataChange, PanelModels, PollContext};
use crate::ui::widgets;
use crate::workspace;

const PAGE_ROWS: usize = 200;

type Page = (Vec<String>, Vec<Vec<String>>);
type Rejects = Vec<(i64, String, String)>;

/// Pages of the previewed table and the rejected rows of the selected import, read in jobs.
#[derive(Default)]
pub struct DataModels {
    /// The table shown in the preview grid, whose pages are cached.
    table: Option<String>,
    columns: Vec<String>,
    pages: HashMap<usize, Vec<Vec<String>>>,
    page_job: Option<(usize, Job<Page>)>,
    /// Import whose report and rejects are shown (the shell selects a finished import).
    pub import_id: Option<i64>,
    rejects: Option<(i64, Result<Rejects, String>)>,
    rejects_job: Option<(i64, Job<Rejects>)>,
    error: Option<String>,
}

impl DataModels {
    /// Shows `table` in the preview (its pages load on demand).
    fn select_table(&mut self, table: &str) {
        if self.table.as_deref() != Some(table) {
            *self = DataModels { table: Some(table.to_string()), import_id: self.import_id, ..Default::default() };
        }
    }

    /// Starts reading page `page` of the selected table unless a page is being read.
    fn request_page(&mut self, workspace: &Path, page: usize) -> Option<JobMonitor> {
        if self.page_job.is_some() || self.pages.contains_key(&page) {
            return None;
        }
        let (path, table) = (workspace.to_path_buf(), self.table.clone()?);
        let job = Job::spawn("read table page", move |_| {
            let conn = workspace::open_read_only(&path)?;
            Ok(workspace::snapshot::read_page(&conn, &table, page * PAGE_ROWS, PAGE_ROWS)?)
        });
        let monitor = job.monitor();
        self.page_job = Some((page, job));
        Some(monitor)
    }

    fn request_rejects(&mut self, workspace: &Path, import_id: i64) -> Option<JobMonitor> {
        let known = self.rejects.as_ref().is_some_and(|(id, _)| *id == import_id);
        if known || self.rejects_job.as_ref().is_some_and(|(id, _)| *id == import_id) {
            return None;
        }
        let path: PathBuf = workspace.to_path_buf();
        let job = Job::spawn("read rejected rows", move |_| {
            let conn = workspace::open_read_only(&path)?;
            Ok(workspace::snapshot::read_rejects(&conn, import_id, 1000)?)
        });
        let monitor = job.monitor();
        self.rejects_job = Some((import_id, job));
        Some(monitor)
    }
}

impl PanelModels for DataModels {
    fn poll(&mut self, _: &mut PollContext<'_>) {
        if let Some((page, job)) = &mut self.page_job {
            if let Some(result) = job.try_take() {
                match result {
                    Ok((columns, rows)) => {
                        self.columns = columns;
                        self.pages.insert(*page, rows);
                    }
                    Err(e) => self.error = e.message().map(str::to_string),
                }
                self.page_job = None;
            }
        }
        if let Some((id, job)) = &mut self.rejects_job {
            if let Some(result) = job.try_take() {
                match result {
                    Ok(rows) => self.rejects = Some((*id, Ok(rows))),
                    Err(JobError::Failed(e)) => self.rejects = Some((*id, Err(e))),
                    Err(JobError::Cancelled) => {}
                }
                self.rejects_job = None;
            }
        }
    }

    fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
        match change {
            DataChange::Workspace => *self = Self::default(),
            // Rows were added: cached pages and counts are stale; the selection stays.
            DataChange::Imported { .. } => {
                *self = DataModels { table: self.table.take(), import_id: self.import_id, ..Default::default() };
            }
            DataChange::OrderLines => {}
        }
    }

    fn busy(&self) -> bool {
        self.page_job.is_some() || self.rejects_job.is_some()
    }
}

/// The panel holds no state of its own: the selected table and import live in [`DataModels`].
#[derive(Default)]
pub struct DataPanel;

impl Panel for DataPanel {
    fn name(&self) -> PanelName {
        panel_names::DATA
    }

    fn hint(&self) -> &'static str {
        "Tables, imports, quality reports, rejected rows, warehouse sources"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let (Some(snapshot), Some(workspace)) = (cx.data.snapshot.clone(), cx.data.path.clone()) else {
            ui.spinner();
            return;
        };
        let mut started: Vec<JobMonitor> = Vec::new();
        let (mut picked_local, mut picked_source) = (false, false);
        egui::Panel::left("data_tables").resizable(true).default_size(260.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                // Short, and where a warehouse user looks first.
                picked_source = super::warehouse::list_ui(ui, cx);
                ui.separator();
                let models = cx.models.get::<DataModels>();
                ui.heading("Tables");
                egui::Grid::new("tables").striped(true).num_columns(2).show(ui, |ui| {
                    for (name, count) in &snapshot.tables {
                        if ui.selectable_label(models.table.as_deref() == Some(name.as_str()), name).clicked() {
                            models.select_table(name);
                            picked_local = true;
                        }
                        ui.label(widgets::number(*count as f64, 0));
                        ui.end_row();
                    }
                });
                ui.separator();
                ui.heading("Imports");
                for import in &snapshot.imports {
                    let label = format!("#{} {} — {}", import.id, file_name(&import.file), import.status);
                    let selected = models.import_id == Some(import.id);
                    let text = if import.status == "loaded" { RichText::new(label) } else { RichText::new(label).color(widgets::BAD) };
                    if ui.selectable_label(selected, text).on_hover_text(&import.file).clicked() {
                        models.import_id = Some(import.id);
                        picked_local = true;
                    }
                }
            });
        });
        // One thing is shown at a time: a workspace table or import, or a warehouse source.
        if picked_local {
            let sources = cx.models.get::<super::warehouse::WarehouseModels>();
            sources.selected = None;
            sources.close_form();
        }
        if picked_source {
            let models = cx.models.get::<DataModels>();
            models.table = None;
            models.import_id = None;
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(action) = super::warehouse::detail_ui(ui, cx) {
                if let Some(super::warehouse::SourceAction::Import { source, relation }) = action {
                    if let Some(start) = cx.models.get::<super::warehouse::WarehouseModels>().import_job(&source, relation) {
                        cx.request(Request::Import { what: "import from the server".into(), start });
                    }
                }
                return;
            }
            let models = cx.models.get::<DataModels>();
            if let Some(import) = models.import_id.and_then(|id| snapshot.imports.iter().find(|i| i.id == id)) {
                egui::CollapsingHeader::new(RichText::new(format!("Import #{}: {}", import.id, file_name(&import.file))).strong())
                    .id_salt(("import", import.id))
                    .default_open(true)
                    .show(ui, |ui| {
                        ui.label(format!(
                            "{} · {} · {} · {} into {} · finished {}",
                            import.status, import.kind, import.format, import.encoding, import.table, import.finished_at
                        ));
                        if let Some(error) = &import.error {
                            ui.colored_label(widgets::BAD, error);
                        }
                        if let Some(report) = &import.report {
                            ui.add(egui::Label::new(RichText::new(report.to_string()).monospace()).wrap());
                        }
                        if import.rows_rejected > 0 {
                            started.extend(models.request_rejects(&workspace, import.id));
                            rejects_ui(ui, models, import.id);
                        }
                    });
                ui.separator();
            }
            if let Some(table) = models.table.clone() {
                let total = snapshot.tables.iter().find(|(n, _)| *n == table).map_or(0, |(_, c)| *c as usize);
                ui.horizontal(|ui| {
                    ui.heading(&table);
                    ui.label(widgets::count_of(total as u64, "row", "rows"));
                });
                if let Some(error) = &models.error {
                    ui.colored_label(widgets::BAD, error);
                }
                if let Some(page) = preview_ui(ui, models, total) {
                    started.extend(models.request_page(&workspace, page));
                    // Keep drawing until the page arrives.
                    ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
                }
            } else if models.import_id.is_none() {
                ui.label(
                    RichText::new(
                        "Pick a table on the left to browse its rows, an import to see its quality report, or a warehouse source.",
                    )
                    .weak(),
                );
            }
        });
        cx.track(started);
    }
}

fn rejects_ui(ui: &mut egui::Ui, models: &DataModels, import_id: i64) {
    match &models.rejects {
        Some((id, Ok(rows))) if *id == import_id => {
            ui.strong(format!("Rejected rows (first {})", rows.len()));
            egui::ScrollArea::vertical().id_salt("rejects").max_height(200.0).show(ui, |ui| {
                egui::Grid::new("rejects_grid").striped(true).num_columns(3).show(ui, |ui| {
                    ui.strong("line");
                    ui.strong("reason");
                    ui.strong("row as read");
                    ui.end_row();
                    for (line, reason, raw) in rows {
                        ui.label(line.to_string());
                        ui.label(reason);
                        ui.monospace(raw.chars().take(200).collect::<String>());
                        ui.end_row();
                    }
                });
            });
        }
        Some((id, Err(e))) if *id == import_id => {
            ui.colored_label(widgets::BAD, e);
        }
        _ => {
            ui.spinner();
        }
    }
}

/// A virtualised grid: only visible rows are laid out. Returns the first page that is
/// needed but not loaded.
fn preview_ui(ui: &mut egui::Ui, models: &DataModels, total: usize) -> Option<usize> {
    if models.columns.is_empty() {
        return Some(0);
    }
    let mut wanted: Option<usize> = None;
    let columns = &models.columns;
    egui::ScrollArea::horizontal().id_salt("preview_h").show(ui, |ui| {
        let mut builder = TableBuilder::new(ui).striped(true).resizable(true).max_scroll_height(f32::INFINITY);
        builder = builder.column(Column::initial(60.0).at_least(40.0));
        for name in columns {
            // Widths from the column's meaning: the first frame shows placeholders only.
            builder = builder.column(Column::initial(initial_width(name)).at_least(50.0).clip(true));
        }
        builder
            .header(22.0, |mut header| {
                header.col(|ui| {
                    ui.strong("#");
                });
                for name in columns {
                    header.col(|ui| {
                        ui.strong(name);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, total, |mut row| {
                    let index = row.index();
                    let page = index / PAGE_ROWS;
                    let cells = models.pages.get(&page).and_then(|rows| rows.get(index % PAGE_ROWS));
                    row.col(|ui| {
                        ui.label(RichText::new((index + 1).to_string()).weak());
                    });
                    match cells {
                        Some(values) => {
                            for value in values {
                                row.col(|ui| {
                                    ui.label(value);
                                });
                            }
                        }
                        None => {
                            wanted.get_or_insert(page);
                            for _ in columns {
                                row.col(|ui| {
                                    ui.label(RichText::new("…").weak());
                                });
                            }
                        }
                    }
                });
            });
    });
    wanted
}

fn initial_width(column: &str) -> f32 {
    if column.contains("date") || column.contains("time") {
        150.0
    } else if ["description", "user_session", "category_code", "raw", "reason", "file", "sql", "report", "mapping"].contains(&column) {
        260.0
    } else {
        100.0
    }
}

fn file_name(path: &str) -> &str {
    std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path)
}
