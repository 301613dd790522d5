//! Did a price change work? The realised effect of one product's price change on its daily
//! units (or revenue, or profit) against comparable untouched products, as a
//! difference-in-differences (issue 33; this module is its estimator).
//!
//! Why this design: a product's sales move for reasons of their own (season, a campaign, the
//! month's payday), so its change from before to after a price change is not the change's effect.
//! Products of the same category whose price did not change in either window feel the same
//! season and campaigns; their change over the same days is what the product would have done
//! anyway. They are first scaled, by one factor, to the product's level in the days before (a
//! shop's products sell one a day and a hundred a day side by side, and a season lifts both by
//! a share, not by as many units), so the comparison is of shares: the product's days after
//! against its days before grown as its category grew. The effect is the product's change minus
//! theirs. It assumes the product would have moved by the same share as its controls without
//! the change (parallel trends, checked on the days before: [`realised`]), that the change did
//! not move the controls' sales (no shoppers switching between them), and that days without a
//! sale are zero sales, not missing data.
//!
//! The estimate is the ordinary least squares of the daily figure on product and day fixed
//! effects and the treated-after indicator, over a balanced panel (every product every day of
//! both windows). On a balanced panel that regression has a closed form: with every series
//! demeaned by product and by day (x̃ = x − x̄ᵢ − x̄ₜ + x̄), the effect is Σ D̃ỹ / Σ D̃², which is
//! also (the product's after − before) − (the controls' after − before). Its standard error is
//! heteroskedasticity-robust (HC2, statsmodels' `cov_type="HC2"`): Σ D̃²ε̂²/(1 − hᵢₜ) / (Σ D̃²)²,
//! hᵢₜ the observation's leverage. Not OLS's pooled σ̂²: products sell at very different
//! volumes, and the estimate carries the treated product's own noise, which a pooled variance
//! over- or understates (on Poisson sales a big seller's interval then covers its true effect
//! far less than 95% of the time, a small seller's always). HC2 rather than HC1: with one
//! treated product and a handful of controls its days have high leverage, which HC2 accounts
//! for. The 95% interval and P(effect > 0) come from
//! the t distribution on the residual N·T − N − T degrees of freedom.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::customers::SECONDS_PER_DAY as DAY;
use super::pricing::PricingData;
use crate::jobs::{Cancelled, JobContext};

/// The effect of a change on one product, against its controls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DidEstimate {
    /// In the figure's units a day (units, money).
    pub effect: f64,
    /// Heteroskedasticity-robust (HC2).
    pub standard_error: f64,
    /// Residual degrees of freedom: N·T − N − T.
    pub degrees_of_freedom: f64,
    /// The 95% interval.
    pub interval: (f64, f64),
    /// P(effect > 0) under the t distribution around the estimate.
    pub p_positive: f64,
}

/// Why no estimate can be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DidError {
    #[error("no comparable products left untouched in both windows")]
    NoControls,
    #[error("the windows need at least two days each (before: {before}, after: {after})")]
    TooFewDays { before: usize, after: usize },
    #[error("every series must cover the same days: the product has {treated} days, a control {control}")]
    Unbalanced { treated: usize, control: usize },
    #[error("nothing varies: no interval can be given")]
    NoVariation,
}

