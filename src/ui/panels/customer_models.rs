//! The models both customer panels read (Segments, Customer value): their inputs, the latest
//! RFM, cluster, cohort and CLV results, and the jobs that compute them. CLV joins into the
//! Segments tables, so the two panels share one family.
//!
//! Every result carries the copy of the order lines it was computed from (and clusters the RFM
//! result they cluster): a panel reads customer ids and segment names from there, so a result
//! can never be indexed with another copy's codes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::analytics::clusters::{self, ClusterResult};
use crate::analytics::clv::{self, ClvResult, ClvSettings};
use crate::analytics::cohorts::{self, CohortResult};
use crate::analytics::order_frame::OrderFrame;
use crate::analytics::rfm::{self, RfmResult, SegmentGrid, ValueColumns};
use crate::analytics::Filters;
use crate::jobs::{Job, JobMonitor, Latest};
use crate::ui::models::{Computed, DataChange, PanelModels, PollContext, Versioned, WorkspaceData};
use crate::workspace::{self, Workspace};

/// Which copy, filters, analysis date and segment map an RFM result is for.
type RfmKey = (u64, Filters, Option<NaiveDate>, [[String; 5]; 5]);

/// RFM scores and segments with the order lines they were computed from.
pub type RfmOutput = Computed<OrderFrame, RfmResult>;
/// k-means clusters with the RFM result whose customers they cluster.
pub type ClusterOutput = Computed<RfmOutput, ClusterResult>;
/// The CLV fit with the order lines it was fitted on.
pub type ClvOutput = Computed<OrderFrame, ClvFit>;

/// A CLV fit and, for the Segments tables, CLV and P(alive) by customer code.
pub struct ClvFit {
    pub result: ClvResult,
    pub by_customer: Arc<HashMap<u32, ValueColumns>>,
}

#[derive(Default)]
pub struct CustomerModels {
    /// The workspace's segment map; `None` until read.
    pub grid: Option<SegmentGrid>,
    grid_job: Option<Job<SegmentGrid>>,
    save_job: Option<Job<String>>,
    /// RFM analysis date chosen by the user (`None`: the day after the last purchase).
    pub analysis_date: Option<NaiveDate>,
    /// Number of clusters chosen by the user (`None`: the suggested one).
    pub k: Option<usize>,
    pub clv_settings: ClvSettings,
    pub rfm: Latest<RfmKey, RfmOutput>,
    pub clusters: Latest<(RfmKey, Option<usize>), ClusterOutput>,
    pub cohorts: Latest<(u64, Filters), CohortResult>,
    pub clv: Latest<(u64, Filters, ClvSettings), ClvOutput>,
}

impl CustomerModels {
    /// Reads the segment map once per workspace. Once read it changes only through
    /// [`set_grid`](Self::set_grid), so reading it again could only bring back a map whose edit is
    /// still being saved.
    pub fn ensure_grid(&mut self, workspace: Option<&PathBuf>) {
        let Some(path) = workspace.filter(|_| self.grid.is_none() && self.grid_job.is_none()).cloned() else { return };
        self.grid_job = Some(Job::spawn("read segment map", move |_| {
            let conn = workspace::open_read_only(&path)?;
            Ok(workspace::settings::load_segment_grid(&conn)?)
        }));
    }

    /// Starts RFM (and, if `with_clusters`, k-means) for the current inputs unless up to date.
    pub fn request_rfm(&mut self, data: &WorkspaceData, filters: &Filters, with_clusters: bool) -> Vec<JobMonitor> {
        self.ensure_grid(data.path.as_ref());
        let mut monitors = Vec::new();
        let (Some(orders), Some(grid)) = (&data.orders, self.grid.clone()) else { return monitors };
        let key = (orders.id, filters.clone(), self.analysis_date, grid.cells.clone());
        let (frame, job_filters, date) = (orders.data.clone(), filters.clone(), self.analysis_date);
        monitors.extend(self.rfm.request(&key, move || {
            Job::spawn("compute RFM segments", move |_| {
                let result = rfm::compute(&frame, &job_filters, date, &grid)?;
                Ok(Computed { input: frame, result })
            })
        }));
        if with_clusters {
            if let Some(rfm_output) = self.rfm.get_for(&key).cloned() {
                let k = self.k;
                monitors.extend(self.clusters.request(&(key, k), move || {
                    Job::spawn("k-means clusters", move |ctx| {
                        let result = clusters::compute(&rfm_output, k, ctx)?;
                        Ok(Computed { input: rfm_output, result })
                    })
                }));
            }
        }
        monitors
    }

