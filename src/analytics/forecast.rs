//! Product demand: units sold per product next week (a purchase event is one unit where the
//! events have no quantity column), from last weeks' views, carts, purchases, price and their
//! trends.
//!
//! Model: a Poisson regression (log link), fitted by maximum likelihood (`analytics::glm`, shared with the price elasticity), on
//! `ln(1 + x)` of each product's views, carts and purchases in the week before the target week
//! and the week before that, plus the log mean price. One row per product and week; weeks are
//! counted back from the last day in the data (week 0 = the last 7 days).
//!
//! Backtest: fit on the targets older than the test week, forecast the test week from the two
//! weeks before it, and compare the mean absolute error with the naive forecast "same as the
//! week before". The test week is the newest week that has events and two weeks with events
//! before it (week 0, unless the history has gaps). The panel says plainly when the model does
//! not beat the naive one. The forecast for next week refits on every usable week.
//!
//! Gaps: a week without a single event (of any product, in the filters) inside the data's span
//! is missing data, not a week of zero sales (exports sampled by days, like REES46's cosmetics
//! files, have them). Such weeks are named in the result and no row that reads one is used to
//! learn, test or forecast; the naive forecast is then compared only where the week before it
//! has events.

use std::collections::HashMap;

use super::event_frame::{EventFrame, EventKind};
use super::sum::Sum;
use super::Filters;

/// Weeks of history used (features reach two weeks back from the oldest target).
pub const WEEKS: usize = 8;
/// Features per row: ln(1 + purchases, views, carts) of the week before the target and of the
/// week before that, and ln(1 + mean price).
pub const FEATURES: usize = 7;
/// Products with fewer events than this in the whole window are left out of the fit.
const MIN_EVENTS: u32 = 3;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WeekCounts {
    pub views: u32,
    pub carts: u32,
    pub purchases: u32,
    pub price_sum: f64,
    pub price_n: u32,
}

/// Product names by events' product id, from the workspace's product table (empty when it has
/// none): shown wherever a product id would be.
pub type ProductNames = HashMap<i64, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct ProductForecast {
    /// Code into `EventFrame::products`.
    pub product: u32,
    /// The product's name, when the product table gives one.
    pub name: Option<String>,
    pub last_week: u32,
    pub forecast: f64,
    pub views_last_week: u32,
    pub carts_last_week: u32,
}

