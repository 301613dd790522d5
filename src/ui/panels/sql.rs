//! The SQL console: a read-only connection, queries run as cancellable jobs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use crate::jobs::{Job, JobMonitor};
use crate::ui::{sql_highlight, widgets};
use crate::workspace::{self, snapshot::WorkspaceSnapshot};

/// Rows kept for display; exports re-run the query and write every row.
const MAX_SHOWN_ROWS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub truncated: bool,
    pub elapsed: Duration,
}

type Interrupt = Arc<Mutex<Option<rusqlite::InterruptHandle>>>;

pub struct SqlPanel {
    pub text: String,
    running: Option<(Job<Result<QueryResult, String>>, Interrupt)>,
    pub result: Option<Result<QueryResult, String>>,
    save_name: String,
}

impl Default for SqlPanel {
    fn default() -> Self {
        Self {
            text: "SELECT country, count(DISTINCT invoice) AS orders, round(sum(quantity * unit_price), 2) AS revenue\nFROM order_lines WHERE cancelled = 0\nGROUP BY country ORDER BY revenue DESC LIMIT 10".into(),
            running: None,
            result: None,
            save_name: String::new(),
        }
    }
}

/// What the panel asks the app to do.
pub enum SqlAction {
    Track(JobMonitor),
    SaveQuery { name: String, sql: String },
    Export { sql: String },
}

/// Runs `sql` on a read-only connection; the interrupt handle is published for the cancel button.
pub fn run_query(path: &Path, sql: &str, interrupt: &Interrupt, limit: usize) -> Result<QueryResult, String> {
    let started = Instant::now();
    let conn = workspace::open_read_only(path).map_err(|e| e.to_string())?;
    if let Ok(mut slot) = interrupt.lock() {
        *slot = Some(conn.get_interrupt_handle());
    }
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let columns: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let mut types: Vec<String> = stmt.columns().map(|c| c.decl_type().unwrap_or("").to_string()).collect();
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut truncated = false;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        if out.len() == limit {
            truncated = true;
            break;
        }
        let mut values = Vec::with_capacity(columns.len());
        for (i, ty) in types.iter_mut().enumerate() {
            let value = row.get_ref(i).map_err(|e| e.to_string())?;
            if ty.is_empty() && value.data_type() != rusqlite::types::Type::Null {
                // Expressions have no declared type; show the type of the values.
                *ty = value.data_type().to_string().to_uppercase();
            }
            values.push(workspace::value_to_text(value));
        }
        out.push(values);
    }
    Ok(QueryResult { columns, types, rows: out, truncated, elapsed: started.elapsed() })
}

impl SqlPanel {
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub fn start(&mut self, workspace: PathBuf) -> Option<SqlAction> {
        if self.running.is_some() || self.text.trim().is_empty() {
            return None;
        }
        let interrupt: Interrupt = Arc::default();
        let sql = self.text.clone();
        let slot = interrupt.clone();
        let job = Job::spawn("SQL query", move |_| run_query(&workspace, &sql, &slot, MAX_SHOWN_ROWS));
        let monitor = job.monitor();
        self.running = Some((job, interrupt));
        Some(SqlAction::Track(monitor))
    }

    pub fn cancel(&mut self) {
        if let Some((job, interrupt)) = &self.running {
            job.cancel();
            // sqlite3_interrupt: the running statement stops at its next step.
            if let Some(handle) = interrupt.lock().ok().as_deref().and_then(Option::as_ref) {
                handle.interrupt();
            }
        }
    }

