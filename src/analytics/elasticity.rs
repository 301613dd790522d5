//! Price elasticity of demand per product, from our own price changes and units sold.
//!
//! The model is a Poisson GLM, `log E[units] = a + e·log(price) + calendar terms`, fitted by
//! [`super::glm`] (IRLS with step-halving, as statsmodels' `GLM(family=Poisson())`), one row per
//! period of the product's active span (from its first sale or price to the last day of the
//! data), periods without a sale counted as zeros. The period is the **day**, or the **month**
//! when every sale in the data falls on a month's first day (an export of monthly totals, like
//! the Kaggle retail-price file: 29 zeros after each total would be invented). Monthly exports
//! list only months with a record, so there a period is a month with a sale or a price of ours.
//!
//! Calendar terms: the weekday (daily sales), and the month of the year only when the history
//! spans at least a year and shows every month in at least two different years, so that a
//! Christmas peak is not read as a response to the Christmas price (with a single year, a
//! month's term would absorb every price change made at a month's turn; the reason then says
//! that the season is not separated). A weekday or month in which the product never
//! sold has a coefficient of −∞ (statsmodels walks it toward −30 until it stops): its periods are
//! fitted exactly and say nothing about price, so they are left out of the design, which gives
//! the limit of statsmodels' fit; they still count as residual degrees of freedom, as there.
//!
//! The interval is `e ± 1.96·se` with the **quasi-Poisson** standard error (the covariance scaled
//! by Pearson's χ² over residual degrees of freedom, statsmodels' `scale="X2"`): real daily
//! sales vary more than a Poisson count. `tests/pricing.rs` checks estimates and both standard
//! errors against statsmodels on committed fixtures.
//!
//! A product's verdict is exactly one of, each with its reason:
//! - `identified`: at least three price spells, log price varying by 2% or more, and a
//!   quasi-Poisson standard error of at most 0.5 — its own data suffice;
//! - `pooled`: it has its own fit but too uncertain, and its category has at least three
//!   identified products: the estimate is shrunk toward the category's random-effects mean
//!   (DerSimonian–Laird, as statsmodels' `combine_effects`), and its interval carries both the
//!   spread between products and the uncertainty of that mean;
//! - `not identified`: prices barely moved, too few spells, no fit, or too uncertain without a
//!   category to pool with; no elasticity is claimed.

use std::collections::HashMap;

use chrono::Datelike;

use super::customers::date_of_day;
use ndarray::{Array1, Array2};

/// The normal quantile of a two-sided 95% interval (statsmodels' `conf_int()` default).
pub const Z95: f64 = 1.959_963_984_540_054;

/// One period of a product: the price then and the units sold (0 for a period without a sale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SalesDay {
    /// Days since 1970-01-01 (at monthly grain, the month's first day).
    pub day: i64,
    pub price: f64,
    pub units: f64,
}

/// The period of one row of the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    /// Every sale in the data is dated on a month's first day: monthly totals.
    Month,
}

/// A fitted elasticity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub elasticity: f64,
    /// The model-based standard error (Poisson variance).
    pub poisson_standard_error: f64,
    /// The quasi-Poisson standard error: the one intervals and verdicts use.
    pub standard_error: f64,
    /// Pearson's χ² per residual degree of freedom.
    pub dispersion: f64,
    /// Month-of-year terms were in the model.
    pub seasonal: bool,
}

impl Fit {
    pub fn interval(&self) -> (f64, f64) {
        (self.elasticity - Z95 * self.standard_error, self.elasticity + Z95 * self.standard_error)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("too few periods with data ({0})")]
    TooFewDays(usize),
    #[error("the price never changed")]
    NoPriceVariation,
    #[error("it never sold")]
    NoSales,
    #[error("its price moved only with the calendar: the season and the price cannot be told apart")]
    Confounded,
    #[error("the fit did not converge")]
    NoConvergence,
}

/// Weekday of a day number: 0 = Monday (1970-01-01 was a Thursday).
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Month of the year of a day number, 0 = January.
fn month(day: i64) -> usize {
    date_of_day(day).month0() as usize
}

