//! RFM: recency, frequency and monetary value per customer, scored 1–5 and named by segment.
//!
//! Definitions (shown in the Segments panel's help):
//! - purchases are non-cancelled order lines with a customer id, inside the global filters;
//! - recency = days from the customer's last purchase day to the analysis date (default: the day
//!   after the last purchase in the data); frequency = distinct invoices; monetary = Σ quantity ×
//!   unit price;
//! - scores: equal values get equal scores. Each customer's score is the quintile of the
//!   average rank of their value, pandas' `rank(method="average", pct=True)` cut at 0.2, 0.4,
//!   0.6 and 0.8 (right-closed); recency is reversed (the most recent score R5). The widespread
//!   recipe that ranks frequency first-come (`rank(method="first")`) put one-time buyers in
//!   every F score by the order of their ids; here they share one;
//! - a dimension where more than half of the customers share one value cannot tell them apart
//!   ([`ThinSpread`]): the result says so, by name, wherever the scores are shown;
//! - the segment is looked up from (R, F) in a 5×5 grid the user can edit.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use polars::prelude::PolarsResult;

use super::customers::{customer_order_key, date_of_day, day_number, LineView};
use super::order_frame::OrderFrame;
use super::Filters;

/// Segment names by R (rows, index 0 = R1) and F (columns, index 0 = F1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentGrid {
    pub cells: [[String; 5]; 5],
    /// Recommended marketing action per segment name.
    pub actions: Vec<(String, String)>,
}

impl Default for SegmentGrid {
    /// The standard R×F map.
    fn default() -> Self {
        let row = |names: [&str; 5]| names.map(String::from);
        let low = row(["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"]);
        let cells = [
            low.clone(),
            low,
            row(["About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"]),
            row(["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"]),
            row(["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"]),
        ];
        let actions = [
            ("Champions", "Reward them: early access and loyalty perks; ask for reviews and referrals."),
            ("Loyal Customers", "Upsell higher-value products; invite to the loyalty programme."),
            ("Potential Loyalists", "Offer membership or a second-purchase incentive; recommend related products."),
            ("New Customers", "Onboard well: welcome series, how-to content, a small next-order offer."),
            ("Promising", "Build awareness: brand stories and free trials; keep them coming back."),
            ("Need Attention", "Limited-time offers based on past purchases; reactivate before they slip."),
            ("About to Sleep", "Share popular products and a reconnect discount."),
            ("At Risk", "Win back with personal emails and offers; ask what went wrong."),
            ("Can't Lose Them", "Win them back personally: best offers, talk to them, don't lose them to a competitor."),
            ("Hibernating", "Discount to reactivate; otherwise stop spending on them."),
        ];
        Self { cells, actions: actions.iter().map(|(s, a)| (s.to_string(), a.to_string())).collect() }
    }
}

impl SegmentGrid {
    pub fn segment(&self, r: u8, f: u8) -> &str {
        &self.cells[usize::from(r.clamp(1, 5) - 1)][usize::from(f.clamp(1, 5) - 1)]
    }

