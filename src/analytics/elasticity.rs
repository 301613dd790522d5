//! Price elasticity of demand per product, from our own price changes and daily units.
//!
//! The model is a Poisson GLM, `log E[units] = a + e·log(price) + day-of-week`, fitted by
//! iteratively reweighted least squares (Newton's method on the log-likelihood), as statsmodels'
//! `GLM(family=Poisson())` does; the interval is `e ± 1.96·se` from the inverse Fisher information
//! (`tests/pricing.rs` checks both against statsmodels on a committed fixture).
//!
//! Days with no sale count, as zeros, over the product's active period: from its first sale or
//! price to the last day of the data. A product's verdict is exactly one of:
//! - `identified`: at least three price spells, log price varying by 2% or more, and a standard
//!   error of at most 0.5 — its own data suffice;
//! - `pooled`: it moved its price but its own estimate is too uncertain; the estimate is shrunk
//!   toward its category's (precision-weighted), and shown as such;
//! - `not identified`: prices barely moved or too few spells; no elasticity is a finding.

use std::collections::HashMap;

use linfa_linalg::cholesky::{InverseC, SolveC};
use ndarray::{Array1, Array2};

/// The normal quantile of a two-sided 95% interval (statsmodels' `conf_int()` default).
pub const Z95: f64 = 1.959_963_984_540_054;

/// One product-day: the price that day and the units sold (0 for a day without a sale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SalesDay {
    /// Days since 1970-01-01.
    pub day: i64,
    pub price: f64,
    pub units: f64,
}

/// A fitted elasticity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub elasticity: f64,
    pub standard_error: f64,
}

impl Fit {
    pub fn interval(&self) -> (f64, f64) {
        (self.elasticity - Z95 * self.standard_error, self.elasticity + Z95 * self.standard_error)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("too few days ({0})")]
    TooFewDays(usize),
    #[error("the price never changed")]
    NoPriceVariation,
    #[error("the fit did not converge")]
    NoConvergence,
}

/// Weekday of a day number: 0 = Monday (1970-01-01 was a Thursday).
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Fits the Poisson GLM on `days` by IRLS.
pub fn fit(days: &[SalesDay]) -> Result<Fit, FitError> {
    const COLUMNS: usize = 8; // intercept, log price, six weekday indicators (Monday is the base)
    if days.len() < COLUMNS + 2 {
        return Err(FitError::TooFewDays(days.len()));
    }
    let logs: Vec<f64> = days.iter().map(|d| d.price.ln()).collect();
    let (lo, hi) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    // (A NaN spread, from a non-positive price, counts as no variation too.)
    if (hi - lo).is_nan() || hi - lo <= 1e-9 {
        return Err(FitError::NoPriceVariation);
    }
    // A weekday that never occurs (a short span) would make the system singular: leave it out.
    let mut present = [false; 7];
    for d in days {
        present[weekday(d.day)] = true;
    }
    let weekdays: Vec<usize> = (1..7).filter(|&w| present[w]).collect();
    let width = 2 + weekdays.len();
    debug_assert!(width <= COLUMNS);
    let x = Array2::from_shape_fn((days.len(), width), |(i, j)| match j {
        0 => 1.0,
        1 => logs[i],
        _ => f64::from(weekday(days[i].day) == weekdays[j - 2]),
    });
    let y = Array1::from_iter(days.iter().map(|d| d.units));
    let mean = y.mean().unwrap_or(0.0).max(1e-3);
    let mut beta = Array1::zeros(width);
    beta[0] = mean.ln();
    for _ in 0..100 {
        let eta = x.dot(&beta);
        let mu = eta.mapv(|e: f64| e.min(50.0).exp());
        // X'WX with W = diag(mu), and the score X'(y − mu).
        let weighted = &x * &mu.view().insert_axis(ndarray::Axis(1));
        let information = x.t().dot(&weighted);
        let score = x.t().dot(&(&y - &mu));
        // `solvec` factors its matrix in place: solve on a copy, keep the information for the
        // covariance.
        let step =
            information.clone().solvec(&score.view().insert_axis(ndarray::Axis(1)).to_owned()).map_err(|_| FitError::NoConvergence)?;
        let step = step.column(0).to_owned();
        beta = &beta + &step;
        if step.iter().all(|s| s.abs() < 1e-10) {
            let covariance = information.invc().map_err(|_| FitError::NoConvergence)?;
            return Ok(Fit { elasticity: beta[1], standard_error: covariance[[1, 1]].max(0.0).sqrt() });
        }
    }
    Err(FitError::NoConvergence)
}

