//! Customer lifetime value: BG/NBD for how many purchases a customer will make, Gamma-Gamma for
//! how much each is worth, both fitted by maximum likelihood.
//!
//! Definitions (as in Fader & Hardie's papers and the `lifetimes` library):
//! - purchases on the same day are one transaction; x = transaction days after the first one
//!   ("repeat purchases"); t_x = time from the first to the last transaction day; T = time from
//!   the first transaction day to the end of observation (the last purchase day in the data, or
//!   the holdout split). All in one [`TimeUnit`], shown everywhere.
//! - m = mean value of the repeat transactions (the first purchase is excluded, as it is often
//!   unlike later ones).
//! - CLV over a horizon of H units with a discount rate d per unit =
//!   Σ_{i=1..H} (E[Y(i)] − E[Y(i−1)]) · E[M] / (1+d)^i.

pub mod bgnbd;
pub mod gamma_gamma;
pub mod optimise;

use chrono::NaiveDate;

use self::bgnbd::{BgNbd, BgNbdData};
use self::gamma_gamma::{GammaGamma, GammaGammaData};
use self::optimise::FitOutcome;
use super::customers::{date_of_day, day_number, day_start, LineView, SECONDS_PER_DAY};
use super::order_frame::OrderFrame;
use super::Filters;
use crate::jobs::JobContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TimeUnit {
    Day,
    Week,
    Month,
}

impl TimeUnit {
    pub const ALL: [TimeUnit; 3] = [TimeUnit::Day, TimeUnit::Week, TimeUnit::Month];

    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            // The mean Gregorian month.
            TimeUnit::Month => 365.2425 / 12.0,
        }
    }

    /// Plural name for labels ("weeks").
    pub fn plural(self) -> &'static str {
        match self {
            TimeUnit::Day => "days",
            TimeUnit::Week => "weeks",
            TimeUnit::Month => "months",
        }
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().trim_end_matches('s') {
            "day" => Ok(TimeUnit::Day),
            "week" => Ok(TimeUnit::Week),
            "month" => Ok(TimeUnit::Month),
            _ => Err(format!("unknown period '{s}': use day, week or month")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClvSettings {
    pub unit: TimeUnit,
    /// Horizon for expected purchases and CLV, in `unit`s.
    pub horizon: u32,
    /// Discount rate per `unit`.
    pub discount_rate: f64,
    /// L2 penalty on the parameters (0 = plain maximum likelihood).
    pub penalty: f64,
    /// Split for the calibration/holdout check; default: two thirds into the data.
    pub holdout_split: Option<NaiveDate>,
}

impl Default for ClvSettings {
    fn default() -> Self {
        Self { unit: TimeUnit::Month, horizon: 12, discount_rate: 0.01, penalty: 0.0, holdout_split: None }
    }
}

impl Eq for ClvSettings {}

impl std::hash::Hash for ClvSettings {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.unit, self.horizon, self.discount_rate.to_bits(), self.penalty.to_bits(), self.holdout_split).hash(state);
    }
}

/// One customer's purchase history in model terms.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    /// Code into `OrderFrame::customers`.
    pub customer: u32,
    pub x: f64,
    pub t_x: f64,
    pub big_t: f64,
    /// Mean value of the repeat transactions (0 when x = 0).
    pub m: f64,
    /// Transaction days after `end` (for the holdout check).
    pub later: u32,
}