impl ProductForecast {
    /// Forecast relative to last week's purchases (+1 smoothing, so new sellers rank sensibly).
    pub fn growth(&self) -> f64 {
        (self.forecast + 1.0) / (f64::from(self.last_week) + 1.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// The week tested (0 = the last 7 days of data).
    pub week: usize,
    pub products: usize,
    pub model_mae: f64,
    pub naive_mae: f64,
    pub actual_total: u64,
    pub model_total: f64,
}

impl Backtest {
    /// Relative error reduction against the naive forecast (positive = the model is better).
    pub fn lift(&self) -> f64 {
        if self.naive_mae > 0.0 {
            1.0 - self.model_mae / self.naive_mae
        } else {
            0.0
        }
    }

    pub fn model_wins(&self) -> bool {
        self.model_mae < self.naive_mae
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForecastResult {
    /// Last day in the data (days since 1970-01-01); week 0 ends on it.
    pub last_day: i64,
    /// `None` when there are too few weeks or products to test.
    pub backtest: Option<Backtest>,
    /// Every modelled product, highest forecast first.
    pub products: Vec<ProductForecast>,
    /// Weeks (0 = the last 7 days) inside the data's span without a single event.
    pub gaps: Vec<usize>,
    pub note: Option<String>,
}

impl ForecastResult {
    /// Products whose forecast most exceeds last week's sales.
    pub fn rising(&self, n: usize) -> Vec<&ProductForecast> {
        let mut rows: Vec<&ProductForecast> = self.products.iter().filter(|p| p.forecast >= 1.0).collect();
        rows.sort_by(|a, b| b.growth().total_cmp(&a.growth()));
        rows.truncate(n);
        rows
    }
}

/// Weekly counts per product for the last [`WEEKS`] weeks: `weeks[product][w]`, w = 0 newest.
fn weekly(frame: &EventFrame, filters: &Filters, last_day: i64) -> HashMap<u32, [WeekCounts; WEEKS]> {
    let (from, to) = super::customers::time_bounds(filters);
    let mut weeks: HashMap<u32, [WeekCounts; WEEKS]> = HashMap::new();
    for row in 0..frame.len() {
        let t = frame.time[row];
        if !(from..to).contains(&t) {
            continue;
        }
        let age = last_day - t.div_euclid(86_400);
        if !(0..(WEEKS as i64) * 7).contains(&age) {
            continue;
        }
        let w = &mut weeks.entry(frame.product[row]).or_insert([WeekCounts::default(); WEEKS])[(age / 7) as usize];
        // Demand is in units: a purchase event of 12 is 12 sold (one where the export has no quantity).
        match frame.kind(row) {
            EventKind::View => w.views += 1,
            EventKind::Cart => w.carts = w.carts.saturating_add(frame.quantity.get(row)),
            EventKind::Purchase => w.purchases = w.purchases.saturating_add(frame.quantity.get(row)),
            _ => {}
        }
        if frame.price[row] > 0.0 {
            w.price_sum += f64::from(frame.price[row]);
            w.price_n += 1;
        }
    }
    weeks
}

/// Features for predicting week `target` from weeks `target + 1` and `target + 2`.
fn features(w: &[WeekCounts; WEEKS], target: usize) -> [f64; FEATURES] {
    let (a, b) = (&w[target + 1], &w[target + 2]);
    let l = |x: u32| f64::from(x).ln_1p();
    let (sum, n) = w[target + 1..].iter().fold((0.0, 0), |(s, n), c| (s + c.price_sum, n + c.price_n));
    let price = if n > 0 { (sum / f64::from(n)).ln_1p() } else { 0.0 };
    [l(a.purchases), l(a.views), l(a.carts), l(b.purchases), l(b.views), l(b.carts), price]
}

/// Coefficients: intercept, then one per feature.
type Model = Vec<f64>;

/// The forecast's ridge penalty (× Σβ² on the mean log-likelihood): it keeps a coefficient
/// finite when its feature never varies (no carts at all in a shop's export). Small enough to
/// move a fit by far less than its standard errors (`tests/events.rs` checks).
pub const RIDGE: f64 = 1e-6;

/// Fits the Poisson regression of `targets` on `rows` ([`super::glm`], the routine the price
/// elasticity uses): maximum likelihood, minus `penalty` × n × Σβ² (0 for the plain MLE,
/// [`RIDGE`] in the forecast).
pub fn fit_poisson(rows: &[[f64; FEATURES]], targets: &[f64], penalty: f64) -> Result<Model, String> {
    let x = ndarray::Array2::from_shape_fn((rows.len(), FEATURES + 1), |(i, j)| if j == 0 { 1.0 } else { rows[i][j - 1] });
    let y = ndarray::Array1::from(targets.to_vec());
    let fit = super::glm::fit_poisson(x.view(), y.view(), penalty).map_err(|e| format!("the Poisson model could not be fitted: {e}"))?;
    Ok(fit.coefficients.to_vec())
}

fn predict(model: &Model, rows: &[[f64; FEATURES]]) -> Result<Vec<f64>, String> {
    Ok(rows.iter().map(|x| (model[0] + x.iter().zip(&model[1..]).map(|(a, b)| a * b).sum::<f64>()).min(50.0).exp()).collect())
}

/// The last day (days since 1970) of the 7-day week `week` counted back from `last_day`.
pub fn week_end(last_day: i64, week: usize) -> i64 {
    last_day - 7 * week as i64
}

pub fn compute(frame: &EventFrame, filters: &Filters, names: &ProductNames) -> Result<ForecastResult, String> {
    let (_, to) = super::customers::time_bounds(filters);
    let last_time = (0..frame.len()).map(|r| frame.time[r]).filter(|&t| t < to).max().ok_or("no events in the selected period")?;
    let last_day = last_time.div_euclid(86_400);
    let first_day = frame.time_span().map_or(last_day, |s| s.0.div_euclid(86_400));
    let weeks_of_data = ((last_day - first_day + 1) / 7) as usize;
    let weeks = weekly(frame, filters, last_day);
    let usable = weeks_of_data.min(WEEKS);
    // A week of the span without any event at all is missing, not a week without sales.
    let gaps: Vec<usize> =
        (0..usable).filter(|&w| weeks.values().all(|counts| counts[w].views + counts[w].carts + counts[w].purchases == 0)).collect();
    let mut products: Vec<(u32, [WeekCounts; WEEKS])> =
        weeks.into_iter().filter(|(_, w)| w.iter().map(|c| c.views + c.carts + c.purchases).sum::<u32>() >= MIN_EVENTS).collect();
    products.sort_by_key(|p| p.0);
    let gap_note = (!gaps.is_empty()).then(|| {
        let ends: Vec<String> = gaps
            .iter()
            .map(|&w| super::customers::date_of_day(week_end(last_day, w)).format("%Y-%m-%d").to_string())
            .collect();
        format!(
            "The history has gaps: no events at all in the week(s) ending {} (the export may hold only some days). Those weeks are left out of learning and testing, not counted as weeks without sales.",
            ends.join(", ")
        )
    });
    let with_notes = |result: ForecastResult, note: Option<String>| {
        let note = [gap_note.clone(), note].into_iter().flatten().collect::<Vec<_>>().join(" ");
        ForecastResult { note: (!note.is_empty()).then_some(note), ..result }
    };
    if weeks_of_data < 3 || products.is_empty() {
        let note = format!(
            "The data covers {} day(s); forecasting needs at least 3 full weeks of events (two to learn from, one to test).",
            last_day - first_day + 1
        );
        return Ok(with_notes(ForecastResult { last_day, backtest: None, products: Vec::new(), gaps, note: None }, Some(note)));
    }
    // A row predicts week `target` from the two weeks before it: all three must have events.
    let complete = |target: usize| target + 2 < usable && ![target, target + 1, target + 2].iter().any(|w| gaps.contains(w));
    let rows_for = |targets: &mut dyn Iterator<Item = usize>| {
        let targets: Vec<usize> = targets.collect();
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (_, w) in &products {
            for &target in &targets {
                x.push(features(w, target));
                y.push(f64::from(w[target].purchases));
            }
        }
        (x, y)
    };

    // The test week: the newest week a complete row can predict, learning from older rows.
    let test_week = (0..usable).find(|&t| complete(t));
    let backtest = match test_week {
        Some(test) => {
            let (train_x, train_y) = rows_for(&mut (test + 1..usable).filter(|&t| complete(t)));
            if train_x.is_empty() {
                None
            } else {
                let model = fit_poisson(&train_x, &train_y, RIDGE)?;
                let test_x: Vec<[f64; FEATURES]> = products.iter().map(|(_, w)| features(w, test)).collect();
                let predicted = predict(&model, &test_x)?;
                let n = products.len() as f64;
                let (mut model_err, mut naive_err, mut actual_total, mut model_total) = (0.0, 0.0, 0u64, 0.0);
                for ((_, w), p) in products.iter().zip(&predicted) {
                    let actual = f64::from(w[test].purchases);
                    model_err += (p - actual).abs();
                    // "Same as the week before": the week before has events (a complete row).
                    naive_err += (f64::from(w[test + 1].purchases) - actual).abs();
                    actual_total += u64::from(w[test].purchases);
                    model_total += p;
                }
                Some(Backtest {
                    week: test,
                    products: products.len(),
                    model_mae: model_err / n,
                    naive_mae: naive_err / n,
                    actual_total,
                    model_total,
                })
            }
        }
        None => None,
    };

    // Final model: every complete row, then next week from weeks 0–1 (both must have events).
    let (all_x, all_y) = rows_for(&mut (0..usable).filter(|&t| complete(t)));
    if all_x.is_empty() || gaps.contains(&0) || gaps.contains(&1) {
        let note = "No forecast: it needs the last two weeks and three weeks in a row with events to learn from.".to_string();
        return Ok(with_notes(ForecastResult { last_day, backtest, products: Vec::new(), gaps, note: None }, Some(note)));
    }
    let model = fit_poisson(&all_x, &all_y, RIDGE)?;
    let next_x: Vec<[f64; FEATURES]> = products
        .iter()
        .map(|(_, w)| {
            // Shift by one week: next week's "week before" is week 0.
            let mut shifted = [WeekCounts::default(); WEEKS];
            shifted[1..].copy_from_slice(&w[..WEEKS - 1]);
            features(&shifted, 0)
        })
        .collect();
    let forecasts = predict(&model, &next_x)?;
    let mut out: Vec<ProductForecast> = products
        .iter()
        .zip(forecasts)
        .map(|((p, w), f)| ProductForecast {
            product: *p,
            name: names.get(&frame.products[*p as usize].id).cloned(),
            last_week: w[0].purchases,
            forecast: f,
            views_last_week: w[0].views,
            carts_last_week: w[0].carts,
        })
        .collect();
    out.sort_by(|a, b| b.forecast.total_cmp(&a.forecast));
    let note = backtest.as_ref().filter(|b| !b.model_wins()).map(|b| {
        format!(
            "The model does not beat the naive forecast on the week tested (error {:.3} vs {:.3} units per product): use \"same as last week\" instead.",
            b.model_mae, b.naive_mae
        )
    });
    Ok(with_notes(ForecastResult { last_day, backtest, products: out, gaps, note: None }, note))
}

/// Purchases per product since `since` (seconds), most sold first, with the latest sale time.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSales {
    /// Code into `EventFrame::products`.
    pub product: u32,
    /// Purchase events.
    pub purchases: u64,
    /// Units sold (each purchase's quantity; one where the export has none).
    pub units: u64,
    /// Price × units.
    pub revenue: f64,
    pub last_sale: i64,
}

/// Sales per product since `since`: what live mode shows as purchases arrive. Rows are split
/// over the worker threads (the purchases are found with a byte search over the event kinds);
/// revenue is a compensated sum, so the parts do not move the cents.
pub fn sales_since(frame: &EventFrame, since: i64) -> Vec<ProductSales> {
    let kinds = frame.kind_codes();
    let parts = crate::jobs::parallel_ranges(frame.len(), |rows| {
        let mut by_product: HashMap<u32, (u64, u64, Sum, i64)> = HashMap::new();
        for row in memchr::memchr_iter(EventKind::Purchase as u8, &kinds[rows.clone()]).map(|i| rows.start + i) {
            let time = frame.time[row];
            if time < since {
                continue;
            }
            let units = frame.quantity.get(row);
            let entry = by_product.entry(frame.product[row]).or_insert((0, 0, Sum::default(), i64::MIN));
            entry.0 += 1;
            entry.1 += u64::from(units);
            entry.2.add(f64::from(frame.price[row]) * f64::from(units));
            entry.3 = entry.3.max(time);
        }
        by_product
    });
    let mut by_product: HashMap<u32, (u64, u64, Sum, i64)> = HashMap::new();
    for part in parts {
        for (product, (purchases, units, revenue, last)) in part {
            let entry = by_product.entry(product).or_insert((0, 0, Sum::default(), i64::MIN));
            entry.0 += purchases;
            entry.1 += units;
            entry.2.merge(revenue);
            entry.3 = entry.3.max(last);
        }
    }
    let mut rows: Vec<ProductSales> = by_product
        .into_iter()
        .map(|(product, (purchases, units, revenue, last_sale))| ProductSales {
            product,
            purchases,
            units,
            revenue: revenue.value(),
            last_sale,
        })
        .collect();
    rows.sort_by(|a, b| b.purchases.cmp(&a.purchases).then(b.last_sale.cmp(&a.last_sale)).then(a.product.cmp(&b.product)));
    rows
}

/// One product's activity on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDay {
    /// Days since 1970-01-01.
    pub day: i64,
    pub views: u32,
    /// Units carted and bought (an event is one unit where the export has no quantity).
    pub carts: u32,
    pub purchases: u32,
    pub revenue: f64,
    pub mean_price: Option<f64>,
}

/// One product's daily views, carts, purchases (units), revenue and mean price.
pub fn product_days(frame: &EventFrame, filters: &Filters, product: u32) -> Vec<ProductDay> {
    let (from, to) = super::customers::time_bounds(filters);
    let mut days: std::collections::BTreeMap<i64, (u32, u32, u32, f64, f64, u32)> = Default::default();
    for row in 0..frame.len() {
        if frame.product[row] != product || !(from..to).contains(&frame.time[row]) {
            continue;
        }
        let d = days.entry(frame.time[row].div_euclid(86_400)).or_default();
        let (price, units) = (f64::from(frame.price[row]), frame.quantity.get(row));
        match frame.kind(row) {
            EventKind::View => d.0 += 1,
            EventKind::Cart => d.1 = d.1.saturating_add(units),
            EventKind::Purchase => {
                d.2 = d.2.saturating_add(units);
                d.3 += price * f64::from(units);
            }
            _ => {}
        }
        if price > 0.0 {
            d.4 += price;
            d.5 += 1;
        }
    }
    days.into_iter()
        .map(|(day, (views, carts, purchases, revenue, ps, pn))| ProductDay {
            day,
            views,
            carts,
            purchases,
            revenue,
            mean_price: (pn > 0).then(|| ps / f64::from(pn)),
        })
        .collect()
}

pub fn forecast_table(frame: &EventFrame, result: &ForecastResult) -> crate::analytics::Table {
    let header = [
        "product_id",
        "name",
        "category",
        "brand",
        "purchases_last_7_days",
        "forecast_next_7_days",
        "views_last_7_days",
        "carts_last_7_days",
    ]
    .map(String::from)
    .to_vec();
    let rows = result
        .products
        .iter()
        .map(|p| {
            let product = &frame.products[p.product as usize];
            vec![
                product.id.to_string(),
                p.name.clone().unwrap_or_default(),
                frame.categories[product.category as usize].clone(),
                frame.brands[product.brand as usize].clone(),
                p.last_week.to_string(),
                format!("{:.2}", p.forecast),
                p.views_last_week.to_string(),
                p.carts_last_week.to_string(),
            ]
        })
        .collect();
    (header, rows)
}