/// The calendar year of a day number.
fn year(day: i64) -> i32 {
    date_of_day(day).year()
}

/// Whether `day` is the first of its month.
fn first_of_month(day: i64) -> bool {
    date_of_day(day).day() == 1
}

/// The first day of the month of `day`.
fn month_start(day: i64) -> i64 {
    day - i64::from(date_of_day(day).day0())
}

/// A categorical calendar term: each row's level.
struct Factor {
    levels: Vec<usize>,
}

/// Fits the Poisson GLM on `days` at `grain`.
pub fn fit(days: &[SalesDay], grain: Grain) -> Result<Fit, FitError> {
    if days.len() < 4 {
        return Err(FitError::TooFewDays(days.len()));
    }
    let logs: Vec<f64> = days.iter().map(|d| d.price.ln()).collect();
    let (lo, hi) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    // (A NaN spread, from a non-positive price, counts as no variation too.)
    if (hi - lo).is_nan() || hi - lo <= 1e-9 {
        return Err(FitError::NoPriceVariation);
    }
    if days.iter().all(|d| d.units <= 0.0) {
        return Err(FitError::NoSales);
    }
    let mut factors = Vec::new();
    if grain == Grain::Day {
        factors.push(Factor { levels: days.iter().map(|d| weekday(d.day)).collect() });
    }
    let span = days.last().map_or(0, |d| d.day) - days.first().map_or(0, |d| d.day);
    let months: Vec<usize> = days.iter().map(|d| month(d.day)).collect();
    // Each month of the year in at least two different years: with one year, a month's term
    // would absorb every price change made at a month's turn.
    let mut years_per_month: [std::collections::BTreeSet<i32>; 12] = Default::default();
    for (d, &m) in days.iter().zip(&months) {
        years_per_month[m].insert(year(d.day));
    }
    let seasonal = span >= 365 && years_per_month.iter().all(|years| years.len() >= 2);
    if seasonal {
        factors.push(Factor { levels: months });
    }
    // Levels without a sale have an MLE of −∞: leave their rows out (see the module docs),
    // repeatedly, since leaving out a weekday can empty a month.
    let mut kept = vec![true; days.len()];
    let mut dropped_levels = 0;
    loop {
        let mut changed = false;
        for factor in &factors {
            let mut units = [0.0; 12];
            let mut present = [false; 12];
            for (i, &level) in factor.levels.iter().enumerate().filter(|(i, _)| kept[*i]) {
                units[level] += days[i].units;
                present[level] = true;
            }
            for level in (0..12).filter(|&l| present[l] && units[l] <= 0.0) {
                factor.levels.iter().enumerate().filter(|(_, &l)| l == level).for_each(|(i, _)| kept[i] = false);
                dropped_levels += 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let rows: Vec<usize> = (0..days.len()).filter(|&i| kept[i]).collect();
    // Each factor's levels present in the kept rows, less its first (the base level).
    let indicators: Vec<(usize, usize)> = factors
        .iter()
        .enumerate()
        .flat_map(|(f, factor)| {
            let mut present = [false; 12];
            rows.iter().for_each(|&i| present[factor.levels[i]] = true);
            (0..12).filter(move |&l| present[l]).skip(1).map(move |l| (f, l))
        })
        .collect();
    let width = 2 + indicators.len();
    if rows.len() < width + 2 {
        return Err(FitError::TooFewDays(rows.len()));
    }
    let x = Array2::from_shape_fn((rows.len(), width), |(r, j)| match j {
        0 => 1.0,
        1 => logs[rows[r]],
        _ => {
            let (f, level) = indicators[j - 2];
            f64::from(factors[f].levels[rows[r]] == level)
        }
    });
    let y = Array1::from_iter(rows.iter().map(|&i| days[i].units));
    let fit = super::glm::fit_poisson(x.view(), y.view(), 0.0).map_err(|e| match e {
        super::glm::GlmError::Singular => FitError::Confounded,
        super::glm::GlmError::TooFewObservations { observations, .. } => FitError::TooFewDays(observations),
        _ => FitError::NoConvergence,
    })?;
    // Degrees of freedom as in the full design: every left-out row, less one coefficient per
    // left-out level.
    let residual_df = fit.residual_df + (days.len() - rows.len()) - dropped_levels;
    let dispersion = if residual_df > 0 { fit.pearson_chi2 / residual_df as f64 } else { f64::NAN };
    let poisson_standard_error = fit.standard_error(1);
    let standard_error = poisson_standard_error * dispersion.sqrt();
    if !fit.coefficients[1].is_finite() || !standard_error.is_finite() {
        return Err(FitError::NoConvergence);
    }
    Ok(Fit { elasticity: fit.coefficients[1], poisson_standard_error, standard_error, dispersion, seasonal })
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
    /// Price spells (runs of periods at one price) in the active span.
    pub spells: usize,
    /// Periods (days, or months at monthly grain) in the active span.
    pub days: usize,
    /// Why the verdict is what it is: every verdict has one (the CLI's `reason` column).
    pub reason: String,
    /// The product sold at different unit prices on one day (volume tiers): the daily price is a
    /// quantity-weighted mean, which the estimate depends on.
    pub volume_tiers: bool,
}

/// What the estimates need per product: its category and its periods.
pub struct ProductSales<'a> {
    pub product: u32,
    pub category: &'a str,
    pub days: Vec<SalesDay>,
    pub grain: Grain,
    pub volume_tiers: bool,
}

/// The period of the data's sales: months when every sale is dated on a month's first day and
/// they span at least two months, else days.
pub fn grain(data: &super::pricing::PricingData) -> Grain {
    let all_firsts = data.sales.iter().all(|s| first_of_month(s.day));
    let several = data.sales.first().is_some_and(|first| data.sales.iter().any(|s| s.day != first.day));
    if all_firsts && several {
        Grain::Month
    } else {
        Grain::Day
    }
}

/// Every catalogue product's periods over its active span (first sale or price to the last day
/// of the data), zeros included. The period's price is ours (the price history, else the
/// catalogue price) at the end of its first day; a product without either is priced from its own
/// sales: the quantity-weighted mean unit price, carried over periods without a sale.
pub fn product_sales(data: &super::pricing::PricingData) -> Vec<ProductSales<'_>> {
    const DAY: i64 = 86_400;
    let Some(last_day) = data.sales.iter().map(|s| s.day).max() else { return Vec::new() };
    let grain = grain(data);
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
        // Monthly totals list only months with a record: a month without a sale or a price of
        // ours is unknown (the product may not have been listed), not a month of zero sales.
        let recorded: std::collections::HashSet<i64> = history.iter().map(|p| month_start(p.time.div_euclid(DAY))).collect();
        for day in first..=last_day {
            if grain == Grain::Month && (!first_of_month(day) || !(recorded.contains(&day) || sold.peek().is_some_and(|s| s.day == day))) {
                continue;
            }
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
        out.push(ProductSales { product, category: &data.products[product as usize].category, days, grain, volume_tiers });
    }
    out
}

/// Most standard error an own estimate may have to stand on its own.
const MAX_OWN_SE: f64 = 0.5;
/// Least log-price spread (about 2%) for a price change to tell demand apart from noise.
const MIN_LOG_PRICE_SD: f64 = 0.02;
/// Least number of price spells (two changes).
const MIN_SPELLS: usize = 3;
/// Least identified products in a category for its products to be pooled toward it.
pub const MIN_POOL: usize = 3;

/// A category's identified estimates combined as random effects (DerSimonian–Laird).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoryPool {
    /// The random-effects mean.
    pub mean: f64,
    /// Its variance.
    pub mean_variance: f64,
    /// The between-product variance of true elasticities (τ²).
    pub between_variance: f64,
    pub products: usize,
}