/// Summaries of every customer whose first purchase is on or before `end` (a day number).
/// Purchases after `end` only count in `later`.
pub fn summarise(view: &LineView<'_>, end: i64, unit: TimeUnit) -> Vec<CustomerSummary> {
    let mut days: Vec<(u32, i64, f64)> = Vec::with_capacity(view.len() / 4);
    for i in 0..view.len() {
        if let Some(c) = view.purchase(i) {
            days.push((c, day_number(view.time[i]), view.value[i]));
        }
    }
    days.sort_unstable_by_key(|&(c, d, _)| (c, d));
    let per_unit = unit.days();
    let mut out = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let c = days[i].0;
        let first = days[i].1;
        let (mut last, mut count, mut repeat_value, mut later, mut current) = (first, 0u32, 0.0, 0u32, i64::MIN);
        let mut day_value = 0.0;
        while i < days.len() && days[i].0 == c {
            let (_, day, value) = days[i];
            if day != current {
                if current != i64::MIN && current != first && current <= end {
                    repeat_value += day_value;
                }
                current = day;
                day_value = 0.0;
                if day <= end {
                    if day != first {
                        count += 1;
                    }
                    last = day;
                } else {
                    later += 1;
                }
            }
            day_value += value;
            i += 1;
        }
        if current != first && current <= end {
            repeat_value += day_value;
        }
        if first > end {
            continue;
        }
        out.push(CustomerSummary {
            customer: c,
            x: f64::from(count),
            t_x: (last - first) as f64 / per_unit,
            big_t: (end - first) as f64 / per_unit,
            m: if count > 0 { repeat_value / f64::from(count) } else { 0.0 },
            later,
        });
    }
    out
}

/// A fitted model with what the fit says about its own reliability.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFit<P> {
    pub model: P,
    pub log_likelihood: f64,
    pub customers: usize,
    pub iterations: u64,
    pub converged: bool,
    pub at_boundary: Vec<&'static str>,
}

impl<P> ModelFit<P> {
    pub fn reliable(&self) -> bool {
        self.converged && self.at_boundary.is_empty()
    }
}