/// The difference-in-differences of `treated` against `controls` (each a daily series over the
/// same days: `before` days before the change, then the rest after it).
pub fn difference_in_differences(treated: &[f64], controls: &[Vec<f64>], before: usize) -> Result<DidEstimate, DidError> {
    let days = treated.len();
    let after = days.saturating_sub(before);
    if controls.is_empty() {
        return Err(DidError::NoControls);
    }
    if before < 2 || after < 2 {
        return Err(DidError::TooFewDays { before, after });
    }
    if let Some(control) = controls.iter().find(|c| c.len() != days) {
        return Err(DidError::Unbalanced { treated: days, control: control.len() });
    }
    let series: Vec<&[f64]> = std::iter::once(treated).chain(controls.iter().map(Vec::as_slice)).collect();
    let (n, t) = (series.len(), days);
    let indicator = |i: usize, d: usize| if i == 0 && d >= before { 1.0 } else { 0.0 };
    // Two-way demeaning of the figure and of the indicator.
    let demean = |value: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
        let grand = (0..n).flat_map(|i| (0..t).map(move |d| (i, d))).map(|(i, d)| value(i, d)).sum::<f64>() / (n * t) as f64;
        let by_unit: Vec<f64> = (0..n).map(|i| (0..t).map(|d| value(i, d)).sum::<f64>() / t as f64).collect();
        let by_day: Vec<f64> = (0..t).map(|d| (0..n).map(|i| value(i, d)).sum::<f64>() / n as f64).collect();
        (0..n).map(|i| (0..t).map(|d| value(i, d) - by_unit[i] - by_day[d] + grand).collect()).collect()
    };
    let y = demean(&|i, d| series[i][d]);
    let x = demean(&|i, d| indicator(i, d));
    let sxx: f64 = x.iter().flatten().map(|v| v * v).sum();
    let sxy: f64 = x.iter().flatten().zip(y.iter().flatten()).map(|(a, b)| a * b).sum();
    let effect = sxy / sxx;
    let residual = |a: f64, b: f64| b - effect * a;
    let ssr: f64 = x.iter().flatten().zip(y.iter().flatten()).map(|(a, b)| residual(*a, *b).powi(2)).sum();
    // HC2: each squared residual over 1 − its leverage. On a balanced two-way panel the hat
    // matrix is the fixed effects' (leverage 1/T + 1/N − 1/NT) plus the indicator's (x̃² / Σx̃²).
    let fixed_effects_leverage = 1.0 / t as f64 + 1.0 / n as f64 - 1.0 / (n * t) as f64;
    let meat: f64 = x
        .iter()
        .flatten()
        .zip(y.iter().flatten())
        .map(|(a, b)| (a * residual(*a, *b)).powi(2) / (1.0 - fixed_effects_leverage - a * a / sxx))
        .sum();
    let df = (n * t - n - t) as f64;
    let standard_error = (meat / (sxx * sxx)).sqrt();
    // A fit with no residual left (rounding aside) has no spread to give an interval from.
    let total: f64 = y.iter().flatten().map(|v| v * v).sum();
    if ssr <= 1e-20 * total.max(1.0) || !standard_error.is_finite() {
        return Err(DidError::NoVariation);
    }
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|_| DidError::NoVariation)?;
    let q = dist.inverse_cdf(0.975);
    Ok(DidEstimate {
        effect,
        standard_error,
        degrees_of_freedom: df,
        interval: (effect - q * standard_error, effect + q * standard_error),
        p_positive: dist.cdf(effect / standard_error),
    })
}

/// A change of our price: from the price history (imported or decided in shoplens).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceChange {
    pub product: u32,
    /// The first day at the new price (days since 1970-01-01).
    pub day: i64,
    pub old_price: f64,
    pub new_price: f64,
}

/// Every change of our price in `data`'s history, by product then day: each entry whose price
/// differs from the one before it.
pub fn price_changes(data: &PricingData) -> Vec<PriceChange> {
    let mut out = Vec::new();
    for product in 0..data.products.len() as u32 {
        for pair in data.our_history(product).windows(2) {
            if pair[1].price != pair[0].price {
                out.push(PriceChange { product, day: pair[1].time.div_euclid(DAY), old_price: pair[0].price, new_price: pair[1].price });
            }
        }
    }
    out
}

/// What a price change did, against its controls.
#[derive(Debug, Clone, PartialEq)]
pub struct Realised {
    pub change: PriceChange,
    /// Comparable products left untouched in both windows.
    pub controls: usize,
    pub units: DidEstimate,
    pub revenue: DidEstimate,
    /// When the product has a cost.
    pub profit: Option<DidEstimate>,
    /// What may make the estimate wrong.
    pub warnings: Vec<ImpactWarning>,
    /// The days compared, for a chart: per day, the product's units and its controls' mean units
    /// (the window's days before the change, then as many from it on).
    pub product_units: Vec<f64>,
    pub control_units: Vec<f64>,
}