/// Combines `(estimate, standard error)` pairs as statsmodels'
/// `combine_effects(method_re="dl")` does: τ² by DerSimonian–Laird's method of moments, then the
/// mean weighted by 1/(se² + τ²).
pub fn pool(estimates: &[(f64, f64)]) -> Option<CategoryPool> {
    if estimates.len() < 2 {
        return None;
    }
    let weights: Vec<f64> = estimates.iter().map(|(_, se)| 1.0 / se.powi(2)).collect();
    let total: f64 = weights.iter().sum();
    let fixed = estimates.iter().zip(&weights).map(|((e, _), w)| w * e).sum::<f64>() / total;
    let q: f64 = estimates.iter().zip(&weights).map(|((e, _), w)| w * (e - fixed).powi(2)).sum();
    let c = total - weights.iter().map(|w| w * w).sum::<f64>() / total;
    let between_variance = ((q - (estimates.len() - 1) as f64) / c).max(0.0);
    let random: Vec<f64> = estimates.iter().map(|(_, se)| 1.0 / (se.powi(2) + between_variance)).collect();
    let random_total: f64 = random.iter().sum();
    let mean = estimates.iter().zip(&random).map(|((e, _), w)| w * e).sum::<f64>() / random_total;
    Some(CategoryPool { mean, mean_variance: 1.0 / random_total, between_variance, products: estimates.len() })
}

