//! A/B price tests: two arms (one product before and after a price change, or two groups of
//! products over the same days), compared per day — units, revenue, profit, views — and per
//! view where the shop has views. Each difference (B − A) has a 95% Welch interval and
//! P(B > A) under the same t approximation (a flat prior on the difference). Plain warnings say
//! when the sample is too small, when the arms differ in more than price (season, the rest of
//! the shop, the day-of-week mix, other products), and when the test stopped before it could see
//! a difference of the size it shows. Reference: `testdata/reference/make_abtest_reference.py`
//! (SciPy's Welch test and interval) and a hand-checked case below.

use chrono::{Datelike, NaiveDate};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::pricing::PricingData;

/// One arm: products over days (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arm {
    pub products: Vec<u32>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub a: f64,
    pub b: f64,
    pub difference: f64,
    /// The 95% interval of the difference (none when it cannot be estimated).
    pub ci: Option<(f64, f64)>,
    pub p_b_greater: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AbResult {
    pub days: (usize, usize),
    /// Mean price paid per unit in each arm.
    pub prices: (Option<f64>, Option<f64>),
    pub metrics: Vec<Metric>,
    pub warnings: Vec<String>,
    /// What can and cannot be concluded, in a sentence or two.
    pub verdict: String,
    /// Units sold on each day of arm A and of arm B (zeros included), for the chart.
    pub units: (Vec<f64>, Vec<f64>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AbError {
    #[error("arm {0} has no days: its end is before its start")]
    NoDays(char),
    #[error("arm {0} has no products")]
    NoProducts(char),
    #[error("arm {arm} ({from} to {to}) lies outside the sales data ({first} to {last}): there is nothing to compare")]
    OutsideData { arm: char, from: NaiveDate, to: NaiveDate, first: NaiveDate, last: NaiveDate },
}

/// An arm's days as typed, `2010-01-01..2010-03-31` (both days included), for the CLI and
/// the panel alike.
pub fn parse_days(text: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let (from, to) = text.split_once("..").ok_or_else(|| format!("'{text}' is not FROM..TO (YYYY-MM-DD..YYYY-MM-DD)"))?;
    let day = |t: &str| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| format!("'{t}' is not a date like 2010-03-31"));
    let (from, to) = (day(from)?, day(to)?);
    if to < from {
        return Err(format!("'{text}' ends before it starts"));
    }
    Ok((from, to))
}

/// Mean, sample variance and count of `values`.
fn moments(values: &[f64]) -> (f64, f64, usize) {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    let var = if n > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
    (mean, var, n)
}

/// Welch's statistic for the mean of `b` minus the mean of `a`: the difference, its standard
/// error and the Welch–Satterthwaite degrees of freedom; `None` when a side has under two values.
pub fn welch_statistic(a: &[f64], b: &[f64]) -> Option<(f64, f64, f64)> {
    let (ma, va, na) = moments(a);
    let (mb, vb, nb) = moments(b);
    if na < 2 || nb < 2 {
        return None;
    }
    let (sa, sb) = (va / na as f64, vb / nb as f64);
    let df = (sa + sb).powi(2) / (sa * sa / (na - 1) as f64 + sb * sb / (nb - 1) as f64);
    Some((mb - ma, (sa + sb).sqrt(), df))
}

/// Welch's comparison of the means of `b` and `a`: the difference, its 95% interval and
/// P(B > A) = F_t(difference / se) with the Welch–Satterthwaite degrees of freedom.
pub fn welch(a: &[f64], b: &[f64]) -> (f64, Option<(f64, f64)>, Option<f64>) {
    let Some((difference, se, df)) = welch_statistic(a, b) else {
        return (mean(b) - mean(a), None, None);
    };
    if se == 0.0 {
        return (
            difference,
            Some((difference, difference)),
            Some(if difference > 0.0 {
                1.0
            } else if difference < 0.0 {
                0.0
            } else {
                0.5
            }),
        );
    }
    let Ok(t) = StudentsT::new(0.0, 1.0, df) else { return (difference, None, None) };
    let q = t.inverse_cdf(0.975);
    (difference, Some((difference - q * se, difference + q * se)), Some(t.cdf(difference / se)))
}

fn mean(x: &[f64]) -> f64 {
    moments(x).0
}

/// The ratio Σu / Σv of an arm and its variance by the delta method over days.
fn ratio(u: &[f64], v: &[f64]) -> Option<(f64, f64)> {
    let n = u.len() as f64;
    let (su, sv): (f64, f64) = (u.iter().sum(), v.iter().sum());
    if sv <= 0.0 || u.len() < 2 {
        return None;
    }
    let r = su / sv;
    let mean_v = sv / n;
    let residuals: Vec<f64> = u.iter().zip(v).map(|(u, v)| u - r * v).collect();
    let (_, var, _) = moments(&residuals);
    Some((r, var / (n * mean_v * mean_v)))
}

/// Days of an arm as days since 1970-01-01.
fn epoch_days(arm: &Arm) -> std::ops::RangeInclusive<i64> {
    let day = |d: NaiveDate| (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days();
    day(arm.from)..=day(arm.to)
}

/// Per-day totals of an arm: units, revenue, profit (when every product has a cost), views.
struct Daily {
    units: Vec<f64>,
    revenue: Vec<f64>,
    profit: Option<Vec<f64>>,
    views: Vec<f64>,
    weekdays: [usize; 7],
}

fn daily(data: &PricingData, arm: &Arm) -> Daily {
    let days = epoch_days(arm);
    let n = (days.end() - days.start() + 1).max(0) as usize;
    let mut d = Daily { units: vec![0.0; n], revenue: vec![0.0; n], profit: Some(vec![0.0; n]), views: vec![0.0; n], weekdays: [0; 7] };
    for &product in &arm.products {
        let cost = data.products[product as usize].cost;
        for s in data.sales_of(product).iter().filter(|s| days.contains(&s.day)) {
            let i = (s.day - days.start()) as usize;
            d.units[i] += s.units;
            d.revenue[i] += s.revenue;
            match (&mut d.profit, cost) {
                (Some(profit), Some(cost)) => profit[i] += s.revenue - s.units * cost,
                (profit, None) => *profit = None,
                _ => {}
            }
        }
        for v in data.views_of(product).iter().filter(|v| days.contains(&v.day)) {
            d.views[(v.day - days.start()) as usize] += v.views as f64;
        }
    }
    for day in days {
        // 1970-01-01 was a Thursday.
        d.weekdays[((day + 3).rem_euclid(7)) as usize] += 1;
    }
    d
}

/// The first and last day of our sales in `data`.
fn sales_span(data: &PricingData) -> Option<(NaiveDate, NaiveDate)> {
    let first = data.sales.iter().map(|s| s.day).min()?;
    let last = data.sales.iter().map(|s| s.day).max()?;
    Some((super::customers::date_of_day(first), super::customers::date_of_day(last)))
}

/// Compares arm B with arm A over `data`. Days outside the sales data are not days without
/// sales: each arm is clipped to the data's span, and the result says so.
pub fn compare(data: &PricingData, a: &Arm, b: &Arm) -> Result<AbResult, AbError> {
    for (arm, name) in [(a, 'A'), (b, 'B')] {
        if arm.to < arm.from {
            return Err(AbError::NoDays(name));
        }
        if arm.products.is_empty() {
            return Err(AbError::NoProducts(name));
        }
    }
    let mut clipped = Vec::new();
    let (a, b) = match sales_span(data) {
        Some((first, last)) => {
            let mut clip = |arm: &Arm, name: char| -> Result<Arm, AbError> {
                let (from, to) = (arm.from.max(first), arm.to.min(last));
                if from > to {
                    return Err(AbError::OutsideData { arm: name, from: arm.from, to: arm.to, first, last });
                }
                if (from, to) != (arm.from, arm.to) {
                    clipped.push(format!(
                        "Arm {name} ({} to {}) reaches beyond the sales data ({first} to {last}): only {from} to {to} is compared, as days without data are not days without sales.",
                        arm.from, arm.to
                    ));
                }
                Ok(Arm { products: arm.products.clone(), from, to })
            };
            (clip(a, 'A')?, clip(b, 'B')?)
        }
        None => (a.clone(), b.clone()),
    };
    let (a, b) = (&a, &b);
    let (da, db) = (daily(data, a), daily(data, b));
    let mut metrics = Vec::new();
    let mut per_day = |name: &'static str, xa: &[f64], xb: &[f64]| {
        let (difference, ci, p) = welch(xa, xb);
        let (ma, _, _) = moments(xa);
        let (mb, _, _) = moments(xb);
        metrics.push(Metric { name, a: ma, b: mb, difference, ci, p_b_greater: p });
    };
    per_day("units_per_day", &da.units, &db.units);
    per_day("revenue_per_day", &da.revenue, &db.revenue);
    if let (Some(pa), Some(pb)) = (&da.profit, &db.profit) {
        per_day("profit_per_day", pa, pb);
    }
    let has_views = da.views.iter().sum::<f64>() > 0.0 && db.views.iter().sum::<f64>() > 0.0;
    if has_views {
        per_day("views_per_day", &da.views, &db.views);
        for (name, xa, xb) in [("units_per_view", &da.units, &db.units), ("revenue_per_view", &da.revenue, &db.revenue)] {
            if let (Some((ra, va)), Some((rb, vb))) = (ratio(xa, &da.views), ratio(xb, &db.views)) {
                let se = (va + vb).sqrt();
                let difference = rb - ra;
                let normal = Normal::new(0.0, 1.0).expect("standard normal");
                let (ci, p) = if se > 0.0 {
                    let z = normal.inverse_cdf(0.975);
                    (Some((difference - z * se, difference + z * se)), Some(normal.cdf(difference / se)))
                } else {
                    (None, None)
                };
                metrics.push(Metric { name, a: ra, b: rb, difference, ci, p_b_greater: p });
            }
        }
    }
    let price = |d: &Daily| {
        let units: f64 = d.units.iter().sum();
        (units > 0.0).then(|| d.revenue.iter().sum::<f64>() / units)
    };
    let prices = (price(&da), price(&db));
    let mut warnings = warnings(data, a, b, &da, &db, prices);
    warnings.splice(0..0, clipped);
    let verdict = verdict(&metrics[0], &warnings);
    Ok(AbResult { days: (da.units.len(), db.units.len()), prices, metrics, warnings, verdict, units: (da.units, db.units) })
}

/// Days per arm and sold units under which a daily comparison says little.
const MIN_DAYS: usize = 14;
const MIN_UNITS: f64 = 30.0;

fn warnings(data: &PricingData, a: &Arm, b: &Arm, da: &Daily, db: &Daily, prices: (Option<f64>, Option<f64>)) -> Vec<String> {
    let mut out = Vec::new();
    let (ua, ub): (f64, f64) = (da.units.iter().sum(), db.units.iter().sum());
    if da.units.len() < MIN_DAYS || db.units.len() < MIN_DAYS || ua < MIN_UNITS || ub < MIN_UNITS {
        out.push(format!(
            "Too small to tell: A has {} days and {ua:.0} units, B {} days and {ub:.0} units (at least {MIN_DAYS} days and {MIN_UNITS:.0} units each are needed for a daily comparison to say much).",
            da.units.len(),
            db.units.len()
        ));
    }
    if a.products != b.products {
        out.push("The arms are different products: they differ in more than price (what they are, who buys them), so a difference is not the price's alone.".into());
        let shared: Vec<&str> =
            a.products.iter().filter(|p| b.products.contains(p)).map(|&p| data.products[p as usize].id.as_str()).collect();
        if !shared.is_empty() {
            out.push(format!(
                "{} in both groups ({}): its sales count in both arms, which pulls them together.",
                if shared.len() == 1 { "A product is" } else { "Products are" },
                shared.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let (overlap_from, overlap_to) = (a.from.max(b.from), a.to.min(b.to));
    if overlap_from <= overlap_to && a.products.iter().any(|p| b.products.contains(p)) {
        out.push(format!(
            "The arms overlap from {overlap_from} to {overlap_to} with the same products: those days count in both, so the arms are not apart."
        ));
    }
    match prices {
        (Some(pa), Some(pb)) if (pb - pa).abs() < 0.005 * pa.abs().max(0.01) => {
            out.push(format!("The price paid hardly differs between the arms ({pa:.2} and {pb:.2}): this does not test a price change."));
        }
        _ => {}
    }
    // One product (or group) in two periods: did our listed price change at all?
    if a.products == b.products {
        let at = |d: NaiveDate| d.and_hms_opt(12, 0, 0).map_or(0, |t| t.and_utc().timestamp());
        let same =
            a.products.iter().all(|&p| !data.our_history(p).is_empty() && data.our_price_at(p, at(a.to)) == data.our_price_at(p, at(b.to)));
        if same {
            out.push("Our listed price was the same at the end of both arms: what differs is only what buyers paid (volume tiers, discounts), not a price change.".into());
        }
    }
    // Season: the same days of the year, or not; and how the rest of the shop sold meanwhile.
    let mid = |arm: &Arm| arm.from + (arm.to - arm.from) / 2;
    let gap = (mid(b).ordinal() as i64 - mid(a).ordinal() as i64).abs();
    let gap = gap.min(365 - gap);
    if gap > 45 {
        out.push(format!(
            "The arms run in different seasons (A around {}, B around {}): demand moves with the season as well as with the price.",
            mid(a).format("%B"),
            mid(b).format("%B")
        ));
    }
    let others: Vec<u32> = (0..data.products.len() as u32).filter(|p| !a.products.contains(p) && !b.products.contains(p)).collect();
    if !others.is_empty() {
        let rest = |arm: &Arm| {
            let d = daily(data, &Arm { products: others.clone(), from: arm.from, to: arm.to });
            d.units.iter().sum::<f64>() / d.units.len().max(1) as f64
        };
        let (ra, rb) = (rest(a), rest(b));
        if ra > 0.0 && (rb / ra - 1.0).abs() > 0.2 {
            out.push(format!(
                "The rest of the catalogue sold {:+.0}% units a day in B against A: part of any difference is the shop's, not the price's.",
                (rb / ra - 1.0) * 100.0
            ));
        }
    }
    let share = |w: &[usize; 7]| {
        let total = w.iter().sum::<usize>().max(1) as f64;
        w.map(|n| n as f64 / total)
    };
    let (sa, sb) = (share(&da.weekdays), share(&db.weekdays));
    let worst = (0..7).map(|i| (sa[i] - sb[i]).abs()).fold(0.0, f64::max);
    if worst > 0.05 {
        out.push(format!(
            "The arms' days of the week differ (up to {:.0} points in one weekday's share): compare whole weeks, as sales differ by weekday.",
            worst * 100.0
        ));
    }
    // Peeking: the days per arm a difference this size needs (80% power, 5% two-sided).
    let (ma, va, na) = moments(&da.units);
    let (mb, vb, nb) = moments(&db.units);
    let difference = (mb - ma).abs();
    if difference > 0.0 && na > 1 && nb > 1 {
        let needed = (2.0 * (1.959_964 + 0.841_621_f64).powi(2) * (va + vb) / 2.0 / difference.powi(2)).ceil() as usize;
        if nb < needed {
            out.push(format!(
                "Stopped too early to tell: with this much day-to-day variation, a difference of {difference:.2} units a day needs about {needed} days per arm to be seen; B has {nb}. Reading a result before then (\"peeking\") often gives a false win."
            ));
        }
    }
    out
}

fn verdict(units: &Metric, warnings: &[String]) -> String {
    let caveat = if warnings.is_empty() { "" } else { " Read it with the warnings above: they name what else differs between the arms." };
    match units.ci {
        Some((low, high)) if low > 0.0 || high < 0.0 => format!(
            "B sold {:.2} {} units a day than A (95% interval {low:.2} to {high:.2}); this much is unlikely to be chance.{caveat}",
            units.difference.abs(),
            if units.difference > 0.0 { "more" } else { "fewer" }
        ),
        Some((low, high)) => format!(
            "No difference in units a day can be concluded: the 95% interval ({low:.2} to {high:.2}) includes none. That is not proof the price made no difference; the test could not see one.{caveat}"
        ),
        None => "Too little data to estimate a difference.".to_string(),
    }
}

/// The result as the CLI's file: one row per metric.
pub fn table(result: &AbResult) -> super::Table {
    let header = ["metric", "a", "b", "difference", "ci_low", "ci_high", "p_b_greater"].map(String::from).to_vec();
    let num = |v: f64| format!("{v:.6}");
    let rows = result
        .metrics
        .iter()
        .map(|m| {
            vec![
                m.name.to_string(),
                num(m.a),
                num(m.b),
                num(m.difference),
                m.ci.map_or(String::new(), |c| num(c.0)),
                m.ci.map_or(String::new(), |c| num(c.1)),
                m.p_b_greater.map_or(String::new(), num),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked Welch case: A = 1, 2, 3, 4 (mean 2.5, s² 5/3), B = 3, 5, 7, 9 (mean 6,
    /// s² 20/3): se² = 5/12 + 20/12, se = 1.44338; df = (25/12)² / ((5/12)²/3 + (20/12)²/3) =
    /// 4.41176; t = 3.5 / se = 2.42487. SciPy 1.17 (`ttest_ind(b, a, equal_var=False)`) gives
    /// the interval (-0.364167, 7.364167) and `t.cdf(2.42487, 4.41176)` = 0.966771.
    #[test]
    fn welch_matches_a_hand_checked_case() {
        let (d, ci, p) = welch(&[1.0, 2.0, 3.0, 4.0], &[3.0, 5.0, 7.0, 9.0]);
        assert!((d - 3.5).abs() < 1e-12);
        let (low, high) = ci.unwrap();
        assert!((low + 0.364167).abs() < 1e-5 && (high - 7.364167).abs() < 1e-5, "{low} {high}");
        assert!((p.unwrap() - 0.966771).abs() < 1e-6, "{p:?}");
        // Equal arms: no difference, P(B > A) one half.
        let (d, _, p) = welch(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!(d, 0.0);
        assert!((p.unwrap() - 0.5).abs() < 1e-12);
    }
}