/// What may make a realised effect wrong, found in the data around it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImpactWarning {
    #[error("only {0} comparable products kept their price: a thin comparison")]
    FewControls(usize),
    /// Before the change, between the two halves of the window before (a placebo change).
    #[error(
        "before the change the product and its controls already moved apart ({} units a day between the two halves of the window before): the estimate may carry that trend",
        crate::text::number(*units, 1)
    )]
    PreTrend { units: f64 },
    /// The controls' units after over before (their own units, together): the windows
    /// straddle a season, and the estimate assumes the product would have moved by the same share.
    #[error(
        "the windows straddle a season: comparable products sold {}; the estimate assumes the product would have moved by the same share",
        season_words(*ratio)
    )]
    Season { ratio: f64 },
    /// The product's price also changed on these days inside the windows: the estimate mixes
    /// those changes with this one, and no verdict is given.
    #[error("its price also changed on {} inside the windows: the estimate mixes those changes with this one", dates(.0))]
    OwnOtherChanges(Vec<chrono::NaiveDate>),
    /// The product's competitors' prices, after over before (their mean ratio).
    #[error(
        "competitors' prices for it moved by {} between the windows: part of the effect may be theirs",
        format!("{:+.0}%", (*ratio - 1.0) * 100.0)
    )]
    CompetitorsMoved { ratio: f64 },
}

