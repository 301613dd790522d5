//! The Data panel: tables and row counts, the import history with quality reports, rejected rows,
//! and a preview grid of any table that stays smooth on millions of rows (pages load as jobs).

use std::collections::HashMap;
use std::path::PathBuf;

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use crate::jobs::{Job, JobMonitor};
use crate::ui::widgets;
use crate::workspace::{self, snapshot::WorkspaceSnapshot};

const PAGE_ROWS: usize = 200;

type Page = Result<(Vec<String>, Vec<Vec<String>>), String>;
type Rejects = Result<Vec<(i64, String, String)>, String>;

#[derive(Default)]
pub struct DataPanel {
    /// Table shown in the preview grid.
    pub table: Option<String>,
    columns: Vec<String>,
    pages: HashMap<usize, Vec<Vec<String>>>,
    page_job: Option<(usize, Job<Page>)>,
    /// Import whose report and rejects are shown.
    pub import_id: Option<i64>,
    rejects: Option<(i64, Rejects)>,
    rejects_job: Option<(i64, Job<Rejects>)>,
    error: Option<String>,
}

impl DataPanel {
    /// Drops cached pages: the workspace changed.
    pub fn reset(&mut self) {
        *self = DataPanel { table: self.table.take(), import_id: self.import_id, ..Default::default() };
    }

    fn poll(&mut self) {
        if let Some((page, job)) = &mut self.page_job {
            if let Some(result) = job.try_take() {
                match result.unwrap_or_else(|e| Err(e.to_string())) {
                    Ok((columns, rows)) => {
                        self.columns = columns;
                        self.pages.insert(*page, rows);
                    }
                    Err(e) => self.error = Some(e),
                }
                self.page_job = None;
            }
        }
        if let Some((id, job)) = &mut self.rejects_job {
            if let Some(result) = job.try_take() {
                self.rejects = Some((*id, result.unwrap_or_else(|e| Err(e.to_string()))));
                self.rejects_job = None;
            }
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        workspace: Option<&std::path::Path>,
        snapshot: Option<&WorkspaceSnapshot>,
    ) -> Option<JobMonitor> {
        self.poll();
        let Some(snapshot) = snapshot else {
            ui.spinner();
            return None;
        };
        let mut started = None;
        egui::Panel::left("data_tables").resizable(true).default_size(260.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Tables");
                egui::Grid::new("tables").striped(true).num_columns(2).show(ui, |ui| {
                    for (name, count) in &snapshot.tables {
                        if ui.selectable_label(self.table.as_deref() == Some(name.as_str()), name).clicked() {
                            self.table = Some(name.clone());
                            self.pages.clear();
                            self.columns.clear();
                        }
                        ui.label(widgets::number(*count as f64, 0));
                        ui.end_row();
                    }
                });
                ui.separator();
                ui.heading("Imports");
                for import in &snapshot.imports {
                    let label = format!("#{} {} — {}", import.id, file_name(&import.file), import.status);
                    let selected = self.import_id == Some(import.id);
                    let text = if import.status == "loaded" { RichText::new(label) } else { RichText::new(label).color(widgets::BAD) };
                    if ui.selectable_label(selected, text).on_hover_text(&import.file).clicked() {
                        self.import_id = Some(import.id);
                    }
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(import) = self.import_id.and_then(|id| snapshot.imports.iter().find(|i| i.id == id)) {
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
                            started = self.rejects_ui(ui, workspace, import.id);
                        }
                    });
                ui.separator();
            }
            if let Some(table) = self.table.clone() {
                let total = snapshot.tables.iter().find(|(n, _)| *n == table).map_or(0, |(_, c)| *c as usize);
                ui.horizontal(|ui| {
                    ui.heading(&table);
                    ui.label(format!("{} rows", widgets::number(total as f64, 0)));
                });
                if let Some(error) = &self.error {
                    ui.colored_label(widgets::BAD, error);
                }
                if let Some(monitor) = self.preview_ui(ui, workspace, &table, total) {
                    started = Some(monitor);
                }
            } else {
                ui.label(RichText::new("Pick a table on the left to browse its rows, or an import to see its quality report.").weak());
            }
        });
        started
    }

    fn rejects_ui(&mut self, ui: &mut egui::Ui, workspace: Option<&std::path::Path>, import_id: i64) -> Option<JobMonitor> {
        match &self.rejects {
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
                None
            }
            Some((id, Err(e))) if *id == import_id => {
                ui.colored_label(widgets::BAD, e);
                None
            }
            _ if self.rejects_job.as_ref().is_some_and(|(id, _)| *id == import_id) => {
                ui.spinner();
                None
            }
            _ => {
                let path: PathBuf = workspace?.to_path_buf();
                let job = Job::spawn("read rejected rows", move |_| {
                    let conn = workspace::open_read_only(&path).map_err(|e| e.to_string())?;
                    workspace::snapshot::read_rejects(&conn, import_id, 1000).map_err(|e| e.to_string())
                });
                let monitor = job.monitor();
                self.rejects_job = Some((import_id, job));
                Some(monitor)
            }
        }
    }

    /// A virtualised grid: only visible rows are laid out, and missing pages load as jobs.
    fn preview_ui(&mut self, ui: &mut egui::Ui, workspace: Option<&std::path::Path>, table: &str, total: usize) -> Option<JobMonitor> {
        let mut wanted: Option<usize> = None;
        if self.columns.is_empty() {
            wanted = Some(0);
        }
        if !self.columns.is_empty() {
            let columns = self.columns.clone();
            egui::ScrollArea::horizontal().id_salt("preview_h").show(ui, |ui| {
                let mut builder = TableBuilder::new(ui).striped(true).resizable(true).max_scroll_height(f32::INFINITY);
                builder = builder.column(Column::initial(60.0).at_least(40.0));
                for name in &columns {
                    // Widths from the column's meaning: the first frame shows placeholders only.
                    builder = builder.column(Column::initial(initial_width(name)).at_least(50.0).clip(true));
                }
                builder
                    .header(22.0, |mut header| {
                        header.col(|ui| {
                            ui.strong("#");
                        });
                        for name in &columns {
                            header.col(|ui| {
                                ui.strong(name);
                            });
                        }
                    })
                    .body(|body| {
                        body.rows(20.0, total, |mut row| {
                            let index = row.index();
                            let page = index / PAGE_ROWS;
                            let cells = self.pages.get(&page).and_then(|rows| rows.get(index % PAGE_ROWS));
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
                                    for _ in &columns {
                                        row.col(|ui| {
                                            ui.label(RichText::new("…").weak());
                                        });
                                    }
                                }
                            }
                        });
                    });
            });
        }
        let page = wanted?;
        if self.page_job.is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
            return None;
        }
        let path = workspace?.to_path_buf();
        let table = table.to_string();
        let job = Job::spawn("read table page", move |_| {
            let conn = workspace::open_read_only(&path).map_err(|e| e.to_string())?;
            workspace::snapshot::read_page(&conn, &table, page * PAGE_ROWS, PAGE_ROWS).map_err(|e| e.to_string())
        });
        let monitor = job.monitor();
        self.page_job = Some((page, job));
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
        Some(monitor)
    }
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
