//! The panels, one type each behind the [`Panel`] trait, listed once in [`all`].
//!
//! A panel draws prepared results from its family's models (`cx.models.get::<…>()`) and asks the
//! shell for everything else through [`Request`]s: file dialogs, exports, job tracking. It never
//! blocks, never starts a thread and never runs SQL; its models start jobs (see `crate::jobs`).
//! To add one, follow "Adding a panel" in docs/ARCHITECTURE.md.

pub mod customer_models;
pub mod customer_value;
pub mod data;
pub mod event_models;
pub mod findings;
pub mod funnel;
pub mod listings;
pub mod marketplace_models;
pub mod overview;
pub mod pricing;
pub mod segments;
pub mod sellers;
pub mod sql;
pub mod warehouse;

use eframe::egui;

use crate::analytics::{Filters, Table};
use crate::jobs::JobMonitor;
pub use crate::present::panels::{self as panel_names, PanelName};
use crate::ui::models::{Models, WorkspaceData};

/// Every panel in the navigation, in order. The one place a panel is registered.
pub fn all() -> Vec<Box<dyn Panel>> {
    vec![
        Box::new(overview::OverviewPanel::default()),
        Box::new(findings::FindingsPanel::default()),
        Box::new(segments::SegmentsPanel::default()),
        Box::new(customer_value::CustomerValuePanel::default()),
        Box::new(funnel::FunnelPanel::default()),
        Box::new(pricing::PricingPanel::default()),
        Box::new(sellers::SellersPanel::default()),
        Box::new(listings::ListingsPanel::default()),
        Box::new(data::DataPanel),
        Box::new(sql::SqlPanel::default()),
    ]
}

/// A panel of the app.
pub trait Panel {
    /// Its id (stable: remembered between runs and by saved views) and title, declared in
    /// `present::panels` so that reports name panels as the window does.
    fn name(&self) -> PanelName;

    fn id(&self) -> &'static str {
        self.name().id
    }

    /// The name in the navigation.
    fn title(&self) -> &'static str {
        self.name().title
    }

    /// What the panel shows, as a tooltip in the navigation.
    fn hint(&self) -> &'static str;

    /// Draws the panel from prepared results and asks for work through `cx`.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>);

    /// Forget per-workspace state (selections, typed text) when another workspace opens.
    fn reset(&mut self) {}

    /// What a saved view keeps of this panel: its tab, options and selection, and the family
    /// settings that change its figures. Empty (the default) keeps nothing.
    fn view_state(&self, _models: &Models) -> ViewState {
        ViewState::default()
    }

    /// Restores what [`view_state`](Panel::view_state) wrote; a field missing or unreadable
    /// (a view saved by another build) keeps its current value.
    fn restore_view(&mut self, _state: &ViewState, _models: &mut Models) {}
}

/// A panel's part of a saved view: named fields, stored as a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewState(serde_json::Map<String, serde_json::Value>);

impl ViewState {
    pub fn set(&mut self, key: &str, value: impl serde::Serialize) {
        if let Ok(value) = serde_json::to_value(value) {
            self.0.insert(key.to_string(), value);
        }
    }

    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key).and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Reads `key` into `slot` when it is there and readable.
    pub fn restore<T: serde::de::DeserializeOwned>(&self, key: &str, slot: &mut T) {
        if let Some(value) = self.get(key) {
            *slot = value;
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.clone())
    }

    pub fn from_json(value: &serde_json::Value) -> Self {
        Self(value.as_object().cloned().unwrap_or_default())
    }
}

/// A tab's name in a saved view, and the tab a name means.
fn tab_name<T: PartialEq + Copy>(tabs: &[(T, &'static str)], tab: T) -> &'static str {
    tabs.iter().find(|(t, _)| *t == tab).map_or("", |(_, name)| name)
}

fn tab_named<T: Copy>(tabs: &[(T, &'static str)], name: &str) -> Option<T> {
    tabs.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
}

/// What a panel asks the shell to do.
pub enum Request {
    /// Ask where to save `table` as CSV, suggesting `file_name`.
    ExportTable { file_name: String, table: Table },
    /// Ask where to save the chart drawn in `rect` (points) as PNG, suggesting `file_name`.
    SaveChart { file_name: String, rect: egui::Rect },
    /// Ask where to save every row of a read-only query as CSV.
    ExportQuery { sql: String },
    /// Show a job's progress (with Cancel) in the status bar.
    Track(JobMonitor),
    /// Ask for an events file (or folder of files) to follow in live mode.
    PickWatchTarget { folder: bool },
    /// Run an import through the shell's import flow (one at a time, its outcomes reported and
    /// every family told), as a dropped file is: `start` spawns its job; `what` names it in
    /// the message when another import is still running.
    Import { what: String, start: StartImport },
    /// Open the "Save view" dialog for the current panel, its title filled in.
    SaveView { title: String },
}

/// What an import job gives the shell: one outcome per file or table imported.
pub type ImportResults = Vec<(std::path::PathBuf, Result<crate::import::ImportOutcome, String>)>;

/// Spawns an import job, when the shell is ready to run it.
pub type StartImport = Box<dyn FnOnce() -> crate::jobs::Job<ImportResults>>;

/// What a panel gets each frame: the global filters, the loaded workspace, every family's
/// models, and a way to ask the shell for things.
pub struct PanelContext<'a> {
    pub filters: &'a Filters,
    pub data: &'a WorkspaceData,
    pub models: &'a mut Models,
    requests: &'a mut Vec<Request>,
}

impl<'a> PanelContext<'a> {
    pub fn new(filters: &'a Filters, data: &'a WorkspaceData, models: &'a mut Models, requests: &'a mut Vec<Request>) -> Self {
        Self { filters, data, models, requests }
    }

    pub fn request(&mut self, request: Request) {
        self.requests.push(request);
    }

    /// Shows a newly started job in the status bar (models return `None` when nothing started).
    pub fn track(&mut self, monitor: impl IntoIterator<Item = JobMonitor>) {
        self.requests.extend(monitor.into_iter().map(Request::Track));
    }

    pub fn export(&mut self, file_name: impl Into<String>, table: Table) {
        self.request(Request::ExportTable { file_name: file_name.into(), table });
    }
}

#[cfg(test)]
mod tests {
    use super::{Models, ViewState};

    /// A view restores what it saved: every panel's state, changed from the defaults, survives
    /// a trip through JSON into a fresh panel.
    #[test]
    fn view_states_round_trip() {
        let mut models = Models::default();
        for mut panel in super::all() {
            let mut state = panel.view_state(&models);
            // Change every saved field to a non-default value the panel can hold.
            for value in state.0.values_mut() {
                let changed = match &*value {
                    serde_json::Value::Bool(b) => serde_json::Value::Bool(!b),
                    serde_json::Value::Number(n) => serde_json::json!(n.as_u64().unwrap_or(0) + 2),
                    other => other.clone(),
                };
                *value = changed;
            }
            panel.restore_view(&state, &mut models);
            let json = panel.view_state(&models).to_json();
            let mut fresh = super::all().into_iter().find(|p| p.id() == panel.id()).unwrap();
            fresh.restore_view(&ViewState::from_json(&json), &mut models);
            assert_eq!(fresh.view_state(&models), panel.view_state(&models), "{}", panel.id());
            assert_eq!(panel.view_state(&models), state, "{}: every changed field is kept", panel.id());
        }
    }

    #[test]
    fn panel_ids_are_unique() {
        let panels = super::all();
        let mut ids: Vec<&str> = panels.iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), panels.len());
    }
}
