//! The Overview: KPIs with their change against the previous period of equal length, monthly
//! sales and growth, placed vs cancelled orders, active / new / returning customers, order value
//! distribution, top countries and products.
//!
//! Definitions (also shown in the panel's hover text):
//! - revenue = Σ quantity × unit price over lines of non-cancelled invoices;
//! - an order is a distinct non-cancelled invoice; a cancellation is a distinct `C` invoice;
//! - a customer is *new* in the month of their first non-cancelled invoice in the data and
//!   *returning* in later months; lines without a customer id count in sales, not in customer
//!   metrics.

use chrono::NaiveDate;
use polars::prelude::*;

use super::order_frame::{col, month_start, OrderFrame};
use super::Filters;
use crate::jobs::JobContext;

/// A figure for the chosen period and the one before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kpi {
    pub current: f64,
    /// `None` when the previous period lies before the data.
    pub previous: Option<f64>,
}

impl Kpi {
    /// Change against the previous period, in percent.
    pub fn change_pct(&self) -> Option<f64> {
        let previous = self.previous?;
        (previous != 0.0).then(|| (self.current - previous) / previous.abs() * 100.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kpis {
    pub revenue: Kpi,
    pub orders: Kpi,
    pub customers: Kpi,
    pub average_order_value: Kpi,
    /// Cancelled invoices as a percentage of all invoices.
    pub cancellation_rate: Kpi,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    /// Month index (see `order_frame::month_index`).
    pub month: i32,
    pub revenue: f64,
    /// Revenue change against the month before, in percent (`None` for the first month, and
    /// when either month is partial: a half month is not a collapse).
    pub growth_pct: Option<f64>,
    /// The period covers only part of the month (the data ends, or the date filter cuts it).
    pub partial: bool,
    pub placed_orders: u64,
    pub cancelled_orders: u64,
    pub active_customers: u64,
    pub new_customers: u64,
    pub returning_customers: u64,
}

impl MonthRow {
    pub fn label(&self) -> String {
        month_start(self.month).format("%Y-%m").to_string()
    }
}

/// One row of a top-N table.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub name: String,
    pub detail: String,
    pub revenue: f64,
    /// Orders (countries) or units sold (products).
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverviewResult {
    /// The days covered (inclusive), after applying the filters to the data's span.
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub previous_period: Option<(NaiveDate, NaiveDate)>,
    pub kpis: Kpis,
    pub months: Vec<MonthRow>,
    /// Value of each order (non-cancelled invoice) in the period.
    pub order_values: Vec<f64>,
    pub top_countries: Vec<Ranked>,
    /// The best-selling products, leaving out postage, fees and manual lines
    /// ([`is_service_code`]); they stay in every total.
    pub top_products: Vec<Ranked>,
    /// The same ranking with those lines in.
    pub top_products_with_services: Vec<Ranked>,
    /// The service lines among the best sellers, by revenue (what the ranking leaves out).
    pub services: Vec<Ranked>,
}

/// Stock codes that are not products: postage (`POST`, `DOT`), manual lines (`M`), fees and
/// adjustments (`BANK CHARGES`, `AMAZONFEE`, `ADJUST`, `C2`, ...), samples, tests and gift
/// vouchers. In the UCI data every product code has digits and none of these prefixes.
pub fn is_service_code(code: &str) -> bool {
    let upper = code.trim().to_ascii_uppercase();
    !upper.chars().any(|c| c.is_ascii_digit())
        || ["TEST", "GIFT_", "ADJUST"].iter().any(|p| upper.starts_with(p))
        || matches!(upper.as_str(), "C2" | "C3")
}

/// Rows in the country and product rankings.
pub const TOP_N: u32 = 10;
/// Products fetched for the ranking: enough that the ten best remain after the service lines
/// are left out.
pub const TOP_PRODUCTS_FETCHED: u32 = TOP_N + 40;

fn not_cancelled() -> Expr {
    col(col::CANCELLED).not()
}

/// Lines of the given days (inclusive) and country.
fn filtered(frame: &OrderFrame, days: Option<(NaiveDate, NaiveDate)>, country: Option<&str>) -> LazyFrame {
    let mut lf = frame.lines.clone().lazy();
    if let Some((from, to)) = days {
        let (start, end) = super::customers::day_bounds(Some(from), Some(to));
        lf = lf.filter(col(col::TIME).gt_eq(lit(start)).and(col(col::TIME).lt(lit(end))));
    }
    if let Some(name) = country {
        lf = lf.filter(col(col::COUNTRY).eq(lit(frame.country_code(name))));
    }
    lf
}

fn number(df: &DataFrame, name: &str, row: usize) -> PolarsResult<f64> {
    Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.get(row).unwrap_or(0.0))
}

fn count(df: &DataFrame, name: &str, row: usize) -> PolarsResult<u64> {
    Ok(df.column(name)?.cast(&DataType::UInt64)?.u64()?.get(row).unwrap_or(0))
}

fn period_totals(lf: LazyFrame) -> PolarsResult<PeriodTotals> {
    let df = lf
        .select([
            col(col::VALUE).filter(not_cancelled()).sum().alias("revenue"),
            col(col::INVOICE).filter(not_cancelled()).n_unique().alias("orders"),
            col(col::CUSTOMER).filter(not_cancelled().and(col(col::CUSTOMER).is_not_null())).n_unique().alias("customers"),
            col(col::INVOICE).filter(col(col::CANCELLED)).n_unique().alias("cancelled"),
            col(col::INVOICE).n_unique().alias("invoices"),
        ])
        .collect()?;
    Ok(PeriodTotals {
        revenue: number(&df, "revenue", 0)?,
        orders: count(&df, "orders", 0)?,
        customers: count(&df, "customers", 0)?,
        cancelled_invoices: count(&df, "cancelled", 0)?,
        invoices: count(&df, "invoices", 0)?,
    })
}

fn kpis(current: PeriodTotals, previous: Option<PeriodTotals>) -> Kpis {
    let aov = |t: &PeriodTotals| if t.orders > 0 { t.revenue / t.orders as f64 } else { 0.0 };
    let cancel_rate = |t: &PeriodTotals| if t.invoices > 0 { t.cancelled_invoices as f64 / t.invoices as f64 * 100.0 } else { 0.0 };
    let kpi = |f: &dyn Fn(&PeriodTotals) -> f64| Kpi { current: f(&current), previous: previous.as_ref().map(f) };
    Kpis {
        revenue: kpi(&|t| t.revenue),
        orders: kpi(&|t| t.orders as f64),
        customers: kpi(&|t| t.customers as f64),
        average_order_value: kpi(&aov),
        cancellation_rate: kpi(&cancel_rate),
    }
}

/// Why the Overview could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum OverviewError {
    #[error("{0}")]
    Polars(#[from] PolarsError),
    #[error("cancelled")]
    Cancelled(#[from] crate::jobs::Cancelled),
}

/// The Overview for `filters`. Each of its six queries is a step of `ctx`'s progress, and a
/// cancel (the filters changed again) stops it between queries.
pub fn compute(frame: &OrderFrame, filters: &Filters, ctx: &JobContext) -> Result<OverviewResult, OverviewError> {
    let (period, previous_period) = periods(frame.date_span(), filters);
    let Some(days) = period else { return Ok(empty()) };
    let country = filters.country.as_deref();
    let current = filtered(frame, Some(days), country);
    ctx.set_total(6);
    let step = |done: u64| -> Result<(), crate::jobs::Cancelled> {
        ctx.check()?;
        ctx.set_done(done);
        Ok(())
    };
    let previous_totals = previous_period.map(|p| period_totals(filtered(frame, Some(p), country))).transpose()?;
    step(1)?;
    let current_totals = period_totals(current.clone())?;
    step(2)?;
    let (month_totals, new_by_month) = monthly(frame, current.clone(), country)?;
    step(3)?;
    let order_values = order_values(current.clone())?;
    step(4)?;
    let top_countries = top_countries(frame, current.clone())?;
    step(5)?;
    let top_products = top_products(frame, current)?;
    step(6)?;
    Ok(assemble(OverviewAggregates {
        period: days,
        previous_period,
        current: current_totals,
        previous: previous_totals,
        months: month_totals,
        new_by_month,
        order_values,
        top_countries,
        top_products,
    }))
}

/// The figures the Overview is assembled from, whoever computed them: polars over the local
/// copy ([`compute`]), or a server (`warehouse::pushdown`). [`assemble`] is the one place that
/// turns them into what the panel shows.
#[derive(Debug, Clone, PartialEq)]
pub struct OverviewAggregates {
    pub period: (NaiveDate, NaiveDate),
    pub previous_period: Option<(NaiveDate, NaiveDate)>,
    pub current: PeriodTotals,
    pub previous: Option<PeriodTotals>,
    /// Per month of the period, in month order.
    pub months: Vec<MonthTotals>,
    /// Customers whose first purchase (over all dates, in the chosen country) fell in a month.
    pub new_by_month: std::collections::HashMap<i32, u64>,
    pub order_values: Vec<f64>,
    /// The best countries by revenue, at most [`TOP_N`].
    pub top_countries: Vec<Ranked>,
    /// The best products by revenue (services included), at most [`TOP_PRODUCTS_FETCHED`].
    pub top_products: Vec<Ranked>,
}

/// First and last day of a period, inclusive.
pub type Days = (NaiveDate, NaiveDate);

/// Totals over a period (see the module's definitions).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeriodTotals {
    pub revenue: f64,
    pub orders: u64,
    pub customers: u64,
    pub cancelled_invoices: u64,
    pub invoices: u64,
}

/// Totals of one month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthTotals {
    pub month: i32,
    pub revenue: f64,
    pub placed_orders: u64,
    pub cancelled_orders: u64,
    pub active_customers: u64,
}

/// The period the filters choose inside the data's `span` (first and last day), and the period
/// of equal length before it when the data covers it at least in part.
pub fn periods(span: Option<(NaiveDate, NaiveDate)>, filters: &Filters) -> (Option<Days>, Option<Days>) {
    let period = span.map(|(first, last)| (filters.from.unwrap_or(first).max(first), filters.to.unwrap_or(last).min(last)));
    let period = period.filter(|(from, to)| from <= to);
    let previous_period = match (period, span) {
        (Some((from, to)), Some((first, _))) => {
            let days = (to - from).num_days() as u64 + 1;
            let previous = (from.checked_sub_days(chrono::Days::new(days)), from.checked_sub_days(chrono::Days::new(1)));
            match previous {
                // Only compare with a period the data covers at least in part.
                (Some(start), Some(end)) if end >= first => Some((start, end)),
                _ => None,
            }
        }
        _ => None,
    };
    (period, previous_period)
}

/// An Overview of no days: no data in the chosen days is an empty overview, not an error.
pub fn empty() -> OverviewResult {
    OverviewResult {
        period: None,
        previous_period: None,
        kpis: kpis(PeriodTotals::default(), None),
        months: Vec::new(),
        order_values: Vec::new(),
        top_countries: Vec::new(),
        top_products: Vec::new(),
        top_products_with_services: Vec::new(),
        services: Vec::new(),
    }
}

/// The Overview from its aggregates: KPIs and their changes, months with growth, partial months
/// and new versus returning customers, and the product ranking without service lines.
pub fn assemble(aggregates: OverviewAggregates) -> OverviewResult {
    let OverviewAggregates { period, previous_period, current, previous, months, new_by_month, order_values, top_countries, top_products } =
        aggregates;
    let (services, mut products): (Vec<Ranked>, Vec<Ranked>) = top_products.iter().cloned().partition(|r| is_service_code(&r.name));
    products.truncate(TOP_N as usize);
    OverviewResult {
        period: Some(period),
        previous_period,
        kpis: kpis(current, previous),
        months: month_rows(&months, &new_by_month, period),
        order_values,
        top_countries,
        top_products: products,
        top_products_with_services: top_products.into_iter().take(TOP_N as usize).collect(),
        services,
    }
}

/// Totals per month of `lf`, and new customers per month (first purchase month over all dates
/// in the chosen country: a date filter must not make an old customer look new).
fn monthly(
    frame: &OrderFrame,
    lf: LazyFrame,
    country: Option<&str>,
) -> PolarsResult<(Vec<MonthTotals>, std::collections::HashMap<i32, u64>)> {
    let by_month = lf
        .group_by([col(col::MONTH)])
        .agg([
            col(col::VALUE).filter(not_cancelled()).sum().alias("revenue"),
            col(col::INVOICE).filter(not_cancelled()).n_unique().alias("placed"),
            col(col::INVOICE).filter(col(col::CANCELLED)).n_unique().alias("cancelled"),
            col(col::CUSTOMER).filter(not_cancelled().and(col(col::CUSTOMER).is_not_null())).n_unique().alias("active"),
        ])
        .sort([col::MONTH], SortMultipleOptions::default())
        .collect()?;
    let first_months = filtered(frame, None, country)
        .filter(not_cancelled().and(col(col::CUSTOMER).is_not_null()))
        .group_by([col(col::CUSTOMER)])
        .agg([col(col::MONTH).min().alias("first")])
        .group_by([col("first")])
        .agg([len().alias("new")])
        .collect()?;
    let first = first_months.column("first")?.i32()?;
    let new = first_months.column("new")?.cast(&DataType::UInt64)?;
    let new = new.u64()?;
    let new_by_month = (0..first.len()).filter_map(|i| Some((first.get(i)?, new.get(i)?))).collect();
    let months = by_month.column(col::MONTH)?.i32()?;
    let totals = (0..by_month.height())
        .map(|i| {
            Ok(MonthTotals {
                month: months.get(i).unwrap_or_default(),
                revenue: number(&by_month, "revenue", i)?,
                placed_orders: count(&by_month, "placed", i)?,
                cancelled_orders: count(&by_month, "cancelled", i)?,
                active_customers: count(&by_month, "active", i)?,
            })
        })
        .collect::<PolarsResult<_>>()?;
    Ok((totals, new_by_month))
}

/// Month rows from month totals: growth against the month before (not for partial months),
/// partial months, new and returning customers.
fn month_rows(months: &[MonthTotals], new_by_month: &std::collections::HashMap<i32, u64>, period: (NaiveDate, NaiveDate)) -> Vec<MonthRow> {
    let mut rows: Vec<MonthRow> = Vec::with_capacity(months.len());
    for m in months {
        let month = m.month;
        let new_customers = new_by_month.get(&month).copied().unwrap_or(0).min(m.active_customers);
        let (first_day, next_month) = (month_start(month), month_start(month + 1));
        let partial = period.0 > first_day || period.1 < next_month.pred_opt().unwrap_or(next_month);
        let growth_pct = rows
            .last()
            .filter(|prev| prev.month == month - 1 && prev.revenue != 0.0 && !prev.partial && !partial)
            .map(|prev| (m.revenue - prev.revenue) / prev.revenue.abs() * 100.0);
        rows.push(MonthRow {
            month,
            revenue: m.revenue,
            growth_pct,
            partial,
            placed_orders: m.placed_orders,
            cancelled_orders: m.cancelled_orders,
            active_customers: m.active_customers,
            new_customers,
            returning_customers: m.active_customers - new_customers,
        });
    }
    rows
}

fn order_values(lf: LazyFrame) -> PolarsResult<Vec<f64>> {
    let df = lf.filter(not_cancelled()).group_by([col(col::INVOICE)]).agg([col(col::VALUE).sum()]).collect()?;
    Ok(df.column(col::VALUE)?.f64()?.into_no_null_iter().collect())
}

/// The `limit` values of `key` by revenue of non-cancelled lines, with one more aggregate
/// named "count".
fn top_by_revenue(lf: LazyFrame, key: &str, count: Expr, limit: u32) -> PolarsResult<DataFrame> {
    lf.filter(not_cancelled())
        .group_by([col(key)])
        .agg([col(col::VALUE).sum().alias("revenue"), count.alias("count")])
        .sort(["revenue"], SortMultipleOptions::default().with_order_descending(true))
        .limit(limit)
        .collect()
}

/// Rows of a [`top_by_revenue`] frame, named through `name_of(code)` → (name, detail).
fn ranked(df: &DataFrame, key: &str, name_of: impl Fn(u32) -> Option<(String, String)>) -> PolarsResult<Vec<Ranked>> {
    let codes = df.column(key)?.u32()?;
    (0..df.height())
        .map(|i| {
            let (name, detail) = codes.get(i).and_then(&name_of).unwrap_or_default();
            Ok(Ranked { name, detail, revenue: number(df, "revenue", i)?, count: number(df, "count", i)? as i64 })
        })
        .collect()
}

fn top_countries(frame: &OrderFrame, lf: LazyFrame) -> PolarsResult<Vec<Ranked>> {
    let df = top_by_revenue(lf, col::COUNTRY, col(col::INVOICE).n_unique(), TOP_N)?;
    ranked(&df, col::COUNTRY, |c| Some((frame.countries.get(c as usize)?.clone(), String::new())))
}

fn top_products(frame: &OrderFrame, lf: LazyFrame) -> PolarsResult<Vec<Ranked>> {
    let df = top_by_revenue(lf, col::PRODUCT, col(col::QUANTITY).sum(), TOP_PRODUCTS_FETCHED)?;
    ranked(&df, col::PRODUCT, |c| frame.products.get(c as usize).cloned())
}

/// The monthly figures as a table (header, rows) for CSV: the panel's export and `shoplens overview`.
pub fn months_table(result: &OverviewResult) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "month",
        "revenue",
        "growth_pct",
        "placed_orders",
        "cancelled_orders",
        "active_customers",
        "new_customers",
        "returning_customers",
        "partial",
    ];
    let rows = result
        .months
        .iter()
        .map(|m| {
            vec![
                m.label(),
                format!("{:.2}", m.revenue),
                m.growth_pct.map_or(String::new(), |g| format!("{g:.2}")),
                m.placed_orders.to_string(),
                m.cancelled_orders.to_string(),
                m.active_customers.to_string(),
                m.new_customers.to_string(),
                m.returning_customers.to_string(),
                m.partial.to_string(),
            ]
        })
        .collect();
    (header.iter().map(|s| s.to_string()).collect(), rows)
}

