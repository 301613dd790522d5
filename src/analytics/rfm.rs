//! RFM: recency, frequency and monetary value per customer, scored 1–5 and named by segment.
//!
//! Definitions (shown in the Segments panel's help):
//! - purchases are non-cancelled order lines with a customer id, inside the global filters;
//! - recency = days from the customer's last purchase day to the analysis date (default: the day
//!   after the last purchase in the data); frequency = distinct invoices; monetary = Σ quantity ×
//!   unit price;
//! - scores are quintiles computed the way the widespread pandas recipe does:
//!   `R = qcut(recency, 5, labels=[5,4,3,2,1])`, `F = qcut(frequency.rank(method="first"), 5,
//!   labels=[1..5])`, `M = qcut(monetary, 5, labels=[1..5])`. Bin edges are numpy's linear
//!   percentiles; bins are right-closed, the first also holds the minimum. Frequency is ranked
//!   first-come (customers in id order) before cutting, so ties never collapse its bins. Where
//!   ties make two R or M edges equal, the bin between them stays empty rather than failing.
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
}

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

/// Quintile edges the way `numpy.percentile` (linear interpolation) computes them.
pub fn quintile_edges(sorted: &[f64]) -> [f64; 6] {
    let mut edges = [0.0; 6];
    if sorted.is_empty() {
        return edges;
    }
    for (k, edge) in edges.iter_mut().enumerate() {
        let position = k as f64 / 5.0 * (sorted.len() - 1) as f64;
        let below = position.floor() as usize;
        let above = (below + 1).min(sorted.len() - 1);
        *edge = sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64);
    }
    edges
}

/// The 0-based bin of `value` for `pandas.cut(..., right=True, include_lowest=True)` on `edges`.
pub fn quintile_bin(edges: &[f64; 6], value: f64) -> u8 {
    edges[1..5].iter().filter(|&&e| e < value).count() as u8
}

/// Scores R, F, M for each customer (inputs in customer id order).
pub fn scores(recency: &[f64], frequency: &[f64], monetary: &[f64]) -> Vec<[u8; 3]> {
    let sorted = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s
    };
    // rank(method="first"): ascending by value, ties in the order given.
    let mut order: Vec<usize> = (0..frequency.len()).collect();
    order.sort_by(|&a, &b| frequency[a].total_cmp(&frequency[b]).then(a.cmp(&b)));
    let mut rank = vec![0.0; frequency.len()];
    for (position, &i) in order.iter().enumerate() {
        rank[i] = (position + 1) as f64;
    }
    let edges = [quintile_edges(&sorted(recency)), quintile_edges(&sorted(&rank)), quintile_edges(&sorted(monetary))];
    (0..recency.len())
        .map(|i| [5 - quintile_bin(&edges[0], recency[i]), 1 + quintile_bin(&edges[1], rank[i]), 1 + quintile_bin(&edges[2], monetary[i])])
        .collect()
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

/// Scores and segments customers from their totals (`customer_ids[t.customer]` is the id, for
/// the first-come order of the frequency ranking). Customers are taken in id order.
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
    RfmResult { analysis_date, customers, segments, heat }
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

    /// Hand-checked against pandas 2.2: `pd.qcut(x, 5, labels=False)` and numpy percentiles.
    #[test]
    fn quintiles_match_pandas_qcut() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let edges = quintile_edges(&values);
        // np.percentile(range(1, 11), [0, 20, 40, 60, 80, 100]) = 1, 2.8, 4.6, 6.4, 8.2, 10
        for (e, want) in edges.iter().zip([1.0, 2.8, 4.6, 6.4, 8.2, 10.0]) {
            assert!((e - want).abs() < 1e-12, "{edges:?}");
        }
        // qcut(range(1, 11), 5, labels=False) = [0,0,1,1,2,2,3,3,4,4]
        let bins: Vec<u8> = values.iter().map(|&v| quintile_bin(&edges, v)).collect();
        assert_eq!(bins, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }

    /// A hand-checked table of ten customers (ids in order). Frequencies tie heavily: ranked
    /// first-come they still fill all five bins, two customers each.
    #[test]
    fn scores_follow_the_pandas_recipe_on_a_hand_checked_table() {
        let recency = [1.0, 5.0, 10.0, 30.0, 60.0, 90.0, 120.0, 200.0, 300.0, 365.0];
        let frequency = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0, 1.0, 8.0];
        let monetary = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0];
        let scores = scores(&recency, &frequency, &monetary);
        let r: Vec<u8> = scores.iter().map(|s| s[0]).collect();
        let f: Vec<u8> = scores.iter().map(|s| s[1]).collect();
        let m: Vec<u8> = scores.iter().map(|s| s[2]).collect();
        // Recency is reversed: the two most recent score 5.
        assert_eq!(r, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        // rank(method="first") of the frequencies = 1,2,3,4,6,7,8,9,5,10.
        assert_eq!(f, [1, 1, 2, 2, 3, 4, 4, 5, 3, 5]);
        assert_eq!(m, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
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