/// Exactly one per product; the CLI's `verdict` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Identified,
    Pooled,
    NotIdentified,
}

impl Verdict {
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Identified => "identified",
            Verdict::Pooled => "pooled",
            Verdict::NotIdentified => "not identified",
        }
    }
}

/// A product's elasticity as shown and used for recommendations.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub product: u32,
    pub verdict: Verdict,
    /// The estimate (own or pooled); `None` when not identified.
    pub elasticity: Option<f64>,
    pub interval: Option<(f64, f64)>,
    /// The product's own fit, when there is one (also behind a pooled estimate).
    pub own: Option<Fit>,
    /// Price spells (runs of days at one price) in the active period.
    pub spells: usize,
    pub days: usize,
    /// Why it is not identified, or what it was pooled toward.
    pub note: String,
    /// The product sold at different unit prices on one day (volume tiers): the daily price is a
    /// quantity-weighted mean, which the estimate depends on.
    pub volume_tiers: bool,
}

/// What the estimates need per product: its category and its days.
pub struct ProductSales<'a> {
    pub product: u32,
    pub category: &'a str,
    pub days: Vec<SalesDay>,
    pub volume_tiers: bool,
}

/// Every catalogue product's days over its active period (first sale or price to the last day
/// of the data), zeros included. The day's price is ours (the price history, else the catalogue
/// price); a product without either is priced from its own sales: the day's quantity-weighted
/// mean unit price, carried over days without a sale.
pub fn product_sales(data: &super::pricing::PricingData) -> Vec<ProductSales<'_>> {
    const DAY: i64 = 86_400;
    let Some(last_day) = data.sales.iter().map(|s| s.day).max() else { return Vec::new() };
    let mut out = Vec::new();
    for product in 0..data.products.len() as u32 {
        let sales = data.sales_of(product);
        let history = data.our_history(product);
        let first = sales.first().map(|s| s.day).into_iter().chain(history.first().map(|p| p.time.div_euclid(DAY))).min();
        let Some(first) = first else { continue };
        let own_prices = !history.is_empty() || data.products[product as usize].price.is_some();
        let mut days = Vec::with_capacity((last_day - first + 1).max(0) as usize);
        let mut sold = sales.iter().peekable();
        let mut carried: Option<f64> = None;
        for day in first..=last_day {
            let sale = sold.next_if(|s| s.day == day);
            let units = sale.map_or(0.0, |s| s.units);
            let price = if own_prices {
                super::pricing::price_in(history, data.products[product as usize].price, day * DAY + DAY - 1)
            } else {
                if let Some(s) = sale.filter(|s| s.units > 0.0) {
                    carried = Some(s.revenue / s.units);
                }
                carried
            };
            if let Some(price) = price.filter(|p| *p > 0.0) {
                days.push(SalesDay { day, price, units });
            }
        }
        let volume_tiers = sales.iter().any(|s| s.highest_price > s.lowest_price);
        out.push(ProductSales { product, category: &data.products[product as usize].category, days, volume_tiers });
    }
    out
}

/// Most standard error an own estimate may have to stand on its own.
const MAX_OWN_SE: f64 = 0.5;
/// Least log-price spread (about 2%) for a price change to tell demand apart from noise.
const MIN_LOG_PRICE_SD: f64 = 0.02;
/// Least number of price spells (two changes).
const MIN_SPELLS: usize = 3;