fn dates(days: &[chrono::NaiveDate]) -> String {
    days.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn season_words(ratio: f64) -> String {
    if ratio >= 1.0 {
        format!("{:.0}% more after the change than before", (ratio - 1.0) * 100.0)
    } else {
        format!("{:.0}% less after the change than before", (1.0 - ratio) * 100.0)
    }
}

/// Why a change's effect cannot be measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImpactError {
    #[error("the {window} days before and after {day} are not both inside the sales data ({first} to {last})")]
    OutsideData { day: chrono::NaiveDate, window: usize, first: chrono::NaiveDate, last: chrono::NaiveDate },
    #[error("no sales data")]
    NoSales,
    /// Every sale is dated on a month's first day: a window of days would hold one month's total
    /// or none.
    #[error("the sales are monthly totals (every sale on a month's first day): days before and after a change cannot be compared")]
    MonthlyTotals,
    #[error("no product of the same category kept its price through both windows and sold in them")]
    NoControls,
    #[error("the product sold nothing in the {window} days before the change: there is no level to compare with")]
    NoSalesBefore { window: usize },
    #[error(transparent)]
    Estimate(#[from] DidError),
}

/// Fewer controls than this and the result says the comparison is thin.
pub const FEW_CONTROLS: usize = 3;
/// The controls selling this much more (or as much less: ×1/1.3) after than before is a season.
pub const SEASON_RATIO: f64 = 1.3;
/// Competitors' prices moving this much (as a fraction) between the windows is worth saying.
pub const COMPETITOR_MOVE: f64 = 0.05;

/// The realised effect of `change` over `window_days` before and after it (days without a sale
/// are zero), against the products of its category whose own price did not change in either
/// window (`changes`: every change, sorted by product as [`price_changes`] gives them) and that
/// sold in them, scaled together to the product's level in the days before.
pub fn realised(data: &PricingData, change: &PriceChange, window_days: usize, changes: &[PriceChange]) -> Result<Realised, ImpactError> {
    realised_within(data, sales_span(data)?, change, window_days, changes)
}

/// The first and last day of daily sales in `data`: what every window must lie inside.
fn sales_span(data: &PricingData) -> Result<(i64, i64), ImpactError> {
    let (first, last) = (data.sales.iter().map(|s| s.day).min(), data.sales.iter().map(|s| s.day).max());
    let (Some(first), Some(last)) = (first, last) else { return Err(ImpactError::NoSales) };
    if super::elasticity::grain(data) == super::elasticity::Grain::Month {
        return Err(ImpactError::MonthlyTotals);
    }
    Ok((first, last))
}

/// [`realised`] with the sales' span read once for every change.
fn realised_within(
    data: &PricingData,
    (first, last): (i64, i64),
    change: &PriceChange,
    window_days: usize,
    changes: &[PriceChange],
) -> Result<Realised, ImpactError> {
    let w = window_days as i64;
    let (start, end) = (change.day - w, change.day + w - 1);
    if start < first || end > last {
        let date = super::customers::date_of_day;
        return Err(ImpactError::OutsideData { day: date(change.day), window: window_days, first: date(first), last: date(last) });
    }
    let category = &data.products[change.product as usize].category;
    let changes_of = |product: u32| super::pricing::rows_of(changes, product, |c| c.product);
    let touched = |product: u32| changes_of(product).iter().any(|c| c.day >= start && c.day <= end);
    let days = (end - start + 1) as usize;
    let daily = |product: u32, figure: &dyn Fn(&super::pricing::DailySales) -> f64| -> Vec<f64> {
        let mut series = vec![0.0; days];
        let sales = data.sales_of(product);
        for s in sales[sales.partition_point(|s| s.day < start)..].iter().take_while(|s| s.day <= end) {
            series[(s.day - start) as usize] += figure(s);
        }
        series
    };
    let before = |series: &[f64]| series[..window_days].iter().sum::<f64>();
    // Each figure's daily series: the product's, then its controls', all scaled by one factor
    // that brings the controls' mean in the days before to the product's level then. A shop sells
    // one of a product a day beside a hundred of another, and a season lifts both by a share, so
    // the comparison is of shares: the product's after against its before grown as its category
    // grew. One factor for all (the category's total growth), not one per control: a control that
    // sold two before and forty after would otherwise count its noise twentyfold.
    let (units_treated, revenue_treated) = (daily(change.product, &|s| s.units), daily(change.product, &|s| s.revenue));
    if before(&units_treated) <= 0.0 || before(&revenue_treated) <= 0.0 {
        return Err(ImpactError::NoSalesBefore { window: window_days });
    }
    // Comparable: same category, untouched in both windows, sold in them.
    let (mut units_controls, mut revenue_controls): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (Vec::new(), Vec::new());
    for p in 0..data.products.len() as u32 {
        if p == change.product || category.trim().is_empty() || data.products[p as usize].category != *category || touched(p) {
            continue;
        }
        let units = daily(p, &|s| s.units);
        if units.iter().any(|u| *u != 0.0) {
            units_controls.push(units);
            revenue_controls.push(daily(p, &|s| s.revenue));
        }
    }
    // The controls' own units before and after: their total for the scale, their growth for the
    // season.
    let category_before: f64 = units_controls.iter().map(|c| before(c)).sum();
    let category_after: f64 = units_controls.iter().flatten().sum::<f64>() - category_before;
    let revenue_before: f64 = revenue_controls.iter().map(|c| before(c)).sum();
    if units_controls.is_empty() || category_before <= 0.0 || revenue_before <= 0.0 {
        return Err(ImpactError::NoControls);
    }
    let n = units_controls.len() as f64;
    let scale = |series: &mut Vec<Vec<f64>>, by: f64| series.iter_mut().flatten().for_each(|v| *v *= by);
    scale(&mut units_controls, before(&units_treated) * n / category_before);
    scale(&mut revenue_controls, before(&revenue_treated) * n / revenue_before);
    let units = difference_in_differences(&units_treated, &units_controls, window_days)?;
    let revenue = difference_in_differences(&revenue_treated, &revenue_controls, window_days)?;
    // Profit at the product's cost: its revenue less its units at cost, and the controls' scaled
    // revenue less their scaled units at that same cost (what the product would have made).
    let profit = match data.products[change.product as usize].cost {
        Some(cost) => {
            let profit = |units: &[f64], revenue: &[f64]| units.iter().zip(revenue).map(|(u, r)| r - u * cost).collect::<Vec<f64>>();
            let others: Vec<Vec<f64>> = units_controls.iter().zip(&revenue_controls).map(|(u, r)| profit(u, r)).collect();
            Some(difference_in_differences(&profit(&units_treated, &revenue_treated), &others, window_days)?)
        }
        None => None,
    };
    let control_units: Vec<f64> =
        (0..days).map(|d| units_controls.iter().map(|c| c[d]).sum::<f64>() / units_controls.len() as f64).collect();
    let mut warnings = Vec::new();
    if units_controls.len() < FEW_CONTROLS {
        warnings.push(ImpactWarning::FewControls(units_controls.len()));
    }
    // The product's own other price changes inside the windows mix into this one.
    let others: Vec<chrono::NaiveDate> = changes_of(change.product)
        .iter()
        .filter(|c| c.day != change.day && c.day >= start && c.day <= end)
        .map(|c| super::customers::date_of_day(c.day))
        .collect();
    if !others.is_empty() {
        warnings.push(ImpactWarning::OwnOtherChanges(others));
    }
    // Parallel trends: before the change, the product and its scaled controls should have moved
    // alike. The first half of the window before against its second half, as a placebo change.
    let half = window_days / 2;
    if half >= 2 {
        let others: Vec<Vec<f64>> = units_controls.iter().map(|c| c[..window_days].to_vec()).collect();
        if let Ok(placebo) = difference_in_differences(&units_treated[..window_days], &others, half) {
            let p_two_sided = 2.0 * placebo.p_positive.min(1.0 - placebo.p_positive);
            if p_two_sided < 0.05 {
                warnings.push(ImpactWarning::PreTrend { units: placebo.effect });
            }
        }
    }
    // A season: the controls together sold much more or less after than before (their own
    // units: a small control's noise, scaled up, is no season).
    let ratio = category_after / category_before;
    if !(1.0 / SEASON_RATIO..=SEASON_RATIO).contains(&ratio) {
        warnings.push(ImpactWarning::Season { ratio });
    }
    if let Some(ratio) = competitor_move(data, change.product, start, change.day, end) {
        if (ratio - 1.0).abs() >= COMPETITOR_MOVE {
            warnings.push(ImpactWarning::CompetitorsMoved { ratio });
        }
    }
    Ok(Realised {
        change: *change,
        controls: units_controls.len(),
        units,
        revenue,
        profit,
        warnings,
        product_units: units_treated,
        control_units,
    })
}

/// The product's competitors' prices in the window after (`change` to `end`) over the window
/// before (`start` to the day before `change`): each competitor's mean price after over its mean
/// before, averaged over the competitors seen in both. `None` when none was.
fn competitor_move(data: &PricingData, product: u32, start: i64, change: i64, end: i64) -> Option<f64> {
    let ratios: Vec<f64> = data
        .observations_of(product)
        .chunk_by(|a, b| a.competitor == b.competitor)
        .filter_map(|seen| {
            let mean = |from: i64, to: i64| {
                let prices: Vec<f64> = seen.iter().filter(|o| (from..=to).contains(&o.time.div_euclid(DAY))).map(|o| o.price).collect();
                (!prices.is_empty()).then(|| prices.iter().sum::<f64>() / prices.len() as f64)
            };
            Some(mean(change, end)? / mean(start, change - 1)?)
        })
        .collect();
    (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64)
}

/// Whether a change paid: by profit where the product's cost is known, else by revenue,
/// P(effect > 0) of at least 0.975 is "paid", at most 0.025 "cost", anything between "unclear".
/// That is the 95% interval shown lying above or below zero, so a verdict never contradicts its
/// interval. When the design itself is in doubt (the product and its controls already moved
/// apart before, or its own other price changes fall inside the windows) it is "unclear" too:
/// the warning says why.
pub fn verdict(realised: &Realised) -> &'static str {
    let in_doubt = |w: &ImpactWarning| matches!(w, ImpactWarning::PreTrend { .. } | ImpactWarning::OwnOtherChanges(_));
    if realised.warnings.iter().any(in_doubt) {
        return "unclear";
    }
    let p = realised.profit.as_ref().unwrap_or(&realised.revenue).p_positive;
    if p >= 0.975 {
        "paid"
    } else if p <= 0.025 {
        "cost"
    } else {
        "unclear"
    }
}