    /// Segment names in a stable order: as first met scanning the grid from R5/F5 down, so the
    /// best segments come first.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in (0..5).rev() {
            for f in (0..5).rev() {
                if !names.contains(&self.cells[r][f]) {
                    names.push(self.cells[r][f].clone());
                }
            }
        }
        names
    }

    pub fn action(&self, segment: &str) -> &str {
        self.actions.iter().find(|(s, _)| s == segment).map_or("", |(_, a)| a.as_str())
    }

    pub fn set_action(&mut self, segment: &str, action: String) {
        match self.actions.iter_mut().find(|(s, _)| s == segment) {
            Some(entry) => entry.1 = action,
            None => self.actions.push((segment.to_string(), action)),
        }
    }

    /// Renames a segment everywhere it appears, keeping its action.
    pub fn rename(&mut self, from: &str, to: &str) {
        let to = to.trim();
        if to.is_empty() || from == to {
            return;
        }
        for cell in self.cells.iter_mut().flatten() {
            if cell == from {
                *cell = to.to_string();
            }
        }
        for entry in &mut self.actions {
            if entry.0 == from {
                entry.0 = to.to_string();
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRfm {
    /// Code into `OrderFrame::customers`.
    pub customer: u32,
    /// Country of the customer's most recent purchase line.
    pub country: u32,
    pub last_purchase: NaiveDate,
    pub recency_days: i64,
    pub frequency: u32,
    pub monetary: f64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    /// Index into [`RfmResult::segments`].
    pub segment: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSummary {
    pub name: String,
    pub customers: u64,
    pub customer_share: f64,
    pub revenue: f64,
    pub revenue_share: f64,
    pub mean_recency: f64,
    pub mean_frequency: f64,
    pub mean_monetary: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RfmResult {
    pub analysis_date: NaiveDate,
    /// In customer id order.
    pub customers: Vec<CustomerRfm>,
    pub segments: Vec<SegmentSummary>,
    /// Customers by R (index 0 = R1) and F (index 0 = F1).
    pub heat: [[u64; 5]; 5],
    /// The dimensions with too little spread to score (most customers share one value).
    pub thin: Vec<ThinSpread>,
}

/// One of the three scored dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Recency,
    Frequency,
    Monetary,
}

/// A dimension in which more than half of the customers share one value: they all get one
/// score, so that score says little about them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThinSpread {
    pub dimension: Dimension,
    /// The shared value (days, orders or money).
    pub value: f64,
    /// The share of customers holding it, 0..=1.
    pub share: f64,
    /// The score they all get.
    pub score: u8,
}

impl std::fmt::Display for ThinSpread {
    /// "frequency: most customers bought once (99.6% of them, all scored F3)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = self.share * 100.0;
        match self.dimension {
            Dimension::Frequency if self.value == 1.0 => {
                write!(f, "frequency: most customers bought once ({pct:.1}% of them, all scored F{})", self.score)
            }
            Dimension::Frequency => {
                write!(f, "frequency: most customers placed {} orders ({pct:.1}% of them, all scored F{})", self.value, self.score)
            }
            Dimension::Recency => write!(
                f,
                "recency: most customers last bought {} days before the analysis date ({pct:.1}% of them, all scored R{})",
                self.value, self.score
            ),
            Dimension::Monetary => {
                write!(f, "monetary: most customers spent the same, {:.2} ({pct:.1}% of them, all scored M{})", self.value, self.score)
            }
        }
    }
}

/// Share of customers above which one value makes a dimension too thin to score.
const THIN_SHARE: f64 = 0.5;

/// Per-customer recency, frequency and monetary of the filtered purchases.
struct Totals {
    last_time: Vec<i64>,
    frequency: Vec<u32>,
    monetary: Vec<f64>,
    country: Vec<u32>,
}

fn totals(frame: &OrderFrame, view: &LineView<'_>) -> Totals {
    let n = frame.customers.len();
    let mut t = Totals { last_time: vec![i64::MIN; n], frequency: vec![0; n], monetary: vec![0.0; n], country: vec![0; n] };
    // An invoice belongs to one customer, so counting each invoice code once counts distinct
    // invoices per customer.
    let mut invoice_seen = vec![false; frame.invoices.len()];
    for i in 0..view.len() {
        let Some(c) = view.purchase(i) else { continue };
        let c = c as usize;
        t.monetary[c] += view.value[i];
        if view.time[i] >= t.last_time[c] {
            t.last_time[c] = view.time[i];
            t.country[c] = view.country[i];
        }
        let seen = &mut invoice_seen[view.invoice[i] as usize];
        if !*seen {
            *seen = true;
            t.frequency[c] += 1;
        }
    }
    t
}

/// Scores 1..=5 of `values`, higher for larger values: the quintile of each value's average
/// rank as a share of the count (pandas `rank(method="average", pct=True)`), cut right-closed
/// at 0.2, 0.4, 0.6 and 0.8. Equal values get equal scores.
pub fn average_rank_quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Ranks start+1 ..= end (1-based) share their mean.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let pct = average_rank / n as f64;
        let score = 1 + [0.2, 0.4, 0.6, 0.8].iter().filter(|&&cut| pct > cut).count() as u8;
        for &i in &order[start..end] {
            scores[i] = score;
        }
        start = end;
    }
    scores
}

/// Scores R, F, M for each customer.
pub fn scores(recency: &[f64], frequency: &[f64], monetary: &[f64]) -> Vec<[u8; 3]> {
    // Money is equal to the cent: sums in another order (a server's, or 0.1 + 0.2) must not
    // break a tie by their last bit.
    let cents: Vec<f64> = monetary.iter().map(|m| (m * 100.0).round()).collect();
    let (r, f, m) = (average_rank_quintiles(recency), average_rank_quintiles(frequency), average_rank_quintiles(&cents));
    (0..recency.len()).map(|i| [6 - r[i], f[i], m[i]]).collect()
}