    pub fn request_cohorts(&mut self, orders: &Versioned<OrderFrame>, filters: &Filters) -> Option<JobMonitor> {
        let (frame, job_filters) = (orders.data.clone(), filters.clone());
        self.cohorts.request(&(orders.id, filters.clone()), move || {
            Job::spawn("compute cohorts", move |_| Ok(cohorts::compute(&frame, &job_filters)?))
        })
    }

    pub fn request_clv(&mut self, orders: &Versioned<OrderFrame>, filters: &Filters) -> Option<JobMonitor> {
        let key = (orders.id, filters.clone(), self.clv_settings.clone());
        let (frame, job_filters, settings) = (orders.data.clone(), filters.clone(), self.clv_settings.clone());
        self.clv.request(&key, move || {
            Job::spawn("fit CLV models", move |ctx| {
                let result = clv::compute(&frame, &job_filters, &settings, ctx)?;
                let by_customer = Arc::new(ValueColumns::by_customer(&result));
                Ok(Computed { input: frame, result: ClvFit { result, by_customer } })
            })
        })
    }

    /// The error of the CLV fit for the current inputs, if it failed.
    pub fn clv_error(&self, orders: &Versioned<OrderFrame>, filters: &Filters) -> Option<&str> {
        self.clv.error_for(&(orders.id, filters.clone(), self.clv_settings.clone()))
    }

    /// CLV and P(alive) per customer for `rfm`'s customers: only from a fit on the same copy of
    /// the order lines and the same filters, so customer codes agree.
    pub fn value_columns(&self, rfm: &RfmOutput, filters: &Filters) -> Option<Arc<HashMap<u32, ValueColumns>>> {
        let (key, fit) = self.clv.get_with_key()?;
        (Arc::ptr_eq(&fit.input, &rfm.input) && key.1 == *filters && key.2 == self.clv_settings).then(|| fit.by_customer.clone())
    }

    /// Uses an edited segment map at once and saves it in the workspace (a job).
    pub fn set_grid(&mut self, grid: SegmentGrid, workspace: Option<&PathBuf>) {
        self.grid = Some(grid.clone());
        let Some(path) = workspace.cloned() else { return };
        // A newer edit supersedes one still being saved; both write the whole map.
        self.save_job = Some(Job::spawn("save segment map", move |_| {
            let mut ws = Workspace::open(&path)?;
            workspace::settings::save_segment_grid(ws.conn_mut(), &grid)?;
            Ok("Saved the segment map in the workspace".to_string())
        }));
    }
}

impl PanelModels for CustomerModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        match crate::jobs::take_finished(&mut self.grid_job) {
            Some(Ok(grid)) => self.grid = Some(grid),
            Some(Err(e)) => {
                cx.error(format!("Could not read the segment map: {e}"));
                self.grid = Some(SegmentGrid::default());
            }
            None => {}
        }
        cx.chore_outcome(crate::jobs::take_finished(&mut self.save_job), "Could not save the segment map");
        cx.report(super::panel_names::SEGMENTS.title, self.rfm.poll());
        cx.report("Clusters", self.clusters.poll());
        cx.report("Cohorts", self.cohorts.poll());
        cx.report(super::panel_names::CUSTOMER_VALUE.title, self.clv.poll());
    }

    fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
        match change {
            // Results hold the old copy: let it go (new keys would recompute them anyway).
            DataChange::OrderLines => {
                self.rfm.clear();
                self.clusters.clear();
                self.cohorts.clear();
                self.clv.clear();
            }
            DataChange::Workspace => *self = Self::default(),
            DataChange::Imported { .. } => {}
        }
    }

    fn busy(&self) -> bool {
        self.grid_job.is_some()
            || self.save_job.is_some()
            || self.rfm.is_running()
            || self.clusters.is_running()
            || self.cohorts.is_running()
            || self.clv.is_running()
    }
}