    /// Collects a finished query; called every frame.
    pub fn poll(&mut self) {
        if let Some((job, _)) = &mut self.running {
            if let Some(result) = job.try_take() {
                self.result = Some(result.unwrap_or_else(|e| Err(e.to_string())).map_err(|e| {
                    if e.contains("interrupted") {
                        "Query cancelled.".to_string()
                    } else {
                        e
                    }
                }));
                self.running = None;
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, workspace: Option<&Path>, snapshot: Option<&WorkspaceSnapshot>) -> Option<SqlAction> {
        self.poll();
        let mut action = None;
        egui::Panel::left("sql_schema").resizable(true).default_size(230.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Saved queries");
                for (name, sql) in snapshot.map(|s| s.saved_queries.as_slice()).unwrap_or_default() {
                    if ui.link(name).on_hover_text(sql).clicked() {
                        self.text = sql.clone();
                    }
                }
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(&mut self.save_name).hint_text("name").desired_width(120.0));
                    if ui.add_enabled(!self.save_name.trim().is_empty(), egui::Button::new("Save query")).clicked() {
                        action = Some(SqlAction::SaveQuery { name: self.save_name.trim().to_string(), sql: self.text.clone() });
                        self.save_name.clear();
                    }
                });
                ui.separator();
                ui.heading("Tables");
                for (table, columns) in snapshot.map(|s| s.schema.as_slice()).unwrap_or_default() {
                    egui::CollapsingHeader::new(table).id_salt(("schema", table)).show(ui, |ui| {
                        for (column, ty) in columns {
                            ui.horizontal(|ui| {
                                ui.monospace(column);
                                ui.label(RichText::new(ty).weak());
                            });
                        }
                    });
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
                ui.painter().layout_job(sql_highlight::layout(ui, text.as_str(), wrap_width))
            };
            // Checked before the editor draws, or the focused editor would take the key first.
            let run_shortcut =
                ui.input_mut(|i| i.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Enter)));
            egui::ScrollArea::vertical().id_salt("sql_editor").max_height(180.0).show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut self.text)
                        .id_salt("sql_text")
                        .code_editor()
                        .desired_rows(6)
                        .desired_width(f32::INFINITY)
                        .layouter(&mut layouter),
                );
            });
            ui.horizontal(|ui| {
                let can_run = workspace.is_some() && !self.is_running();
                if (ui.add_enabled(can_run, egui::Button::new("Run (Ctrl+Enter)")).clicked() || (run_shortcut && can_run))
                    && workspace.is_some()
                {
                    action = workspace.and_then(|w| self.start(w.to_path_buf()));
                }
                if self.is_running() {
                    ui.spinner();
                    if ui.button("Cancel").clicked() {
                        self.cancel();
                    }
                }
                if let Some(Ok(result)) = &self.result {
                    let shown = widgets::number(result.rows.len() as f64, 0);
                    let more = if result.truncated { " (first rows only; export writes all)" } else { "" };
                    ui.label(format!("{shown} rows{more} in {:.0} ms", result.elapsed.as_secs_f64() * 1000.0));
                    if ui.button("Export CSV…").clicked() {
                        action = Some(SqlAction::Export { sql: self.text.clone() });
                    }
                }
            });
            ui.separator();
            match &self.result {
                None => {
                    ui.label(
                        RichText::new("Write a query and press Ctrl+Enter. The console is read-only: it cannot change the workspace.")
                            .weak(),
                    );
                }
                Some(Err(message)) => {
                    ui.colored_label(widgets::BAD, message);
                }
                Some(Ok(result)) => result_grid(ui, result),
            }
        });
        action
    }
}

fn result_grid(ui: &mut egui::Ui, result: &QueryResult) {
    egui::ScrollArea::horizontal().show(ui, |ui| {
        let mut table = TableBuilder::new(ui).striped(true).resizable(true).max_scroll_height(f32::INFINITY);
        for _ in &result.columns {
            table = table.column(Column::auto().at_least(60.0).clip(true));
        }
        table
            .header(36.0, |mut header| {
                for (name, ty) in result.columns.iter().zip(&result.types) {
                    header.col(|ui| {
                        ui.vertical(|ui| {
                            ui.strong(name);
                            ui.label(RichText::new(if ty.is_empty() { "—" } else { ty }).small().weak());
                        });
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, result.rows.len(), |mut row| {
                    let values = &result.rows[row.index()];
                    for value in values {
                        row.col(|ui| {
                            ui.label(value);
                        });
                    }
                });
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_only_typed_and_truncated_for_display() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.shoplens");
        drop(crate::workspace::Workspace::open(&path).unwrap());
        let interrupt = Interrupt::default();
        let result = run_query(&path, "SELECT name, starter, 1.5 AS x FROM saved_queries ORDER BY name", &interrupt, 3).unwrap();
        assert_eq!(result.columns, ["name", "starter", "x"]);
        assert_eq!(result.types, ["TEXT", "INTEGER", "REAL"]);
        assert_eq!(result.rows.len(), 3);
        assert!(result.truncated);
        assert!(interrupt.lock().unwrap().is_some(), "the cancel button has a handle");
        let err = run_query(&path, "DELETE FROM saved_queries", &interrupt, 10).unwrap_err();
        assert!(err.contains("readonly") || err.contains("read-only") || err.contains("query_only"), "{err}");
    }
}