/// What a decision expected the new price to change a day (the recommendation's central
/// figures, recorded with the decision).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predicted {
    pub units: f64,
    pub revenue: f64,
    pub profit: f64,
}

impl Predicted {
    pub fn central(expected: &super::recommend::ExpectedChange) -> Self {
        Self { units: expected.units.1, revenue: expected.revenue.1, profit: expected.profit.1 }
    }
}

/// A price decided in shoplens, as this module reads the decision log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecidedChange {
    pub product: u32,
    /// The day it took effect (days since 1970-01-01).
    pub day: i64,
    pub new_price: f64,
    pub predicted: Option<Predicted>,
}

/// One change of our price and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub change: PriceChange,
    /// The days before and after it that were compared.
    pub window_days: usize,
    /// The decision behind it, when it was taken in shoplens.
    pub decided: Option<DecidedChange>,
    pub outcome: Result<Realised, ImpactError>,
}

impl Assessment {
    /// Whether the prediction fell inside the realised units' 95% interval (`None`: nothing to
    /// compare).
    pub fn prediction_inside(&self) -> Option<bool> {
        let (predicted, realised) = (self.decided?.predicted?, self.outcome.as_ref().ok()?);
        Some((realised.units.interval.0..=realised.units.interval.1).contains(&predicted.units))
    }
}

