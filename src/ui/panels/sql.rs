//! The SQL console: queries run on a read-only connection as cancellable jobs owned by
//! [`SqlModels`]; the panel edits the text and draws the result.

use std::path::PathBuf;

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::jobs::{Job, JobError, JobMonitor};
use crate::ui::models::{DataChange, PanelModels, PollContext};
use crate::ui::{sql_highlight, widgets};
use crate::workspace::snapshot::{self, QueryError, QueryInterrupt, QueryResult};
use crate::workspace::Workspace;

/// Rows kept for display; exports re-run the query and write every row.
const MAX_SHOWN_ROWS: usize = 100_000;

const STARTER_QUERY: &str = "SELECT country, count(DISTINCT invoice) AS orders, round(sum(quantity * unit_price), 2) AS revenue\nFROM order_lines WHERE cancelled = 0\nGROUP BY country ORDER BY revenue DESC LIMIT 10";

/// The console's text, its running query and the last result.
pub struct SqlModels {
    pub text: String,
    running: Option<(Job<QueryResult>, QueryInterrupt)>,
    pub result: Option<Result<QueryResult, String>>,
    save_job: Option<Job<String>>,
}

impl Default for SqlModels {
    fn default() -> Self {
        Self { text: STARTER_QUERY.into(), running: None, result: None, save_job: None }
    }
}

impl SqlModels {
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Runs the console's text as a job, unless a query is running.
    pub fn run(&mut self, workspace: PathBuf) -> Option<JobMonitor> {
        if self.running.is_some() || self.text.trim().is_empty() {
            return None;
        }
        let interrupt = QueryInterrupt::default();
        let (sql, handle) = (self.text.clone(), interrupt.clone());
        let job = Job::spawn("SQL query", move |_| match snapshot::run_query_at(&workspace, &sql, MAX_SHOWN_ROWS, &handle) {
            Ok(result) => Ok(result),
            Err(QueryError::Interrupted) => Err(JobError::Cancelled),
            Err(e) => Err(e.into()),
        });
        let monitor = job.monitor();
        self.running = Some((job, interrupt));
        Some(monitor)
    }

    pub fn cancel(&mut self) {
        if let Some((job, interrupt)) = &self.running {
            job.cancel();
            interrupt.interrupt();
        }
    }

    /// Saves the console's text under `name` in the workspace (a job).
    fn save_query(&mut self, workspace: PathBuf, name: String) -> JobMonitor {
        let sql = self.text.clone();
        let job = Job::spawn("save query", move |_| {
            let ws = Workspace::open(&workspace)?;
            crate::workspace::settings::save_query(ws.conn(), &name, &sql)?;
            Ok(format!("Saved query '{name}'"))
        });
        let monitor = job.monitor();
        self.save_job = Some(job);
        monitor
    }
}

impl PanelModels for SqlModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        if let Some((job, _)) = &mut self.running {
            // Cancel from the status bar reaches only the job's flag: interrupt SQLite too.
            if job.context().is_cancelled() && !job.is_finished() {
                self.cancel();
            }
        }
        if let Some((job, _)) = &mut self.running {
            if let Some(result) = job.try_take() {
                self.result = Some(result.map_err(|e| match e {
                    JobError::Cancelled => "Query cancelled.".to_string(),
                    JobError::Failed(message) => message,
                }));
                self.running = None;
            }
        }
        if cx.chore_outcome(crate::jobs::take_finished(&mut self.save_job), "Could not save the query") {
            cx.listing_changed();
        }
    }

    fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
        if *change == DataChange::Workspace {
            self.cancel();
            self.result = None;
        }
    }

    fn busy(&self) -> bool {
        self.running.is_some() || self.save_job.is_some()
    }
}

#[derive(Default)]
pub struct SqlPanel {
    save_name: String,
}

impl Panel for SqlPanel {
    fn name(&self) -> PanelName {
        panel_names::SQL
    }

