//! The customer models both customer panels read (Segments, Customer value): their inputs, the
//! latest results and the jobs that compute them. CLV joins into the Segments tables, so the two
//! panels share one copy.

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
use crate::workspace::{self, Workspace};

type RfmKey = (Filters, Option<NaiveDate>, [[String; 5]; 5]);

#[derive(Default)]
pub struct CustomerModels {
    /// The workspace's segment map; `None` until read.
    pub grid: Option<SegmentGrid>,
    grid_job: Option<Job<Result<SegmentGrid, String>>>,
    /// RFM analysis date chosen by the user (`None`: the day after the last purchase).
    pub analysis_date: Option<NaiveDate>,
    /// Number of clusters chosen by the user (`None`: the suggested one).
    pub k: Option<usize>,
    pub clv_settings: ClvSettings,
    pub rfm: Latest<RfmKey, RfmResult>,
    pub clusters: Latest<(RfmKey, Option<usize>), ClusterResult>,
    pub cohorts: Latest<Filters, CohortResult>,
    pub clv: Latest<(Filters, ClvSettings), ClvResult>,
    /// CLV and P(alive) by customer of the shown CLV result, for the Segments tables.
    value_columns: Option<(usize, Arc<HashMap<u32, ValueColumns>>)>,
}

impl CustomerModels {
    /// Another workspace: forget the results and its segment map.
    pub fn forget(&mut self) {
        self.data_changed(None);
        self.grid = None;
        self.grid_job = None;
    }

    /// A new copy of the data: results are stale. The segment map is read from `workspace` only
    /// if it is not known yet; once read, it changes only through `set_grid`, so reading it again
    /// could only bring back a map whose edit is still being saved.
    pub fn data_changed(&mut self, workspace: Option<PathBuf>) {
        self.rfm.clear();
        self.clusters.clear();
        self.cohorts.clear();
        self.clv.clear();
        self.value_columns = None;
        if self.grid.is_some() || self.grid_job.is_some() {
            return;
        }
        if let Some(path) = workspace {
            self.grid_job = Some(Job::spawn("read segment map", move |_| {
                let conn = workspace::open_read_only(&path).map_err(|e| e.to_string())?;
                SegmentGrid::load(&conn).map_err(|e| e.to_string())
            }));
        }
    }

    /// Collects finished jobs; returns error messages to show.
    pub fn poll(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        match crate::jobs::take_finished(&mut self.grid_job) {
            Some(Ok(grid)) => self.grid = Some(grid),
            Some(Err(e)) => {
                errors.push(format!("Could not read the segment map: {e}"));
                self.grid = Some(SegmentGrid::default());
            }
            None => {}
        }
        for (name, error) in [
            ("Segments", self.rfm.poll()),
            ("Clusters", self.clusters.poll()),
            ("Cohorts", self.cohorts.poll()),
            ("Customer value", self.clv.poll()),
        ] {
            if let Some(e) = error {
                errors.push(format!("{name}: {e}"));
            }
        }
        errors
    }

    pub fn busy(&self) -> bool {
        self.grid_job.is_some() || self.rfm.is_running() || self.clusters.is_running() || self.cohorts.is_running() || self.clv.is_running()
    }

    fn rfm_key(&self, filters: &Filters) -> Option<RfmKey> {
        Some((filters.clone(), self.analysis_date, self.grid.as_ref()?.cells.clone()))
    }

    /// Starts RFM (and, if `with_clusters`, k-means) for the current inputs unless up to date.
    pub fn request_rfm(&mut self, frame: &Arc<OrderFrame>, filters: &Filters, with_clusters: bool) -> Vec<JobMonitor> {
        let mut monitors = Vec::new();
        let (Some(key), Some(grid)) = (self.rfm_key(filters), self.grid.clone()) else { return monitors };
        let (job_frame, job_filters, date) = (frame.clone(), filters.clone(), self.analysis_date);
        monitors.extend(self.rfm.request(&key, move || {
            Job::spawn("compute RFM segments", move |_| rfm::compute(&job_frame, &job_filters, date, &grid).map_err(|e| e.to_string()))
        }));
        if with_clusters {
            if let Some(rfm_result) = self.rfm.get_for(&key).cloned() {
                let k = self.k;
                monitors.extend(self.clusters.request(&(key, k), move || {
                    Job::spawn("k-means clusters", move |ctx| clusters::compute(&rfm_result, k, ctx).map_err(|e| e.to_string()))
                }));
            }
        }
        monitors
    }

    pub fn request_cohorts(&mut self, frame: &Arc<OrderFrame>, filters: &Filters) -> Option<JobMonitor> {
        let (job_frame, job_filters) = (frame.clone(), filters.clone());
        self.cohorts.request(filters, move || {
            Job::spawn("compute cohorts", move |_| cohorts::compute(&job_frame, &job_filters).map_err(|e| e.to_string()))
        })
    }

    pub fn request_clv(&mut self, frame: &Arc<OrderFrame>, filters: &Filters) -> Option<JobMonitor> {
        let key = (filters.clone(), self.clv_settings.clone());
        let (job_frame, job_filters, settings) = (frame.clone(), filters.clone(), self.clv_settings.clone());
        self.clv.request(&key, move || Job::spawn("fit CLV models", move |ctx| clv::compute(&job_frame, &job_filters, &settings, ctx)))
    }

    /// CLV and P(alive) per customer from the shown CLV result, if it is for `filters`.
    pub fn value_columns(&mut self, filters: &Filters) -> Option<Arc<HashMap<u32, ValueColumns>>> {
        let result = self.clv.get_for(&(filters.clone(), self.clv_settings.clone()))?.clone();
        let id = Arc::as_ptr(&result) as usize;
        if self.value_columns.as_ref().is_none_or(|(cached, _)| *cached != id) {
            self.value_columns = Some((id, Arc::new(ValueColumns::by_customer(&result))));
        }
        self.value_columns.as_ref().map(|(_, v)| v.clone())
    }

    /// Saves an edited segment map (a job) and uses it at once.
    pub fn set_grid(&mut self, grid: SegmentGrid, workspace: Option<PathBuf>) -> Option<Job<Result<String, String>>> {
        self.grid = Some(grid.clone());
        let path = workspace?;
        Some(Job::spawn("save segment map", move |_| {
            let mut ws = Workspace::open(&path).map_err(|e| e.to_string())?;
            grid.save(ws.conn_mut()).map_err(|e| e.to_string())?;
            Ok("Saved the segment map in the workspace".to_string())
        }))
    }
}