/// Every change of our price in `data`, newest first, each measured over `window_days` and
/// matched with the decision that made it (`decided`: the log, newest first; a decision matches
/// the change of its product, day and price). An imported history may hold thousands of
/// changes: `ctx` can stop it between two.
pub fn assess(data: &PricingData, window_days: usize, decided: &[DecidedChange], ctx: &JobContext) -> Result<Vec<Assessment>, Cancelled> {
    let changes = price_changes(data);
    let span = sales_span(data);
    let mut out = Vec::with_capacity(changes.len());
    for change in &changes {
        ctx.check()?;
        out.push(Assessment {
            change: *change,
            window_days,
            decided: decided
                .iter()
                .find(|d| d.product == change.product && d.day == change.day && (d.new_price - change.new_price).abs() < 1e-9)
                .copied(),
            outcome: span.clone().and_then(|span| realised_within(data, span, change, window_days, &changes)),
        });
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.change.day));
    Ok(out)
}

/// The changes the Decisions tab and its slide list: those decided in shoplens when there are
/// any, unless `every` change is asked for; else every change.
pub fn listed(assessments: &[Assessment], every: bool) -> Vec<&Assessment> {
    let decided: Vec<&Assessment> = assessments.iter().filter(|a| a.decided.is_some()).collect();
    if every || decided.is_empty() {
        assessments.iter().collect()
    } else {
        decided
    }
}

/// A sum of effects with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Total {
    pub effect: f64,
    pub interval: (f64, f64),
    /// How many effects were added.
    pub count: usize,
}

/// All measured changes together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Portfolio {
    pub changes: usize,
    pub measured: usize,
    pub units: Total,
    pub revenue: Total,
    /// Over the measured changes whose profit could be measured.
    pub profit: Total,
    /// Measured changes with a recorded prediction, and how many of those predictions fell
    /// inside the realised units' interval.
    pub predictions: usize,
    pub predictions_inside: usize,
}