    fn hint(&self) -> &'static str {
        "Query the workspace, save queries, export CSV"
    }

    fn view_state(&self, models: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("query", models.find::<SqlModels>().map_or(STARTER_QUERY, |m| m.text.as_str()));
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, models: &mut crate::ui::models::Models) {
        state.restore("query", &mut models.get::<SqlModels>().text);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let (workspace, snapshot) = (cx.data.path.clone(), cx.data.snapshot.clone());
        let models = cx.models.get::<SqlModels>();
        let mut requests = Vec::new();
        egui::Panel::left("sql_schema").resizable(true).default_size(230.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Saved queries");
                for (name, sql) in snapshot.as_ref().map(|s| s.saved_queries.as_slice()).unwrap_or_default() {
                    if ui.link(name).on_hover_text(sql).clicked() {
                        models.text = sql.clone();
                    }
                }
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(&mut self.save_name).hint_text("name").desired_width(120.0));
                    let can_save = !self.save_name.trim().is_empty() && workspace.is_some();
                    if ui.add_enabled(can_save, egui::Button::new("Save query")).clicked() {
                        if let Some(path) = workspace.clone() {
                            requests.push(Request::Track(models.save_query(path, self.save_name.trim().to_string())));
                        }
                        self.save_name.clear();
                    }
                });
                ui.separator();
                ui.heading("Tables");
                for (table, columns) in snapshot.as_ref().map(|s| s.schema.as_slice()).unwrap_or_default() {
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
                    egui::TextEdit::multiline(&mut models.text)
                        .id_salt("sql_text")
                        .code_editor()
                        .desired_rows(6)
                        .desired_width(f32::INFINITY)
                        .layouter(&mut layouter),
                );
            });
            ui.horizontal(|ui| {
                let can_run = workspace.is_some() && !models.is_running();
                if ui.add_enabled(can_run, egui::Button::new("Run (Ctrl+Enter)")).clicked() || (run_shortcut && can_run) {
                    requests.extend(workspace.clone().and_then(|w| models.run(w)).map(Request::Track));
                }
                if models.is_running() {
                    ui.spinner();
                    if ui.button("Cancel").clicked() {
                        models.cancel();
                    }
                }
                if let Some(Ok(result)) = &models.result {
                    let shown = widgets::number(result.rows.len() as f64, 0);
                    let more = if result.truncated { " (first rows only; export writes all)" } else { "" };
                    ui.label(format!("{shown} rows{more} in {:.0} ms", result.elapsed.as_secs_f64() * 1000.0));
                    if ui.button("Export CSV…").clicked() {
                        requests.push(Request::ExportQuery { sql: models.text.clone() });
                    }
                }
            });
            ui.separator();
            match &models.result {
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
        for request in requests {
            cx.request(request);
        }
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
    #[test]
    fn queries_are_read_only_typed_and_truncated_for_display() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.shoplens");
        drop(crate::workspace::Workspace::open(&path).unwrap());
        let conn = crate::workspace::open_read_only(&path).unwrap();
        let run = crate::workspace::snapshot::run_query;
        let result = run(&conn, "SELECT name, starter, 1.5 AS x FROM saved_queries ORDER BY name", 3).unwrap();
        assert_eq!(result.columns, ["name", "starter", "x"]);
        assert_eq!(result.types, ["TEXT", "INTEGER", "REAL"]);
        assert_eq!(result.rows.len(), 3);
        assert!(result.truncated);
        let err = run(&conn, "DELETE FROM saved_queries", 10).unwrap_err().to_string();
        assert!(err.contains("readonly") || err.contains("read-only") || err.contains("query_only"), "{err}");
    }

    #[test]
    fn cancel_interrupts_a_running_query() {
        use crate::ui::models::{PanelModels, PollContext, WorkspaceData};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.shoplens");
        drop(crate::workspace::Workspace::open(&path).unwrap());
        let mut models = super::SqlModels {
            // Runs for minutes unless interrupted.
            text: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n".into(),
            ..Default::default()
        };
        let monitor = models.run(path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        // The status bar's Cancel: only the job's flag is set; the next poll interrupts SQLite.
        monitor.cancel();
        let data = WorkspaceData::default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while models.is_running() {
            assert!(std::time::Instant::now() < deadline, "the query was not interrupted");
            let (mut messages, mut monitors, mut changed) = (Vec::new(), Vec::new(), false);
            models.poll(&mut PollContext::new(&data, &mut messages, &mut monitors, &mut changed));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(models.result.as_ref().map(|r| r.as_ref().err().cloned()), Some(Some("Query cancelled.".to_string())));
    }
}