/// An own estimate `(e, se)` shrunk toward its category: the posterior mean under a normal prior
/// N(mean, τ²), `B·mean + (1 − B)·e` with `B = se²/(se² + τ²)`, and variance
/// `se²(1 − B) + B²·Var(mean)` (Morris 1983), so the interval carries the spread between
/// products and the uncertainty of the category's mean.
pub fn shrink(own: (f64, f64), toward: &CategoryPool) -> (f64, f64) {
    let (e, se) = own;
    let b = se.powi(2) / (se.powi(2) + toward.between_variance);
    let estimate = b * toward.mean + (1.0 - b) * e;
    let variance = se.powi(2) * (1.0 - b) + b * b * toward.mean_variance;
    (estimate, variance.sqrt())
}

/// Estimates every product: own fits first, then the uncertain ones pooled toward their
/// category when it has at least [`MIN_POOL`] identified products.
pub fn estimate(products: &[ProductSales<'_>]) -> Vec<Estimate> {
    let mut out: Vec<Estimate> = products.iter().map(own_estimate).collect();
    let mut by_category: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    for (p, e) in products.iter().zip(&out) {
        if let (Verdict::Identified, Some(fit)) = (e.verdict, e.own) {
            by_category.entry(p.category).or_default().push((fit.elasticity, fit.standard_error));
        }
    }
    let pools: HashMap<&str, CategoryPool> =
        by_category.iter().filter(|(_, v)| v.len() >= MIN_POOL).filter_map(|(c, v)| Some((*c, pool(v)?))).collect();
    for (p, e) in products.iter().zip(out.iter_mut()) {
        if e.verdict != Verdict::Pooled {
            continue;
        }
        let own = e.own.expect("a pooled product has its own fit");
        let Some(toward) = pools.get(p.category) else {
            let identified = by_category.get(p.category).map_or(0, Vec::len);
            e.verdict = Verdict::NotIdentified;
            e.reason = format!(
                "too uncertain on its own ({:.2} ± {:.2}), and its category '{}' has {identified} identified products ({MIN_POOL} needed to pool)",
                own.elasticity,
                Z95 * own.standard_error,
                p.category
            );
            continue;
        };
        let (pooled, se) = shrink((own.elasticity, own.standard_error), toward);
        e.elasticity = Some(pooled);
        e.interval = Some((pooled - Z95 * se, pooled + Z95 * se));
        e.reason = format!(
            "own estimate {:.2} ± {:.2} too uncertain: shrunk toward its category '{}' ({:.2}, {} identified products, spread {:.2})",
            own.elasticity,
            Z95 * own.standard_error,
            p.category,
            toward.mean,
            toward.products,
            toward.between_variance.sqrt()
        );
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
        reason: String::new(),
        volume_tiers: p.volume_tiers,
    };
    if p.days.is_empty() {
        estimate.reason = "no sales".into();
        return estimate;
    }
    if spells < MIN_SPELLS || sd < MIN_LOG_PRICE_SD {
        estimate.reason = if spells < MIN_SPELLS {
            format!("too few price spells ({spells}; {MIN_SPELLS} needed): one price change cannot be told from a change in demand")
        } else {
            format!("price barely moved (log-price spread {sd:.3}; {MIN_LOG_PRICE_SD} needed)")
        };
        return estimate;
    }
    let period = match p.grain {
        Grain::Day => "days",
        Grain::Month => "months",
    };
    match fit(&p.days, p.grain) {
        Ok(own) => {
            estimate.own = Some(own);
            let season =
                if own.seasonal { ", month of year in the model" } else { ", season not separated (needs every month in two years)" };
            if own.standard_error <= MAX_OWN_SE {
                estimate.verdict = Verdict::Identified;
                estimate.elasticity = Some(own.elasticity);
                estimate.interval = Some(own.interval());
                estimate.reason = format!(
                    "own fit over {} {period} and {spells} price spells; standard error {:.2} (quasi-Poisson, dispersion {:.1}){season}",
                    p.days.len(),
                    own.standard_error,
                    own.dispersion
                );
            } else {
                estimate.verdict = Verdict::Pooled;
                estimate.reason = format!("own standard error {:.2} above {MAX_OWN_SE}{season}", own.standard_error);
            }
        }
        Err(e) => estimate.reason = format!("no fit: {e}"),
    }
    estimate
}

/// Estimates as exported (`shoplens pricing elasticity`).
pub fn elasticity_table(product_ids: &[String], estimates: &[Estimate]) -> super::Table {
    let header = ["product_id", "elasticity", "ci_low", "ci_high", "verdict", "reason"].map(String::from).to_vec();
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
                e.reason.clone(),
            ]
        })
        .collect();
    (header, rows)
}