/// The sum of the measured effects a day, with an interval that takes them as independent (the
/// square root of the summed variances, normal quantile). Changes at the same time in one
/// category share controls, whose noise then enters both: the true interval is wider.
pub fn portfolio<'a>(assessments: impl IntoIterator<Item = &'a Assessment>) -> Portfolio {
    let assessments: Vec<&Assessment> = assessments.into_iter().collect();
    let measured: Vec<&Realised> = assessments.iter().filter_map(|a| a.outcome.as_ref().ok()).collect();
    let total = |estimates: Vec<&DidEstimate>| {
        let effect: f64 = estimates.iter().map(|e| e.effect).sum();
        let spread = 1.959_963_984_540_054 * estimates.iter().map(|e| e.standard_error.powi(2)).sum::<f64>().sqrt();
        Total { effect, interval: (effect - spread, effect + spread), count: estimates.len() }
    };
    let compared: Vec<bool> = assessments.iter().filter_map(|a| a.prediction_inside()).collect();
    Portfolio {
        changes: assessments.len(),
        measured: measured.len(),
        units: total(measured.iter().map(|r| &r.units).collect()),
        revenue: total(measured.iter().map(|r| &r.revenue).collect()),
        profit: total(measured.iter().filter_map(|r| r.profit.as_ref()).collect()),
        predictions: compared.len(),
        predictions_inside: compared.iter().filter(|inside| **inside).count(),
    }
}

impl Portfolio {
    /// The portfolio in plain sentences (CLI, panel and report), money by `money`.
    pub fn sentences(&self, window_days: usize, money: impl Fn(f64) -> String) -> Vec<String> {
        let mut out = vec![format!(
            "{} of {} price changes could be measured ({window_days} days before and after each, against untouched products of the same category).",
            self.measured, self.changes
        )];
        if self.measured == 0 {
            return out;
        }
        let signed = |v: f64| crate::text::signed(v, &money);
        let units = |v: f64| crate::text::signed(v, |v| crate::text::number(v, 1));
        out.push(format!(
            "Together they changed units by {} a day (95% interval {} to {}) and revenue by {} a day ({} to {}).",
            units(self.units.effect),
            units(self.units.interval.0),
            units(self.units.interval.1),
            signed(self.revenue.effect),
            signed(self.revenue.interval.0),
            signed(self.revenue.interval.1),
        ));
        if self.profit.count > 0 {
            out.push(format!(
                "Profit: {} a day ({} to {}), over the {} changes whose products have a cost.",
                signed(self.profit.effect),
                signed(self.profit.interval.0),
                signed(self.profit.interval.1),
                self.profit.count
            ));
        }
        out.push(match self.predictions {
            0 => "No measured change was decided in shoplens with a prediction to compare.".to_string(),
            n => format!("{} of {n} predictions fell inside the realised interval of units a day.", self.predictions_inside),
        });
        out
    }
}