/// Estimates every product: own fits first, then the pooled ones toward their category's
/// identified estimates (or all identified ones, when the category has none).
pub fn estimate(products: &[ProductSales<'_>]) -> Vec<Estimate> {
    let mut out: Vec<Estimate> = products.iter().map(own_estimate).collect();
    // Category targets: the precision-weighted mean of identified estimates and their spread.
    let mut by_category: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    let mut all = Vec::new();
    for (p, e) in products.iter().zip(&out) {
        if let (Verdict::Identified, Some(fit)) = (e.verdict, e.own) {
            by_category.entry(p.category).or_default().push((fit.elasticity, fit.standard_error));
            all.push((fit.elasticity, fit.standard_error));
        }
    }
    let target = |values: &[(f64, f64)]| -> Option<(f64, f64)> {
        if values.len() < 2 {
            return None;
        }
        let mean = values.iter().map(|v| v.0).sum::<f64>() / values.len() as f64;
        let spread = (values.iter().map(|v| (v.0 - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt();
        // The spread of true elasticities in the group, floored so one tight group does not
        // overrule every product's own data.
        Some((mean, spread.max(0.25)))
    };
    let overall = target(&all);
    for (p, e) in products.iter().zip(out.iter_mut()) {
        if e.verdict != Verdict::Pooled {
            continue;
        }
        let own = e.own.expect("a pooled product has its own fit");
        let (toward, group) = match target(by_category.get(p.category).map_or(&[][..], Vec::as_slice)) {
            Some(t) => (t, format!("its category '{}'", p.category)),
            None => match overall {
                Some(t) => (t, "all products".to_string()),
                None => {
                    e.verdict = Verdict::NotIdentified;
                    e.note = "too uncertain on its own, and no identified products to pool with".into();
                    continue;
                }
            },
        };
        let (own_precision, group_precision) = (1.0 / own.standard_error.powi(2), 1.0 / toward.1.powi(2));
        let pooled = (own.elasticity * own_precision + toward.0 * group_precision) / (own_precision + group_precision);
        let se = (1.0 / (own_precision + group_precision)).sqrt();
        e.elasticity = Some(pooled);
        e.interval = Some((pooled - Z95 * se, pooled + Z95 * se));
        e.note = format!("own estimate {:.2} ± {:.2}, shrunk toward {group} ({:.2})", own.elasticity, Z95 * own.standard_error, toward.0);
    }
    out
}

fn own_estimate(p: &ProductSales<'_>) -> Estimate {
    let spells = 1 + p.days.windows(2).filter(|w| w[0].price != w[1].price).count();
    let logs: Vec<f64> = p.days.iter().map(|d| d.price.ln()).collect();
    let mean = logs.iter().sum::<f64>() / logs.len().max(1) as f64;
    let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / logs.len().max(1) as f64).sqrt();
    let mut estimate = Estimate {
        product: p.product,
        verdict: Verdict::NotIdentified,
        elasticity: None,
        interval: None,
        own: None,
        spells,
        days: p.days.len(),
        note: String::new(),
        volume_tiers: p.volume_tiers,
    };
    if p.days.is_empty() {
        estimate.note = "no sales".into();
        return estimate;
    }
    if spells < MIN_SPELLS || sd < MIN_LOG_PRICE_SD {
        estimate.note = if spells < MIN_SPELLS {
            format!("too few price spells ({spells}; {MIN_SPELLS} needed): one price change cannot be told from a change in demand")
        } else {
            format!("price barely moved (log-price spread {sd:.3})")
        };
        return estimate;
    }
    match fit(&p.days) {
        Ok(own) => {
            estimate.own = Some(own);
            if own.standard_error <= MAX_OWN_SE {
                estimate.verdict = Verdict::Identified;
                estimate.elasticity = Some(own.elasticity);
                estimate.interval = Some(own.interval());
            } else {
                estimate.verdict = Verdict::Pooled;
            }
        }
        Err(e) => estimate.note = e.to_string(),
    }
    estimate
}

/// Estimates as exported (`shoplens pricing elasticity`).
pub fn elasticity_table(product_ids: &[String], estimates: &[Estimate]) -> super::Table {
    let header = ["product_id", "elasticity", "ci_low", "ci_high", "verdict"].map(String::from).to_vec();
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.4}"));
    let rows = estimates
        .iter()
        .map(|e| {
            vec![
                product_ids[e.product as usize].clone(),
                number(e.elasticity),
                number(e.interval.map(|i| i.0)),
                number(e.interval.map(|i| i.1)),
                e.verdict.name().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_count_from_monday() {
        // 2024-01-01 was a Monday: day 19723.
        assert_eq!(weekday(19_723), 0);
        assert_eq!(weekday(19_723 + 6), 6);
    }

    #[test]
    fn a_constant_price_is_not_a_fit() {
        let days: Vec<SalesDay> = (0..30).map(|d| SalesDay { day: d, price: 5.0, units: 3.0 }).collect();
        assert_eq!(fit(&days), Err(FitError::NoPriceVariation));
    }
}
