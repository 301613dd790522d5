//! Monthly acquisition cohorts: customers grouped by the month of their first purchase (inside
//! the filters), followed month by month.
//!
//! Definitions: a customer is retained in month k of their cohort when they make a purchase
//! (non-cancelled line) in the k-th calendar month after their first; month 0 is 100% by
//! definition. Revenue per customer divides the cohort's revenue in month k by the cohort's size
//! (not by the customers still active), so it reads as value per acquired customer.

use std::collections::HashMap;

use polars::prelude::*;

use super::customers::LineView;
use super::order_frame::{col, month_start, OrderFrame};
use super::Filters;

#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// Month index of acquisition (see `order_frame::month_index`).
    pub month: i32,
    pub size: u64,
    /// Customers active in each month since acquisition (index 0 = the acquisition month).
    pub active: Vec<u64>,
    pub revenue: Vec<f64>,
}

impl Cohort {
    pub fn label(&self) -> String {
        month_start(self.month).format("%Y-%m").to_string()
    }

    pub fn retention_pct(&self, offset: usize) -> Option<f64> {
        self.active.get(offset).map(|&n| n as f64 / self.size.max(1) as f64 * 100.0)
    }

    pub fn revenue_per_customer(&self, offset: usize) -> Option<f64> {
        self.revenue.get(offset).map(|&r| r / self.size.max(1) as f64)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CohortResult {
    pub cohorts: Vec<Cohort>,
    /// Number of month columns (the oldest cohort's age + 1).
    pub months: usize,
    /// The period's last month when the period ends before that month does (the data ends on
    /// the 9th): every cohort's cell in it covers part of a month, and would read as a fall.
    pub partial_month: Option<i32>,
    /// The period's last day, for saying so.
    pub last_day: Option<chrono::NaiveDate>,
}

impl CohortResult {
    /// Whether `cohort`'s cell `offset` months after its first covers only part of its month.
    pub fn is_partial(&self, cohort: &Cohort, offset: usize) -> bool {
        self.partial_month == Some(cohort.month + offset as i32)
    }
}

pub fn compute(frame: &OrderFrame, filters: &Filters) -> PolarsResult<CohortResult> {
    let view = LineView::new(frame, filters)?;
    let month_col = frame.lines.column(col::MONTH)?.i32()?;
    polars_ensure!(month_col.chunks().len() == 1, ComputeError: "column 'month' is not contiguous");
    let month = month_col.downcast_as_array().values();

    let mut first = vec![i32::MAX; frame.customers.len()];
    for i in 0..view.len() {
        if let Some(c) = view.purchase(i) {
            first[c as usize] = first[c as usize].min(month[i]);
        }
    }
    let last_month = (0..view.len()).filter(|&i| view.purchase(i).is_some()).map(|i| month[i]).max();
    let Some(last_month) = last_month else {
        return Ok(CohortResult { cohorts: Vec::new(), months: 0, partial_month: None, last_day: None });
    };
    let first_month = first.iter().copied().filter(|&m| m != i32::MAX).min().unwrap_or(last_month);
    let width = (last_month - first_month + 1) as usize;
    let cohort_of = |c: usize| (first[c] - first_month) as usize;

    let mut size = vec![0u64; width];
    for &m in first.iter().filter(|&&m| m != i32::MAX) {
        size[(m - first_month) as usize] += 1;
    }
    let mut active = vec![vec![0u64; width]; width];
    let mut revenue = vec![vec![0.0; width]; width];
    let mut seen: HashMap<(u32, i32), ()> = HashMap::new();
    for i in 0..view.len() {
        let Some(c) = view.purchase(i) else { continue };
        let cohort = cohort_of(c as usize);
        let offset = (month[i] - first[c as usize]) as usize;
        revenue[cohort][offset] += view.value[i];
        if seen.insert((c, month[i]), ()).is_none() {
            active[cohort][offset] += 1;
        }
    }
    let cohorts = (0..width)
        .filter(|&k| size[k] > 0)
        .map(|k| {
            // A cohort can only be followed up to the last month in the data.
            let age = width - k;
            Cohort { month: first_month + k as i32, size: size[k], active: active[k][..age].to_vec(), revenue: revenue[k][..age].to_vec() }
        })
        .collect();
    // The period ends on the filter's last day or the data's, whichever is earlier.
    let data_end = frame.date_span().map(|(_, last)| last);
    let last_day = match (filters.to, data_end) {
        (Some(to), Some(end)) => Some(to.min(end)),
        (to, end) => to.or(end),
    };
    let partial_month = last_day
        .filter(|d| d.succ_opt().is_some_and(|next| chrono::Datelike::month(&next) == chrono::Datelike::month(d)))
        .map(|d| super::order_frame::month_index(chrono::Datelike::year(&d), chrono::Datelike::month(&d)))
        .filter(|&m| m == last_month);
    Ok(CohortResult { cohorts, months: width, partial_month, last_day })
}

/// The heat map as exported: one row per cohort, one column per month since acquisition.
pub fn table(result: &CohortResult, revenue: bool) -> crate::analytics::Table {
    let mut header = vec!["cohort".to_string(), "customers".to_string()];
    header.extend((0..result.months).map(|k| format!("month_{k}")));
    let rows = result
        .cohorts
        .iter()
        .map(|c| {
            let mut row = vec![c.label(), c.size.to_string()];
            row.extend((0..c.active.len()).map(|k| {
                if revenue {
                    format!("{:.2}", c.revenue_per_customer(k).unwrap_or(0.0))
                } else {
                    format!("{:.2}", c.retention_pct(k).unwrap_or(0.0))
                }
            }));
            // Months a young cohort has not lived yet stay empty (and every row has every column).
            row.resize(result.months + 2, String::new());
            row
        })
        .collect();
    (header, rows)
}