/// The most common value of `values` when more than [`THIN_SHARE`] of them hold it, with its
/// share and one index holding it.
fn most_common(values: &[f64]) -> Option<(f64, f64, usize)> {
    let mut counts: HashMap<u64, (usize, usize)> = HashMap::new();
    for (i, v) in values.iter().enumerate() {
        counts.entry(v.to_bits()).or_insert((0, i)).0 += 1;
    }
    let (bits, (count, at)) = counts.into_iter().max_by_key(|(_, (count, _))| *count)?;
    let share = count as f64 / values.len() as f64;
    (share > THIN_SHARE).then_some((f64::from_bits(bits), share, at))
}

/// RFM for every customer with a purchase in the filters. `analysis_date` defaults to the day
/// after the last purchase.
pub fn compute(frame: &OrderFrame, filters: &Filters, analysis_date: Option<NaiveDate>, grid: &SegmentGrid) -> PolarsResult<RfmResult> {
    let view = LineView::new(frame, filters)?;
    let totals = totals(frame, &view);
    let purchases = (0..frame.customers.len() as u32)
        .filter(|&c| totals.frequency[c as usize] > 0)
        .map(|c| {
            let c_ = c as usize;
            PurchaseTotals {
                customer: c,
                country: totals.country[c_],
                last_time: totals.last_time[c_],
                frequency: totals.frequency[c_],
                monetary: totals.monetary[c_],
            }
        })
        .collect();
    Ok(score_totals(purchases, &frame.customers, analysis_date, grid))
}

/// One customer's purchases inside the filters: what RFM is scored from, whoever summed them
/// (the local copy in [`compute`], or a server in `warehouse::pushdown`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurchaseTotals {
    /// Code into the customer ids given to [`score_totals`].
    pub customer: u32,
    /// Country code of the customer's most recent purchase line.
    pub country: u32,
    /// Time of the last purchase line (seconds since 1970, UTC).
    pub last_time: i64,
    /// Distinct invoices.
    pub frequency: u32,
    /// Σ quantity × unit price.
    pub monetary: f64,
}

/// Scores and segments customers from their totals (`customer_ids[t.customer]` is the id).
/// Customers are listed in id order; their scores do not depend on it.
pub fn score_totals(
    mut purchases: Vec<PurchaseTotals>,
    customer_ids: &[String],
    analysis_date: Option<NaiveDate>,
    grid: &SegmentGrid,
) -> RfmResult {
    purchases.sort_by(|a, b| {
        let (ka, kb) = (customer_order_key(&customer_ids[a.customer as usize]), customer_order_key(&customer_ids[b.customer as usize]));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.cmp(kb.2))
    });
    let last_day = purchases.iter().map(|t| day_number(t.last_time)).max();
    let analysis_date =
        analysis_date.or_else(|| last_day.map(|d| date_of_day(d).checked_add_days(Days::new(1)).unwrap_or_default())).unwrap_or_default();
    let analysis_day = super::customers::day_start(analysis_date) / super::customers::SECONDS_PER_DAY;

    let recency: Vec<f64> = purchases.iter().map(|t| (analysis_day - day_number(t.last_time)) as f64).collect();
    let frequency: Vec<f64> = purchases.iter().map(|t| f64::from(t.frequency)).collect();
    let monetary: Vec<f64> = purchases.iter().map(|t| t.monetary).collect();
    let scores = scores(&recency, &frequency, &monetary);
    let thin = [(Dimension::Recency, &recency, 0), (Dimension::Frequency, &frequency, 1), (Dimension::Monetary, &monetary, 2)]
        .into_iter()
        .filter_map(|(dimension, values, which)| {
            let (value, share, at) = most_common(values)?;
            Some(ThinSpread { dimension, value, share, score: scores[at][which] })
        })
        .collect();

    let names = grid.names();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut heat = [[0u64; 5]; 5];
    let customers: Vec<CustomerRfm> = purchases
        .iter()
        .zip(&scores)
        .enumerate()
        .map(|(i, (t, &[r, f, m]))| {
            heat[usize::from(r - 1)][usize::from(f - 1)] += 1;
            CustomerRfm {
                customer: t.customer,
                country: t.country,
                last_purchase: date_of_day(day_number(t.last_time)),
                recency_days: recency[i] as i64,
                frequency: t.frequency,
                monetary: monetary[i],
                r,
                f,
                m,
                segment: index[grid.segment(r, f)],
            }
        })
        .collect();
    let segments = summarise(&names, &customers);
    RfmResult { analysis_date, customers, segments, heat, thin }
}

