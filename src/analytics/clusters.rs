//! k-means clusters of customers on their RFM values (linfa).
//!
//! Features are log(1 + recency), log(1 + frequency) and log(1 + max(monetary, 0)), each
//! standardised to mean 0 and standard deviation 1: RFM values are heavily skewed and on
//! different scales, and k-means on raw values would cluster on monetary alone.
//! k is suggested by the best mean silhouette over k = 3..=8 (silhouettes on a seeded sample of
//! at most [`SILHOUETTE_SAMPLE`] customers, as they cost O(n²)). k = 2 is scored and shown but
//! not suggested: on RFM data it nearly always wins the silhouette by splitting good customers
//! from the rest, which is no use for targeting. The elbow (inertia) curve is shown beside it
//! and the user can override k.

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::rfm::RfmResult;
use crate::jobs::{Cancelled, JobContext};

pub const K_RANGE: std::ops::RangeInclusive<usize> = 2..=8;
pub const SILHOUETTE_SAMPLE: usize = 1_500;
const SEED: u64 = 42;

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub k: usize,
    /// Mean squared distance to the nearest centroid (standardised units).
    pub inertia: f64,
    pub silhouette: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterProfile {
    pub cluster: usize,
    pub customers: u64,
    pub mean_recency: f64,
    pub mean_frequency: f64,
    pub mean_monetary: f64,
    /// The named segment most of the cluster's customers are in, with its share.
    pub main_segment: String,
    pub main_segment_share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterResult {
    pub k: usize,
    /// The k ≥ 3 with the best silhouette.
    pub suggested_k: usize,
    pub candidates: Vec<Candidate>,
    /// Cluster of each customer, in the order of `RfmResult::customers`.
    pub assignment: Vec<usize>,
    /// Clusters ordered by mean monetary value, highest first (cluster 0 = most valuable).
    pub profiles: Vec<ClusterProfile>,
    /// Customers by cluster (rows) and named segment (columns, as in `RfmResult::segments`).
    pub crosstab: Vec<Vec<u64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("need at least {0} customers to cluster")]
    TooFewCustomers(usize),
    #[error("k-means: {0}")]
    KMeans(String),
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

/// Standardised log-RFM features, one row per customer.
pub fn features(rfm: &RfmResult) -> Array2<f64> {
    let mut x = Array2::zeros((rfm.customers.len(), 3));
    for (mut row, c) in x.axis_iter_mut(Axis(0)).zip(&rfm.customers) {
        row[0] = (c.recency_days.max(0) as f64).ln_1p();
        row[1] = f64::from(c.frequency).ln_1p();
        row[2] = c.monetary.max(0.0).ln_1p();
    }
    for mut column in x.axis_iter_mut(Axis(1)) {
        let mean = column.mean().unwrap_or(0.0);
        let sd = column.std(0.0);
        column.mapv_inplace(|v| if sd > 0.0 { (v - mean) / sd } else { 0.0 });
    }
    x
}

fn fit(x: &Array2<f64>, k: usize) -> Result<(Array1<usize>, f64), ClusterError> {
    let dataset = DatasetBase::from(x.clone());
    // `params` seeds linfa's own generator with a fixed seed: the same data gives the same clusters.
    let model =
        KMeans::params(k).n_runs(4).max_n_iterations(300).tolerance(1e-6).fit(&dataset).map_err(|e| ClusterError::KMeans(e.to_string()))?;
    let labels = model.predict(x);
    Ok((labels, model.inertia()))
}

/// Runs k-means for every k in [`K_RANGE`] to score them, then reports the clustering for
/// `k` (or the suggested k).
pub fn compute(rfm: &RfmResult, k: Option<usize>, ctx: &JobContext) -> Result<ClusterResult, ClusterError> {
    let n = rfm.customers.len();
    if n < *K_RANGE.end() * 2 {
        return Err(ClusterError::TooFewCustomers(K_RANGE.end() * 2));
    }
    let x = features(rfm);
    let mut sample: Vec<usize> = (0..n).collect();
    sample.shuffle(&mut rand::rngs::StdRng::seed_from_u64(SEED));
    sample.truncate(SILHOUETTE_SAMPLE);
    let sample_x = x.select(Axis(0), &sample);

    ctx.set_total(K_RANGE.count() as u64);
    let mut candidates = Vec::new();
    let mut fits = Vec::new();
    for (i, kk) in K_RANGE.enumerate() {
        ctx.check()?;
        ctx.set_message(format!("k-means with k = {kk}"));
        let (labels, inertia) = fit(&x, kk)?;
        let sample_labels = labels.select(Axis(0), &sample);
        let silhouette =
            DatasetBase::new(sample_x.clone(), sample_labels).silhouette_score().map_err(|e| ClusterError::KMeans(e.to_string()))?;
        candidates.push(Candidate { k: kk, inertia, silhouette });
        fits.push(labels);
        ctx.set_done(i as u64 + 1);
    }
    let suggested_k =
        candidates.iter().filter(|c| c.k >= 3).max_by(|a, b| a.silhouette.total_cmp(&b.silhouette)).map_or(*K_RANGE.start(), |c| c.k);
    let k = k.filter(|k| K_RANGE.contains(k)).unwrap_or(suggested_k);
    let labels = fits.swap_remove(k - K_RANGE.start());
    Ok(describe(rfm, k, suggested_k, candidates, &labels))
}

/// Profiles the clusters and renumbers them by value so cluster numbers mean the same thing run
/// after run.
fn describe(rfm: &RfmResult, k: usize, suggested_k: usize, candidates: Vec<Candidate>, labels: &Array1<usize>) -> ClusterResult {
    let mut sums = vec![(0u64, 0.0, 0.0, 0.0); k];
    for (c, &l) in rfm.customers.iter().zip(labels) {
        let s = &mut sums[l];
        s.0 += 1;
        s.1 += c.recency_days as f64;
        s.2 += f64::from(c.frequency);
        s.3 += c.monetary;
    }
    let mean = |s: f64, n: u64| if n > 0 { s / n as f64 } else { 0.0 };
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| mean(sums[b].3, sums[b].0).total_cmp(&mean(sums[a].3, sums[a].0)));
    let mut renumber = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new;
    }
    let assignment: Vec<usize> = labels.iter().map(|&l| renumber[l]).collect();
    let mut crosstab = vec![vec![0u64; rfm.segments.len()]; k];
    for (c, &cluster) in rfm.customers.iter().zip(&assignment) {
        crosstab[cluster][c.segment] += 1;
    }
    let profiles = order
        .iter()
        .enumerate()
        .map(|(cluster, &old)| {
            let (n, r, f, m) = sums[old];
            let (main, count) = crosstab[cluster].iter().enumerate().max_by_key(|(_, &c)| c).map_or((0, 0), |(i, &c)| (i, c));
            ClusterProfile {
                cluster,
                customers: n,
                mean_recency: mean(r, n),
                mean_frequency: mean(f, n),
                mean_monetary: mean(m, n),
                main_segment: rfm.segments.get(main).map(|s| s.name.clone()).unwrap_or_default(),
                main_segment_share: if n > 0 { count as f64 / n as f64 } else { 0.0 },
            }
        })
        .collect();
    ClusterResult { k, suggested_k, candidates, assignment, profiles, crosstab }
}

pub fn profile_table(result: &ClusterResult) -> crate::analytics::Table {
    let header = ["cluster", "customers", "mean_recency_days", "mean_frequency", "mean_monetary", "main_segment", "main_segment_share"]
        .map(String::from)
        .to_vec();
    let rows = result
        .profiles
        .iter()
        .map(|p| {
            vec![
                p.cluster.to_string(),
                p.customers.to_string(),
                format!("{:.1}", p.mean_recency),
                format!("{:.2}", p.mean_frequency),
                format!("{:.2}", p.mean_monetary),
                p.main_segment.clone(),
                format!("{:.3}", p.main_segment_share),
            ]
        })
        .collect();
    (header, rows)
}