fn model_fit<P>(outcome: FitOutcome, names: &[&'static str], customers: usize, make: fn(&[f64]) -> P) -> ModelFit<P> {
    ModelFit {
        model: make(&outcome.params),
        log_likelihood: outcome.log_likelihood,
        customers,
        iterations: outcome.iterations,
        converged: outcome.converged,
        at_boundary: outcome.at_boundary.iter().map(|&i| names[i]).collect(),
    }
}

pub fn fit_bgnbd(summaries: &[CustomerSummary], penalty: f64) -> Result<ModelFit<BgNbd>, String> {
    if !summaries.iter().any(|s| s.x > 0.0) {
        return Err("no customer made a repeat purchase: BG/NBD cannot be fitted".into());
    }
    let data = BgNbdData::new(summaries.iter().map(|s| (s.x, s.t_x, s.big_t)));
    let outcome = optimise::fit(&data, &data.start(), penalty)?;
    Ok(model_fit(outcome, &BgNbd::NAMES, summaries.len(), BgNbd::from_slice))
}

pub fn fit_gamma_gamma(summaries: &[CustomerSummary], penalty: f64) -> Result<ModelFit<GammaGamma>, String> {
    let data = GammaGammaData::new(summaries.iter().map(|s| (s.x, s.m)));
    if data.len() < 3 {
        return Err("fewer than 3 repeat buyers with a positive spend: Gamma-Gamma cannot be fitted".into());
    }
    let outcome = optimise::fit(&data, &data.start(), penalty)?;
    Ok(model_fit(outcome, &GammaGamma::NAMES, data.len(), GammaGamma::from_slice))
}

/// Pearson correlation of frequency and mean spend among repeat buyers: Gamma-Gamma assumes
/// none.
pub fn spend_frequency_correlation(summaries: &[CustomerSummary]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = summaries.iter().filter(|s| s.x > 0.0 && s.m > 0.0).map(|s| (s.x, s.m)).collect();
    let n = pairs.len() as f64;
    if n < 3.0 {
        return None;
    }
    let (mx, mm) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, m) in pairs {
        sxy += (x - mx) * (m - mm);
        sxx += (x - mx).powi(2);
        syy += (m - mm).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Correlations at least this strong are reported as a violated assumption.
pub const CORRELATION_WARNING: f64 = 0.3;

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerValue {
    pub customer: u32,
    pub x: f64,
    pub t_x: f64,
    pub big_t: f64,
    pub m: f64,
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Expected mean transaction value (Gamma-Gamma), when that model is usable.
    pub expected_value: Option<f64>,
    pub clv: Option<f64>,
}

/// Discounted value of the purchases expected in each unit of the horizon.
pub fn clv(model: &BgNbd, s: &CustomerSummary, value: f64, horizon: u32, discount_rate: f64) -> f64 {
    let mut total = 0.0;
    let mut before = 0.0;
    for i in 1..=horizon {
        let upto = model.expected_purchases(f64::from(i), s.x, s.t_x, s.big_t);
        total += (upto - before) * value / (1.0 + discount_rate).powi(i as i32);
        before = upto;
    }
    total
}

/// Expected purchases and P(alive) for a customer with T = `big_t` over frequency × recency.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionGrid {
    pub big_t: f64,
    pub frequencies: Vec<f64>,
    pub recencies: Vec<f64>,
    /// `[frequency][recency]`
    pub expected: Vec<Vec<f64>>,
    pub p_alive: Vec<Vec<f64>>,
}

fn grid(model: &BgNbd, summaries: &[CustomerSummary], horizon: f64) -> PredictionGrid {
    let big_t = summaries.iter().map(|s| s.big_t).fold(0.0, f64::max);
    let mut xs: Vec<f64> = summaries.iter().map(|s| s.x).collect();
    xs.sort_by(f64::total_cmp);
    let p99 = xs.get(xs.len().saturating_sub(1) * 99 / 100).copied().unwrap_or(0.0);
    let max_x = p99.clamp(5.0, 40.0) as usize;
    let frequencies: Vec<f64> = (0..=max_x).map(|x| x as f64).collect();
    let steps = 24;
    let recencies: Vec<f64> = (0..=steps).map(|k| big_t * k as f64 / steps as f64).collect();
    let expected =
        frequencies.iter().map(|&x| recencies.iter().map(|&r| model.expected_purchases(horizon, x, r, big_t)).collect()).collect();
    let p_alive = frequencies.iter().map(|&x| recencies.iter().map(|&r| model.p_alive(x, r, big_t)).collect()).collect();
    PredictionGrid { big_t, frequencies, recencies, expected, p_alive }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutRow {
    /// Repeat purchases in the calibration period: "0" … "6", "7+".
    pub bucket: String,
    pub customers: u64,
    pub mean_actual: f64,
    pub mean_predicted: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutCheck {
    pub split: NaiveDate,
    pub end: NaiveDate,
    /// Holdout length in units.
    pub length: f64,
    pub fit: ModelFit<BgNbd>,
    pub rows: Vec<HoldoutRow>,
    pub total_actual: f64,
    pub total_predicted: f64,
}

/// Fits on purchases up to `split`, then compares each calibration frequency bucket's predicted
/// holdout purchases with the actual ones.
pub fn holdout_check(view: &LineView<'_>, split: i64, end: i64, unit: TimeUnit, penalty: f64) -> Result<HoldoutCheck, String> {
    if split >= end {
        return Err("the holdout split must be before the last purchase day".into());
    }
    let summaries = summarise(view, split, unit);
    let fit = fit_bgnbd(&summaries, penalty)?;
    let length = (end - split) as f64 / unit.days();
    let mut buckets = vec![(0u64, 0.0, 0.0); 8];
    for s in &summaries {
        let b = &mut buckets[(s.x as usize).min(7)];
        b.0 += 1;
        b.1 += f64::from(s.later);
        b.2 += fit.model.expected_purchases(length, s.x, s.t_x, s.big_t);
    }
    let (total_actual, total_predicted) = buckets.iter().fold((0.0, 0.0), |t, b| (t.0 + b.1, t.1 + b.2));
    let rows = buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| b.0 > 0)
        .map(|(k, (n, actual, predicted))| HoldoutRow {
            bucket: if k == 7 { "7+".into() } else { k.to_string() },
            customers: n,
            mean_actual: actual / n as f64,
            mean_predicted: predicted / n as f64,
        })
        .collect();
    Ok(HoldoutCheck { split: date_of_day(split), end: date_of_day(end), length, fit, rows, total_actual, total_predicted })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClvResult {
    pub settings: ClvSettings,
    pub observation_end: NaiveDate,
    pub bgnbd: ModelFit<BgNbd>,
    pub gamma_gamma: Result<ModelFit<GammaGamma>, String>,
    pub spend_frequency_correlation: Option<f64>,
    /// Plain-language problems with the fits or the data; shown above any number.
    pub warnings: Vec<String>,
    /// Highest CLV (or expected purchases) first; empty when BG/NBD is not reliable.
    pub customers: Vec<CustomerValue>,
    pub grid: Option<PredictionGrid>,
    pub holdout: Result<HoldoutCheck, String>,
}

impl ClvResult {
    /// Whether per-customer CLV can be shown.
    pub fn has_clv(&self) -> bool {
        self.customers.iter().any(|c| c.clv.is_some())
    }
}

/// Why no CLV result could be computed (a fit that runs but fails is a warning in the result).
#[derive(Debug, thiserror::Error)]
pub enum ClvError {
    #[error("no purchases with a customer id in the selected period")]
    NoPurchases,
    #[error("{0}")]
    Frame(#[from] polars::prelude::PolarsError),
    #[error("{0}")]
    Fit(String),
    #[error("cancelled")]
    Cancelled(#[from] crate::jobs::Cancelled),
}

/// Below this mean chance of dropping out after a purchase, churn is not identified.
const DROPOUT_NOT_IDENTIFIED: f64 = 0.01;

pub fn compute(frame: &OrderFrame, filters: &Filters, settings: &ClvSettings, ctx: &JobContext) -> Result<ClvResult, ClvError> {
    let view = LineView::new(frame, filters)?;
    let (first, end) = (0..view.len())
        .filter(|&i| view.purchase(i).is_some())
        .map(|i| day_number(view.time[i]))
        .fold((i64::MAX, i64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    if end == i64::MIN {
        return Err(ClvError::NoPurchases);
    }
    ctx.set_message("summarising purchase histories");
    let summaries = summarise(&view, end, settings.unit);
    ctx.check()?;
    ctx.set_message("fitting BG/NBD");
    let bgnbd = fit_bgnbd(&summaries, settings.penalty).map_err(ClvError::Fit)?;
    ctx.set_message("fitting Gamma-Gamma");
    let gamma_gamma = fit_gamma_gamma(&summaries, settings.penalty);
    let correlation = spend_frequency_correlation(&summaries);

    let mut warnings = Vec::new();
    if !bgnbd.converged {
        warnings.push(format!("BG/NBD did not converge in {} iterations: predictions are not shown.", bgnbd.iterations));
    }
    if !bgnbd.at_boundary.is_empty() {
        warnings.push(format!(
            "BG/NBD parameter(s) {} ran to the edge of the search space: the data cannot pin the model down (too few repeat buyers, or a period too short). Predictions are not shown; try a longer period or a penalty.",
            bgnbd.at_boundary.join(", ")
        ));
    }
    let spend_model = match &gamma_gamma {
        Ok(fit) if !fit.reliable() => {
            warnings.push("Gamma-Gamma did not converge or hit a boundary: expected spend and CLV are not shown.".into());
            None
        }
        Ok(fit) if fit.model.q <= 1.0 => {
            warnings.push(format!(
                "Gamma-Gamma gives q = {:.3} ≤ 1: the average spend has no finite mean under this fit, so expected spend and CLV are not shown.",
                fit.model.q
            ));
            None
        }
        Ok(fit) => Some(fit.model),
        Err(e) => {
            warnings.push(format!("Gamma-Gamma: {e}."));
            None
        }
    };
    if let Some(rho) = correlation.filter(|r| r.abs() >= CORRELATION_WARNING) {
        warnings.push(format!(
            "Spend and purchase frequency are correlated (r = {rho:.2}); Gamma-Gamma assumes they are not, so expected spend and CLV may be biased."
        ));
    }

    let horizon = f64::from(settings.horizon);
    let customers = if bgnbd.reliable() {
        ctx.set_message("predicting per customer");
        let mut rows: Vec<CustomerValue> = summaries
            .iter()
            .map(|s| {
                let expected_value = spend_model.and_then(|g| g.expected_average_value(s.x, s.m.max(0.0)));
                CustomerValue {
                    customer: s.customer,
                    x: s.x,
                    t_x: s.t_x,
                    big_t: s.big_t,
                    m: s.m,
                    p_alive: bgnbd.model.p_alive(s.x, s.t_x, s.big_t),
                    expected_purchases: bgnbd.model.expected_purchases(horizon, s.x, s.t_x, s.big_t),
                    expected_value,
                    clv: expected_value.map(|v| clv(&bgnbd.model, s, v, settings.horizon, settings.discount_rate)),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.clv.unwrap_or(0.0).total_cmp(&a.clv.unwrap_or(0.0)).then(b.expected_purchases.total_cmp(&a.expected_purchases))
        });
        rows
    } else {
        Vec::new()
    };
    let grid = bgnbd.reliable().then(|| grid(&bgnbd.model, &summaries, horizon));
    // A fit that puts almost no weight on dropping out (the mean chance of leaving after a
    // purchase, a / (a + b), under 1%) makes nearly everyone "alive": that is the window being
    // too short to see churn, not a finding (the UCI year gives b ≈ 190, as lifetimes does).
    let dropout = bgnbd.model.a / (bgnbd.model.a + bgnbd.model.b);
    if bgnbd.reliable() && dropout < DROPOUT_NOT_IDENTIFIED && !customers.is_empty() {
        let mean_alive = customers.iter().map(|c| c.p_alive).sum::<f64>() / customers.len() as f64;
        warnings.push(format!(
            "Churn is not identified from this window: the fit gives a {:.2}% chance of leaving after each purchase, so P(alive) averages {:.1}% — read that as \"no sign of leaving yet\", not as a finding. A longer history would show who stops buying.",
            dropout * 100.0,
            mean_alive * 100.0
        ));
    }

    ctx.set_message("calibration/holdout check");
    let split = settings.holdout_split.map(|d| day_start(d) / SECONDS_PER_DAY).unwrap_or(first + (end - first) * 2 / 3);
    let holdout = holdout_check(&view, split, end, settings.unit, settings.penalty);

    Ok(ClvResult {
        settings: settings.clone(),
        observation_end: date_of_day(end),
        bgnbd,
        gamma_gamma,
        spend_frequency_correlation: correlation,
        warnings,
        customers,
        grid,
        holdout,
    })
}

/// `shoplens clv`'s file: one row per customer, the `limit` highest CLV first.
pub fn customer_table(frame: &OrderFrame, result: &ClvResult, limit: usize) -> crate::analytics::Table {
    let unit = result.settings.unit.plural();
    let header = vec![
        "customer_id".to_string(),
        "frequency".to_string(),
        format!("recency_{unit}"),
        format!("T_{unit}"),
        "p_alive".to_string(),
        format!("expected_purchases_{}_{unit}", result.settings.horizon),
        "expected_average_order_value".to_string(),
        "clv".to_string(),
    ];
    let rows = result
        .customers
        .iter()
        .take(limit)
        .map(|c| {
            vec![
                frame.customers[c.customer as usize].clone(),
                format!("{}", c.x),
                format!("{:.4}", c.t_x),
                format!("{:.4}", c.big_t),
                format!("{:.6}", c.p_alive),
                format!("{:.6}", c.expected_purchases),
                c.expected_value.map(|v| format!("{v:.4}")).unwrap_or_default(),
                c.clv.map(|v| format!("{v:.4}")).unwrap_or_default(),
            ]
        })
        .collect();
    (header, rows)
}

/// The fitted parameters as text lines (for the CLI and the panel's copy button).
pub fn describe_fits(result: &ClvResult) -> Vec<String> {
    let b = &result.bgnbd;
    let mut lines = vec![format!(
        "BG/NBD ({} customers, time unit: {}): r = {:.4}, alpha = {:.4}, a = {:.4}, b = {:.4}; log-likelihood = {:.3}",
        b.customers,
        result.settings.unit.plural(),
        b.model.r,
        b.model.alpha,
        b.model.a,
        b.model.b,
        b.log_likelihood
    )];
    match &result.gamma_gamma {
        Ok(g) => lines.push(format!(
            "Gamma-Gamma ({} repeat buyers): p = {:.4}, q = {:.4}, v = {:.4}; log-likelihood = {:.3}",
            g.customers, g.model.p, g.model.q, g.model.v, g.log_likelihood
        )),
        Err(e) => lines.push(format!("Gamma-Gamma: {e}")),
    }
    if let Some(rho) = result.spend_frequency_correlation {
        lines.push(format!("Correlation of spend and frequency among repeat buyers: {rho:.3}"));
    }
    lines
}