fn summarise(names: &[String], customers: &[CustomerRfm]) -> Vec<SegmentSummary> {
    let mut sums = vec![(0u64, 0.0, 0.0, 0.0); names.len()];
    for c in customers {
        let s = &mut sums[c.segment];
        s.0 += 1;
        s.1 += c.recency_days as f64;
        s.2 += f64::from(c.frequency);
        s.3 += c.monetary;
    }
    let total_customers = customers.len().max(1) as f64;
    let total_revenue: f64 = customers.iter().map(|c| c.monetary).sum();
    names
        .iter()
        .zip(sums)
        .map(|(name, (n, r, f, m))| {
            let mean = |x: f64| if n > 0 { x / n as f64 } else { 0.0 };
            SegmentSummary {
                name: name.clone(),
                customers: n,
                customer_share: n as f64 / total_customers,
                revenue: m,
                revenue_share: if total_revenue != 0.0 { m / total_revenue } else { 0.0 },
                mean_recency: mean(r),
                mean_frequency: mean(f),
                mean_monetary: mean(m),
            }
        })
        .collect()
}

impl RfmResult {
    /// Mean of a per-customer figure (indexed by customer code) over each segment's customers.
    pub fn segment_means(&self, per_customer: &HashMap<u32, f64>) -> Vec<Option<f64>> {
        let mut sums = vec![(0.0, 0u64); self.segments.len()];
        for c in &self.customers {
            if let Some(v) = per_customer.get(&c.customer) {
                sums[c.segment].0 += v;
                sums[c.segment].1 += 1;
            }
        }
        sums.into_iter().map(|(s, n)| (n > 0).then(|| s / n as f64)).collect()
    }
}

/// Figures from the CLV model that campaign lists carry alongside RFM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueColumns {
    pub clv: f64,
    pub p_alive: f64,
}

impl ValueColumns {
    /// CLV and P(alive) by customer code, for customers with a CLV.
    pub fn by_customer(result: &super::clv::ClvResult) -> HashMap<u32, ValueColumns> {
        result.customers.iter().filter_map(|c| Some((c.customer, ValueColumns { clv: c.clv?, p_alive: c.p_alive }))).collect()
    }
}

/// What an RFM result's codes name: customer ids and countries (an [`OrderFrame`]'s
/// dictionaries, or a server result's).
pub struct CustomerNames<'a> {
    pub customers: &'a [String],
    pub countries: &'a [String],
}

impl<'a> CustomerNames<'a> {
    pub fn of(frame: &'a OrderFrame) -> Self {
        CustomerNames { customers: &frame.customers, countries: &frame.countries }
    }
}

/// The campaign-ready list: one row per customer of `segment` (all customers when `None`).
pub fn customer_table(
    names: &CustomerNames<'_>,
    rfm: &RfmResult,
    segment: Option<usize>,
    value: Option<&HashMap<u32, ValueColumns>>,
) -> crate::analytics::Table {
    let header = [
        "customer_id",
        "country",
        "last_purchase",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "rfm",
        "segment",
        "clv",
        "p_alive",
    ]
    .map(String::from)
    .to_vec();
    let rows = rfm
        .customers
        .iter()
        .filter(|c| segment.is_none_or(|s| s == c.segment))
        .map(|c| {
            let v = value.and_then(|v| v.get(&c.customer));
            vec![
                names.customers[c.customer as usize].clone(),
                names.countries.get(c.country as usize).cloned().unwrap_or_default(),
                c.last_purchase.to_string(),
                c.recency_days.to_string(),
                c.frequency.to_string(),
                format!("{:.2}", c.monetary),
                c.r.to_string(),
                c.f.to_string(),
                c.m.to_string(),
                format!("{}{}{}", c.r, c.f, c.m),
                rfm.segments[c.segment].name.clone(),
                v.map(|v| format!("{:.2}", v.clv)).unwrap_or_default(),
                v.map(|v| format!("{:.4}", v.p_alive)).unwrap_or_default(),
            ]
        })
        .collect();
    (header, rows)
}