/// One row per price change, as `shoplens pricing impact` writes it: `product_id, decided_at,
/// old_price, new_price, window_days, controls, predicted_units_per_day,
/// realised_units_per_day, ci_low, ci_high, p_positive, predicted_profit_per_day,
/// realised_profit_per_day, verdict, warnings` (the interval and P(effect > 0) are the units'),
/// then what the verdict is read from: `profit_ci_low, profit_ci_high, realised_revenue_per_day,
/// revenue_ci_low, revenue_ci_high`.
/// A change whose effect cannot be measured says why in `warnings`, with `verdict` "not
/// measured"; the predicted columns are empty for a change not decided in shoplens (an imported
/// price history) or decided without a prediction.
pub fn impact_table<'a>(data: &PricingData, assessments: impl IntoIterator<Item = &'a Assessment>) -> super::Table {
    let header = [
        "product_id",
        "decided_at",
        "old_price",
        "new_price",
        "window_days",
        "controls",
        "predicted_units_per_day",
        "realised_units_per_day",
        "ci_low",
        "ci_high",
        "p_positive",
        "predicted_profit_per_day",
        "realised_profit_per_day",
        "verdict",
        "warnings",
        "profit_ci_low",
        "profit_ci_high",
        "realised_revenue_per_day",
        "revenue_ci_low",
        "revenue_ci_high",
    ]
    .map(String::from)
    .to_vec();
    let plain = |v: f64| format!("{}", (v * 1e4).round() / 1e4);
    let rows = assessments
        .into_iter()
        .map(|a| {
            let change = &a.change;
            let id = data.products[change.product as usize].id.clone();
            let date = super::customers::date_of_day(change.day).to_string();
            let mut row = vec![id, date, plain(change.old_price), plain(change.new_price), a.window_days.to_string()];
            let predicted = a.decided.and_then(|d| d.predicted);
            let predicted_units = predicted.map(|p| plain(p.units)).unwrap_or_default();
            let predicted_profit = predicted.map(|p| plain(p.profit)).unwrap_or_default();
            match &a.outcome {
                Ok(r) => row.extend([
                    r.controls.to_string(),
                    predicted_units,
                    plain(r.units.effect),
                    plain(r.units.interval.0),
                    plain(r.units.interval.1),
                    plain(r.units.p_positive),
                    predicted_profit,
                    r.profit.map(|p| plain(p.effect)).unwrap_or_default(),
                    verdict(r).to_string(),
                    r.warnings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                    r.profit.map(|p| plain(p.interval.0)).unwrap_or_default(),
                    r.profit.map(|p| plain(p.interval.1)).unwrap_or_default(),
                    plain(r.revenue.effect),
                    plain(r.revenue.interval.0),
                    plain(r.revenue.interval.1),
                ]),
                Err(why) => row.extend([
                    String::new(),
                    predicted_units,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    predicted_profit,
                    String::new(),
                    "not measured".to_string(),
                    why.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]),
            }
            row
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: the product sells 10 then 6 a day, the controls 5 then 4 and 7 then 6:
    /// (6 − 10) − (5 − 6) = −3, whatever the noise-free spread.
    #[test]
    fn the_effect_is_the_products_change_minus_the_controls() {
        let treated = [10.0, 10.0, 10.0, 6.0, 6.0, 6.0];
        let controls = vec![vec![5.0, 5.0, 5.0, 4.0, 4.0, 4.0], vec![7.0, 7.0, 7.0, 6.0, 6.0, 6.0]];
        assert!(matches!(difference_in_differences(&treated, &controls, 3), Err(DidError::NoVariation)));
        // With a wobble the estimate is still the difference of the window means.
        let treated = [10.0, 11.0, 9.0, 6.0, 7.0, 5.0];
        let estimate = difference_in_differences(&treated, &controls, 3).unwrap();
        assert!((estimate.effect - (-3.0)).abs() < 1e-12, "{estimate:?}");
        assert_eq!(estimate.degrees_of_freedom, (3 * 6 - 3 - 6) as f64);
    }

    /// Monthly totals (the Kaggle price-optimisation layout, read as order lines) are refused:
    /// a 28-day window would hold one month's total or none.
    #[test]
    fn monthly_totals_are_not_measured_in_days() {
        use crate::analytics::pricing::{CatalogueProduct, PricingDataBuilder};
        let mut builder = PricingDataBuilder::default();
        for id in ["A", "B"] {
            builder.product(CatalogueProduct { category: "c".into(), ..CatalogueProduct::unnamed(id) });
        }
        let month = |m: u32| chrono::NaiveDate::from_ymd_opt(2017, m, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        builder.our_price("A", month(1), 10.0);
        builder.our_price("A", month(4), 12.0);
        for m in 1..=8 {
            builder.sale("A", month(m), 30.0, if m < 4 { 10.0 } else { 12.0 });
            builder.sale("B", month(m), 20.0, 5.0);
        }
        let data = builder.finish();
        let changes = price_changes(&data);
        assert_eq!(realised(&data, &changes[0], 28, &changes), Err(ImpactError::MonthlyTotals));
    }

    #[test]
    fn no_controls_or_days_say_so() {
        assert_eq!(difference_in_differences(&[1.0; 6], &[], 3), Err(DidError::NoControls));
        assert_eq!(difference_in_differences(&[1.0; 3], &[vec![1.0; 3]], 1), Err(DidError::TooFewDays { before: 1, after: 2 }));
        assert_eq!(difference_in_differences(&[1.0; 6], &[vec![1.0; 5]], 3), Err(DidError::Unbalanced { treated: 6, control: 5 }));
    }
}