/// A top-N table (header, rows) for CSV.
pub fn ranked_table(rows: &[Ranked], names: [&str; 4]) -> (Vec<String>, Vec<Vec<String>>) {
    let rows = rows.iter().map(|r| vec![r.name.clone(), r.detail.clone(), format!("{:.2}", r.revenue), r.count.to_string()]).collect();
    (names.iter().map(|s| s.to_string()).collect(), rows)
}

/// A histogram bin: `[low, high)` and how many values fell in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    pub count: u64,
}

/// Equal-width bins over the values, or equal-width in log10 when `log` is set (then values
/// ≤ 0 cannot be placed and are returned as the second element).
pub fn histogram(values: &[f64], bins: usize, log: bool) -> (Vec<Bin>, u64) {
    let usable: Vec<f64> = if log { values.iter().filter(|v| **v > 0.0).map(|v| v.log10()).collect() } else { values.to_vec() };
    let skipped = (values.len() - usable.len()) as u64;
    let (Some(min), Some(max)) = (usable.iter().copied().reduce(f64::min), usable.iter().copied().reduce(f64::max)) else {
        return (Vec::new(), skipped);
    };
    let bins = bins.max(1);
    let width = if max > min { (max - min) / bins as f64 } else { 1.0 };
    let mut counts = vec![0u64; bins];
    for v in &usable {
        let i = (((v - min) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let edge = |x: f64| if log { 10f64.powf(x) } else { x };
    let bins = counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Bin { low: edge(min + i as f64 * width), high: edge(min + (i + 1) as f64 * width), count })
        .collect();
    (bins, skipped)
}

#[cfg(test)]
mod tests {
    #[test]
    fn service_codes_are_told_from_products() {
        for code in
            ["POST", "DOT", "M", "m", "C2", "BANK CHARGES", "AMAZONFEE", "ADJUST2", "TEST001", "gift_0001_20", "CRUK", "PADS", "D", "S"]
        {
            assert!(super::is_service_code(code), "{code}");
        }
        for code in ["85123A", "22423", "47566", "DCGS0058", "84879", "15056BL"] {
            assert!(!super::is_service_code(code), "{code}");
        }
    }

    use super::*;

    #[test]
    fn histogram_counts_every_value_once() {
        let (bins, skipped) = histogram(&[1.0, 2.0, 3.0, 4.0, -1.0], 2, false);
        assert_eq!(skipped, 0);
        assert_eq!(bins.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 3]);
        let (bins, skipped) = histogram(&[1.0, 10.0, 100.0, 0.0], 2, true);
        assert_eq!(skipped, 1);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 3);
        assert!((bins[0].low - 1.0).abs() < 1e-9 && (bins[1].high - 100.0).abs() < 1e-9);
    }

    #[test]
    fn kpi_change_is_relative_to_the_previous_period() {
        assert_eq!(Kpi { current: 150.0, previous: Some(100.0) }.change_pct(), Some(50.0));
        assert_eq!(Kpi { current: 1.0, previous: Some(0.0) }.change_pct(), None);
        assert_eq!(Kpi { current: 1.0, previous: None }.change_pct(), None);
    }
}