/// The per-segment table as exported.
pub fn segment_table(rfm: &RfmResult, grid: &SegmentGrid, mean_clv: &[Option<f64>]) -> crate::analytics::Table {
    let header = [
        "segment",
        "customers",
        "share_of_customers",
        "share_of_revenue",
        "mean_recency_days",
        "mean_frequency",
        "mean_monetary",
        "mean_clv",
        "action",
    ]
    .map(String::from)
    .to_vec();
    let rows = rfm
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                s.name.clone(),
                s.customers.to_string(),
                format!("{:.4}", s.customer_share),
                format!("{:.4}", s.revenue_share),
                format!("{:.1}", s.mean_recency),
                format!("{:.2}", s.mean_frequency),
                format!("{:.2}", s.mean_monetary),
                mean_clv.get(i).copied().flatten().map(|v| format!("{v:.2}")).unwrap_or_default(),
                grid.action(&s.name).to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked with pandas 2.2: `pd.cut(x.rank(method="average", pct=True), [0, .2, .4,
    /// .6, .8, 1], labels=[1, 2, 3, 4, 5])`.
    #[test]
    fn average_rank_quintiles_match_pandas() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        // pct ranks 0.1 .. 1.0: 0.2 is in the first bin (right-closed).
        assert_eq!(average_rank_quintiles(&values), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Four ties at the bottom share the average rank 2.5 (pct 0.25): all score 2.
        assert_eq!(average_rank_quintiles(&[1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), [2, 2, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    /// A hand-checked table of ten customers. Frequencies tie heavily: equal frequencies get
    /// equal scores, whatever the customers' order.
    #[test]
    fn equal_values_get_equal_scores_on_a_hand_checked_table() {
        let recency = [1.0, 5.0, 10.0, 30.0, 60.0, 90.0, 120.0, 200.0, 300.0, 365.0];
        let frequency = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0, 1.0, 8.0];
        let monetary = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0];
        let scores = scores(&recency, &frequency, &monetary);
        let r: Vec<u8> = scores.iter().map(|s| s[0]).collect();
        let f: Vec<u8> = scores.iter().map(|s| s[1]).collect();
        let m: Vec<u8> = scores.iter().map(|s| s[2]).collect();
        // Recency is reversed: the two most recent score 5.
        assert_eq!(r, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        // Five customers with one order: average rank 3 of 10 (pct 0.3) → F2; two with two
        // orders: rank 6.5 (0.65) → F4; 3 orders: rank 8 (0.8) → F4; 5 and 8 → F5.
        assert_eq!(f, [2, 2, 2, 2, 4, 4, 4, 5, 2, 5]);
        assert_eq!(m, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    /// Olist's shape: almost everyone bought once. They all score F3 (average rank about half
    /// the count), and the result names the dimension.
    #[test]
    fn most_customers_buying_once_is_named_and_scored_alike() {
        let n = 1000;
        let purchases: Vec<PurchaseTotals> = (0..n)
            .map(|i| PurchaseTotals {
                customer: i,
                country: 0,
                last_time: i64::from(i) * 86_400,
                frequency: if i % 250 == 0 { 2 } else { 1 },
                monetary: f64::from(i),
            })
            .collect();
        let ids: Vec<String> = (0..n).map(|i| format!("c{i:04}")).collect();
        let result = score_totals(purchases, &ids, None, &SegmentGrid::default());
        assert_eq!(result.thin.len(), 1, "{:?}", result.thin);
        let thin = result.thin[0];
        assert_eq!((thin.dimension, thin.value, thin.share, thin.score), (Dimension::Frequency, 1.0, 0.996, 3));
        assert_eq!(thin.to_string(), "frequency: most customers bought once (99.6% of them, all scored F3)");
        assert!(result.customers.iter().filter(|c| c.frequency == 1).all(|c| c.f == 3));
        assert!(result.customers.iter().filter(|c| c.frequency == 2).all(|c| c.f == 5));
    }

    #[test]
    fn default_grid_is_the_standard_map() {
        let grid = SegmentGrid::default();
        assert_eq!(grid.segment(5, 1), "New Customers");
        assert_eq!(grid.segment(5, 3), "Potential Loyalists");
        assert_eq!(grid.segment(5, 4), "Champions");
        assert_eq!(grid.segment(4, 1), "Promising");
        assert_eq!(grid.segment(4, 5), "Loyal Customers");
        assert_eq!(grid.segment(3, 2), "About to Sleep");
        assert_eq!(grid.segment(3, 3), "Need Attention");
        assert_eq!(grid.segment(2, 2), "Hibernating");
        assert_eq!(grid.segment(1, 4), "At Risk");
        assert_eq!(grid.segment(2, 5), "Can't Lose Them");
        assert_eq!(grid.names()[0], "Champions");
        assert_eq!(grid.names().len(), 10);
    }

    #[test]
    fn renaming_keeps_cells_and_action_together() {
        let mut grid = SegmentGrid::default();
        let action = grid.action("At Risk").to_string();
        grid.rename("At Risk", "Slipping");
        assert_eq!(grid.segment(1, 3), "Slipping");
        assert_eq!(grid.action("Slipping"), action);
        assert!(!grid.names().contains(&"At Risk".to_string()));
    }
}