/// The fitted demand shape drawn through a product's days: units ∝ price^elasticity, scaled to
/// the days' mean units at their geometric mean price, at `points` + 1 prices evenly from the
/// lowest to the highest price seen. `None` with fewer than two prices (no curve to draw).
pub fn demand_curve(days: &[SalesDay], elasticity: f64, points: usize) -> Option<Vec<(f64, f64)>> {
    let (low, high) = days.iter().fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(d.price), hi.max(d.price)));
    if days.is_empty() || high <= low || points == 0 {
        return None;
    }
    let n = days.len() as f64;
    let mean_units = days.iter().map(|d| d.units).sum::<f64>() / n;
    let log_mean_price = days.iter().map(|d| d.price.ln()).sum::<f64>() / n;
    Some(
        (0..=points)
            .map(|i| {
                let price = low + (high - low) * i as f64 / points as f64;
                (price, mean_units * ((price.ln() - log_mean_price) * elasticity).exp())
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: prices 1 and 4 selling 4 and 1 (mean 2.5 units at the geometric mean
    /// price 2); with elasticity −1 the curve is 2.5 × 2/p: 5 at 1, 2.5 at 2, 1.25 at 4.
    #[test]
    fn the_demand_curve_passes_the_mean_day_with_the_fitted_slope() {
        let days = [SalesDay { day: 0, price: 1.0, units: 4.0 }, SalesDay { day: 1, price: 4.0, units: 1.0 }];
        let curve = demand_curve(&days, -1.0, 3).unwrap();
        let expected = [(1.0, 5.0), (2.0, 2.5), (3.0, 5.0 / 3.0), (4.0, 1.25)];
        for ((p, u), (ep, eu)) in curve.iter().zip(expected) {
            assert!((p - ep).abs() < 1e-12 && (u - eu).abs() < 1e-12, "{p} {u}");
        }
        assert_eq!(demand_curve(&days[..1], -1.0, 3), None, "one price: no curve");
    }

    #[test]
    fn weekdays_count_from_monday() {
        // 2024-01-01 was a Monday: day 19723.
        assert_eq!(weekday(19_723), 0);
        assert_eq!(weekday(19_723 + 6), 6);
    }

    #[test]
    fn a_constant_price_is_not_a_fit() {
        let days: Vec<SalesDay> = (0..30).map(|d| SalesDay { day: d, price: 5.0, units: 3.0 }).collect();
        assert_eq!(fit(&days, Grain::Day), Err(FitError::NoPriceVariation));
    }
}
