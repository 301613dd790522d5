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
pub mod funnel;
pub mod listings;
pub mod marketplace_models;
pub mod overview;
pub mod pricing;
pub mod pricing_models;
pub mod segments;
pub mod sellers;
pub mod sql;

use eframe::egui;

use crate::analytics::{Filters, Table};
use crate::jobs::JobMonitor;
use crate::ui::models::{Models, WorkspaceData};

/// Every panel in the navigation, in order. The one place a panel is registered.
pub fn all() -> Vec<Box<dyn Panel>> {
    vec![
        Box::new(overview::OverviewPanel::default()),
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
    /// Stable and unique; remembered between runs (and by saved views).
    fn id(&self) -> &'static str;

    /// The name in the navigation.
    fn title(&self) -> &'static str;

    /// What the panel shows, as a tooltip in the navigation.
    fn hint(&self) -> &'static str;

    /// Draws the panel from prepared results and asks for work through `cx`.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>);

    /// Forget per-workspace state (selections, typed text) when another workspace opens.
    fn reset(&mut self) {}
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
}

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
    #[test]
    fn panel_ids_are_unique() {
        let panels = super::all();
        let mut ids: Vec<&str> = panels.iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), panels.len());
    }
}
