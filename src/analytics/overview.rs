//! The Overview: KPIs with their change against the previous period ([`Comparison`]), monthly
//! sales and growth, placed vs cancelled orders, active / new / returning customers, order value
//! distribution, top countries and products.
//!
//! Definitions (also shown in the panel's hover text):
//! - revenue = Σ quantity × unit price over lines of non-cancelled invoices;
//! - an order is a distinct non-cancelled invoice, except *adjustments*: invoices worth 0 or
//!   less (rounded to cents) with no customer on any of their lines in the period, such as the
//!   UCI data's stock write-offs and bad-debt entries. They keep their value in revenue but are
//!   not orders, so they are left out of orders, average order value (the mean value of the
//!   orders), the cancellation rate, the order values and the orders per country, and named in a
//!   note instead;
//! - a cancellation is a distinct invoice the import's cancellation rule marked (the quality
//!   report names the rule); the cancellation rate is cancellations over orders and
//!   cancellations;
//! - a customer is *new* in the month of their first non-cancelled invoice in the data and
//!   *returning* in later months; lines without a customer id count in sales, not in customer
//!   metrics.

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use super::customers::LineView;
use super::order_frame::{month_start, OrderFrame};
use super::sum::Sum;
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

/// Invoices that are adjustments, not orders (see the module's definitions).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Adjustments {
    pub invoices: u64,
    /// Their value (0 or less), which stays in revenue.
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverviewResult {
    /// The days covered (inclusive), after applying the filters to the data's span.
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub previous_period: Option<(NaiveDate, NaiveDate)>,
    pub kpis: Kpis,
    /// The period's adjustments, left out of the orders.
    pub adjustments: Adjustments,
    /// The currency the money is in (`None`: the import did not say), and the order lines left
    /// out because their money is in another.
    pub currency: Option<String>,
    pub lines_in_other_currencies: u64,
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

/// Whether an invoice of this value and without any customer is an adjustment, not an order
/// (see the module's definitions): its value rounded to cents is 0 or less.
pub fn is_adjustment(value: f64, with_customer: bool) -> bool {
    !with_customer && (value * 100.0).round() <= 0.0
}

fn kpis(current: PeriodTotals, previous: Option<PeriodTotals>) -> Kpis {
    let aov = |t: &PeriodTotals| if t.orders > 0 { (t.revenue - t.adjustment_value) / t.orders as f64 } else { 0.0 };
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

/// The Overview for `filters`: one pass over the lines (see [`tally`]), then [`assemble`].
/// Cancelling (the filters changed again) stops the pass.
pub fn compute(frame: &OrderFrame, filters: &Filters, ctx: &JobContext) -> Result<OverviewResult, OverviewError> {
    let (period, previous_period) = periods(frame.date_span(), filters);
    let Some(days) = period else { return Ok(empty()) };
    let country = filters.country.as_deref().map(|name| frame.country_code(name));
    let mut result = assemble(tally(frame, days, previous_period, (country, &filters.currency), ctx)?);
    let (currency, other) = frame.money_currency(filters);
    result.currency = currency;
    result.lines_in_other_currencies = other;
    Ok(result)
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
    /// Every non-cancelled line, adjustments included.
    pub revenue: f64,
    /// Non-cancelled invoices that are not adjustments.
    pub orders: u64,
    pub customers: u64,
    pub cancelled_invoices: u64,
    /// Orders and cancelled invoices.
    pub invoices: u64,
    /// Adjustments: how many, and their value (part of `revenue`).
    pub adjustments: u64,
    pub adjustment_value: f64,
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

/// What a period is compared with: whole calendar months with the same number of whole months
/// before (November with all of October, a quarter with the quarter before, a year with the
/// year before), any other range with the same number of days before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Months(u32),
    Days(u64),
}

impl Comparison {
    /// How `period` is compared (see the type).
    pub fn of(period: Days) -> Self {
        let (from, to) = period;
        let ends_a_month = to.succ_opt().is_none_or(|next| next.day() == 1);
        if from.day() == 1 && ends_a_month {
            let months = (to.year() * 12 + to.month() as i32) - (from.year() * 12 + from.month() as i32) + 1;
            Comparison::Months(months as u32)
        } else {
            Comparison::Days((to - from).num_days() as u64 + 1)
        }
    }

    /// The period before `period` it is compared with.
    pub fn before(self, period: Days) -> Option<Days> {
        let end = period.0.pred_opt()?;
        let start = match self {
            Comparison::Months(n) => period.0.checked_sub_months(chrono::Months::new(n))?,
            Comparison::Days(n) => period.0.checked_sub_days(chrono::Days::new(n))?,
        };
        Some((start, end))
    }

    /// "the month before", "the 3 months before", "the 30 days before", for captions.
    pub fn describe(self) -> String {
        match self {
            Comparison::Months(1) => "the month before".into(),
            Comparison::Months(12) => "the year before".into(),
            Comparison::Months(n) => format!("the {n} months before"),
            Comparison::Days(1) => "the day before".into(),
            Comparison::Days(n) => format!("the {n} days before"),
        }
    }
}

/// The period the filters choose inside the data's `span` (first and last day), and the period
/// before it ([`Comparison`]) when the data covers it at least in part.
pub fn periods(span: Option<(NaiveDate, NaiveDate)>, filters: &Filters) -> (Option<Days>, Option<Days>) {
    let period = span.map(|(first, last)| (filters.from.unwrap_or(first).max(first), filters.to.unwrap_or(last).min(last)));
    let period = period.filter(|(from, to)| from <= to);
    let previous_period = match (period, span) {
        // Only compare with a period the data covers at least in part.
        (Some(period), Some((first, _))) => Comparison::of(period).before(period).filter(|(_, end)| *end >= first),
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
        adjustments: Adjustments::default(),
        currency: None,
        lines_in_other_currencies: 0,
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
        adjustments: Adjustments { invoices: current.adjustments, value: current.adjustment_value },
        currency: None,
        lines_in_other_currencies: 0,
        kpis: kpis(current, previous),
        months: month_rows(&months, &new_by_month, period),
        order_values,
        top_countries,
        top_products: products,
        top_products_with_services: top_products.into_iter().take(TOP_N as usize).collect(),
        services,
    }
}

/// What an invoice or customer did in the two periods (bit flags).
const CURRENT_PLACED: u8 = 1;
const CURRENT_CANCELLED: u8 = 2;
const PREVIOUS_PLACED: u8 = 4;
const PREVIOUS_CANCELLED: u8 = 8;
/// A line of the invoice in the period has a customer (an invoice without one may be an
/// adjustment).
const CURRENT_WITH_CUSTOMER: u8 = 16;
const PREVIOUS_WITH_CUSTOMER: u8 = 32;

/// A month of the period being tallied.
struct MonthTally {
    month: i32,
    revenue: Sum,
    /// Invoices placed in the month, adjustments included until [`PartTally::close_month`].
    placed: u64,
    cancelled: u64,
    active: u64,
}

/// Rows between progress reports and cancel checks.
const CHECK_EVERY: usize = 1 << 20;

/// What one part of the lines adds up to (see [`tally`]).
struct PartTally {
    invoice_flags: Vec<u8>,
    customer_flags: Vec<u8>,
    /// The month each invoice (placed, cancelled) and customer was last counted in.
    placed_month: Vec<i32>,
    cancelled_month: Vec<i32>,
    active_month: Vec<i32>,
    first_month: Vec<i32>,
    invoice_value: Vec<f64>,
    previous_invoice_value: Vec<f64>,
    /// The current month's value of each invoice placed in it, whether one of its lines there
    /// has a customer, and the invoices placed in it: a month's adjustments are known when it
    /// closes.
    month_value: Vec<f64>,
    month_with_customer: Vec<bool>,
    month_invoices: Vec<u32>,
    country_revenue: Vec<Sum>,
    invoice_country: Vec<u32>,
    other_countries: std::collections::HashSet<(u32, u32)>,
    product_revenue: Vec<Sum>,
    product_quantity: Vec<i64>,
    product_sold: Vec<bool>,
    revenue: Sum,
    previous_revenue: Sum,
    months: Vec<MonthTally>,
}

impl PartTally {
    fn new(frame: &OrderFrame) -> Self {
        let (invoices, customers, products) = (frame.invoices.len(), frame.customers.len(), frame.products.len());
        Self {
            invoice_flags: vec![0; invoices],
            customer_flags: vec![0; customers],
            placed_month: vec![i32::MIN; invoices],
            cancelled_month: vec![i32::MIN; invoices],
            active_month: vec![i32::MIN; customers],
            first_month: vec![i32::MAX; customers],
            invoice_value: vec![0.0; invoices],
            previous_invoice_value: vec![0.0; invoices],
            month_value: vec![0.0; invoices],
            month_with_customer: vec![false; invoices],
            month_invoices: Vec::new(),
            country_revenue: vec![Sum::default(); frame.countries.len()],
            invoice_country: vec![u32::MAX; invoices],
            other_countries: Default::default(),
            product_revenue: vec![Sum::default(); products],
            product_quantity: vec![0; products],
            product_sold: vec![false; products],
            revenue: Sum::default(),
            previous_revenue: Sum::default(),
            months: Vec::new(),
        }
    }

    /// Adds lines `rows` (whole months: see [`month_parts`]); `current` and `previous` are
    /// the periods' `[start, end)` in seconds.
    fn count(
        &mut self,
        lines: &LineView<'_>,
        rows: std::ops::Range<usize>,
        (start, end): (i64, i64),
        (previous_start, previous_end): (i64, i64),
        country: Option<u32>,
        ctx: &JobContext,
    ) -> Result<(), crate::jobs::Cancelled> {
        for i in rows {
            if i % CHECK_EVERY == 0 {
                ctx.check()?;
            }
            let line_country = lines.country[i];
            if country.is_some_and(|c| c != line_country) || !lines.in_currency(i) {
                continue;
            }
            let (cancelled, customer, month, time) = (lines.is_cancelled(i), lines.customer_of(i), lines.month[i], lines.time[i]);
            let invoice = lines.invoice[i] as usize;
            if let Some(c) = customer.filter(|_| !cancelled) {
                let first = &mut self.first_month[c as usize];
                *first = (*first).min(month);
            }
            if time >= start && time < end {
                if self.months.last().is_none_or(|m| m.month != month) {
                    self.close_month();
                    self.months.push(MonthTally { month, revenue: Sum::default(), placed: 0, cancelled: 0, active: 0 });
                }
                let tally = self.months.last_mut().expect("pushed above");
                if cancelled {
                    self.invoice_flags[invoice] |= CURRENT_CANCELLED;
                    if std::mem::replace(&mut self.cancelled_month[invoice], month) != month {
                        tally.cancelled += 1;
                    }
                    continue;
                }
                let value = lines.value[i];
                self.revenue.add(value);
                tally.revenue.add(value);
                self.invoice_flags[invoice] |= CURRENT_PLACED;
                if std::mem::replace(&mut self.placed_month[invoice], month) != month {
                    tally.placed += 1;
                    self.month_invoices.push(invoice as u32);
                }
                self.month_value[invoice] += value;
                if let Some(c) = customer {
                    self.invoice_flags[invoice] |= CURRENT_WITH_CUSTOMER;
                    self.month_with_customer[invoice] = true;
                    self.customer_flags[c as usize] |= CURRENT_PLACED;
                    if std::mem::replace(&mut self.active_month[c as usize], month) != month {
                        tally.active += 1;
                    }
                }
                self.invoice_value[invoice] += value;
                self.country_revenue[line_country as usize].add(value);
                match self.invoice_country[invoice] {
                    u32::MAX => self.invoice_country[invoice] = line_country,
                    first if first != line_country => {
                        self.other_countries.insert((line_country, invoice as u32));
                    }
                    _ => {}
                }
                let product = lines.product[i] as usize;
                self.product_revenue[product].add(value);
                self.product_quantity[product] += lines.quantity[i];
                self.product_sold[product] = true;
            } else if time >= previous_start && time < previous_end {
                if cancelled {
                    self.invoice_flags[invoice] |= PREVIOUS_CANCELLED;
                } else {
                    self.previous_revenue.add(lines.value[i]);
                    self.previous_invoice_value[invoice] += lines.value[i];
                    self.invoice_flags[invoice] |= PREVIOUS_PLACED;
                    if let Some(c) = customer {
                        self.invoice_flags[invoice] |= PREVIOUS_WITH_CUSTOMER;
                        self.customer_flags[c as usize] |= PREVIOUS_PLACED;
                    }
                }
            }
        }
        self.close_month();
        Ok(())
    }

    /// Takes the adjustments placed in the last month tallied out of its placed orders (their
    /// month value is complete: the lines are in month order and a part holds whole months).
    fn close_month(&mut self) {
        let Some(tally) = self.months.last_mut() else { return };
        for invoice in self.month_invoices.drain(..) {
            let i = invoice as usize;
            if is_adjustment(self.month_value[i], self.month_with_customer[i]) {
                tally.placed -= 1;
            }
            self.month_value[i] = 0.0;
            self.month_with_customer[i] = false;
        }
    }

    /// Adds a later part's tally (its months follow this part's).
    fn merge(&mut self, other: PartTally) {
        let or = |a: &mut [u8], b: &[u8]| a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
        or(&mut self.invoice_flags, &other.invoice_flags);
        or(&mut self.customer_flags, &other.customer_flags);
        self.first_month.iter_mut().zip(&other.first_month).for_each(|(x, y)| *x = (*x).min(*y));
        self.invoice_value.iter_mut().zip(&other.invoice_value).for_each(|(x, y)| *x += y);
        self.previous_invoice_value.iter_mut().zip(&other.previous_invoice_value).for_each(|(x, y)| *x += y);
        self.country_revenue.iter_mut().zip(&other.country_revenue).for_each(|(x, y)| x.merge(*y));
        self.product_revenue.iter_mut().zip(&other.product_revenue).for_each(|(x, y)| x.merge(*y));
        self.product_quantity.iter_mut().zip(&other.product_quantity).for_each(|(x, y)| *x += y);
        self.product_sold.iter_mut().zip(&other.product_sold).for_each(|(x, y)| *x |= y);
        for (invoice, (mine, &theirs)) in self.invoice_country.iter_mut().zip(&other.invoice_country).enumerate() {
            if *mine == u32::MAX {
                *mine = theirs;
            } else if theirs != u32::MAX && theirs != *mine {
                self.other_countries.insert((theirs, invoice as u32));
            }
        }
        self.other_countries.extend(other.other_countries);
        self.revenue.merge(other.revenue);
        self.previous_revenue.merge(other.previous_revenue);
        self.months.extend(other.months);
    }
}

/// Splits the lines into one part per worker thread, each part whole months (the frame is in
/// month order), so a month's distinct counts are counted within one part.
fn month_parts(month: &[i32]) -> Vec<usize> {
    let parts = crate::jobs::worker_threads().clamp(1, 16);
    let mut bounds = vec![0];
    for k in 1..parts {
        let mut at = (month.len() * k / parts).max(*bounds.last().unwrap_or(&0));
        while at > 0 && at < month.len() && month[at] == month[at - 1] {
            at += 1;
        }
        bounds.push(at);
    }
    bounds.push(month.len());
    bounds
}

/// Every aggregate of the Overview in one pass over the lines (in parallel, by whole months),
/// into arrays indexed by dictionary code (nothing is hashed per line).
///
/// Distinct counts: a period's are flags per invoice and customer, counted at the end. A
/// month's use the frame's month order: a code whose last month seen is not this one is new
/// to this month. Orders per country: each invoice's first country, plus the rare (country,
/// invoice) pairs of an invoice seen in another country. New customers: the month of each
/// customer's first purchase over all dates (in the chosen country).
fn tally(
    frame: &OrderFrame,
    period: Days,
    previous_period: Option<Days>,
    (country, currency): (Option<u32>, &Option<String>),
    ctx: &JobContext,
) -> Result<OverviewAggregates, OverviewError> {
    // The period and country are the tally's own; the currency is the filters'.
    let lines = LineView::new(frame, &Filters { currency: currency.clone(), ..Filters::default() })?;
    let in_days = |days: Option<Days>| match days {
        Some((from, to)) => super::customers::day_bounds(Some(from), Some(to)),
        None => (i64::MAX, i64::MIN),
    };
    let (current, previous) = (in_days(Some(period)), in_days(previous_period));
    let bounds = month_parts(lines.month);
    ctx.set_total(lines.len() as u64);
    let parts = crate::jobs::parallel_ranges(bounds.len() - 1, |parts| -> Result<Vec<PartTally>, crate::jobs::Cancelled> {
        parts
            .map(|p| {
                let mut part = PartTally::new(frame);
                part.count(&lines, bounds[p]..bounds[p + 1], current, previous, country, ctx)?;
                Ok(part)
            })
            .collect()
    });
    let mut all: Option<PartTally> = None;
    for part in parts {
        for part in part? {
            match all.as_mut() {
                None => all = Some(part),
                Some(all) => all.merge(part),
            }
        }
    }
    let all = all.unwrap_or_else(|| PartTally::new(frame));
    ctx.set_done(lines.len() as u64);
    let count = |flags: &[u8], mask: u8| flags.iter().filter(|&&f| f & mask != 0).count() as u64;
    // Which placed invoices of each period are adjustments.
    let adjustment = |values: &[f64], placed: u8, with_customer: u8| -> Vec<bool> {
        values.iter().zip(&all.invoice_flags).map(|(&v, &f)| f & placed != 0 && is_adjustment(v, f & with_customer != 0)).collect()
    };
    let current_adjustments = adjustment(&all.invoice_value, CURRENT_PLACED, CURRENT_WITH_CUSTOMER);
    let previous_adjustments = adjustment(&all.previous_invoice_value, PREVIOUS_PLACED, PREVIOUS_WITH_CUSTOMER);
    let totals = |revenue: Sum, placed: u8, cancelled: u8, adjustments: &[bool], values: &[f64]| {
        let (mut n, mut value) = (0u64, Sum::default());
        for (_, v) in adjustments.iter().zip(values).filter(|(a, _)| **a) {
            n += 1;
            value.add(*v);
        }
        let cancelled_invoices = count(&all.invoice_flags, cancelled);
        let orders = count(&all.invoice_flags, placed) - n;
        PeriodTotals {
            revenue: revenue.value(),
            orders,
            customers: count(&all.customer_flags, placed),
            cancelled_invoices,
            invoices: count(&all.invoice_flags, placed | cancelled) - n,
            adjustments: n,
            adjustment_value: value.value(),
        }
    };
    let mut new_by_month = std::collections::HashMap::new();
    for &month in all.first_month.iter().filter(|&&m| m != i32::MAX) {
        *new_by_month.entry(month).or_insert(0u64) += 1;
    }
    // Countries with a placed invoice are ranked; their orders leave adjustments out.
    let (mut country_orders, mut country_placed) = (vec![0i64; frame.countries.len()], vec![false; frame.countries.len()]);
    let mut place = |c: u32, invoice: usize| {
        country_placed[c as usize] = true;
        country_orders[c as usize] += !current_adjustments[invoice] as i64;
    };
    for (invoice, &c) in all.invoice_country.iter().enumerate().filter(|(_, &c)| c != u32::MAX) {
        place(c, invoice);
    }
    for &(c, invoice) in &all.other_countries {
        if all.invoice_country[invoice as usize] != c {
            place(c, invoice as usize);
        }
    }
    let top_countries = top(country_placed.iter().copied(), &all.country_revenue, TOP_N, |c| Ranked {
        name: frame.countries[c].clone(),
        detail: String::new(),
        revenue: all.country_revenue[c].value(),
        count: country_orders[c],
    });
    let top_products = top(all.product_sold.iter().copied(), &all.product_revenue, TOP_PRODUCTS_FETCHED, |p| {
        let (name, detail) = frame.products[p].clone();
        Ranked { name, detail, revenue: all.product_revenue[p].value(), count: all.product_quantity[p] }
    });
    Ok(OverviewAggregates {
        period,
        previous_period,
        current: totals(all.revenue, CURRENT_PLACED, CURRENT_CANCELLED, &current_adjustments, &all.invoice_value),
        previous: previous_period
            .map(|_| totals(all.previous_revenue, PREVIOUS_PLACED, PREVIOUS_CANCELLED, &previous_adjustments, &all.previous_invoice_value)),
        months: all
            .months
            .iter()
            .map(|m| MonthTotals {
                month: m.month,
                revenue: m.revenue.value(),
                placed_orders: m.placed,
                cancelled_orders: m.cancelled,
                active_customers: m.active,
            })
            .collect(),
        new_by_month,
        order_values: all
            .invoice_value
            .iter()
            .zip(&all.invoice_flags)
            .zip(&current_adjustments)
            .filter(|((_, &f), &adjustment)| f & CURRENT_PLACED != 0 && !adjustment)
            .map(|((&v, _), _)| v)
            .collect(),
        top_countries,
        top_products,
    })
}

/// The `limit` codes with the most revenue among those `present`, most first (ties by code),
/// made into rows.
fn top(present: impl Iterator<Item = bool>, revenue: &[Sum], limit: u32, row: impl Fn(usize) -> Ranked) -> Vec<Ranked> {
    let mut codes: Vec<usize> = present.enumerate().filter(|(_, p)| *p).map(|(code, _)| code).collect();
    codes.sort_by(|&a, &b| revenue[b].value().total_cmp(&revenue[a].value()).then(a.cmp(&b)));
    codes.into_iter().take(limit as usize).map(row).collect()
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

    /// Hand-checked against the calendar: a whole month is compared with the whole month
    /// before (November with 1-31 October, not 2-31), a quarter with the quarter before, a
    /// year with the year before, and any other range with as many days before it.
    #[test]
    fn a_whole_month_is_compared_with_the_whole_month_before() {
        let d = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        let span = Some((d("2009-01-01"), d("2010-12-09")));
        let previous = |from: &str, to: &str| {
            let filters = Filters { from: Some(d(from)), to: Some(d(to)), ..Filters::default() };
            let (period, previous) = periods(span, &filters);
            (Comparison::of(period.unwrap()), previous.map(|(a, b)| (a.to_string(), b.to_string())))
        };
        let days = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(previous("2010-11-01", "2010-11-30"), (Comparison::Months(1), days("2010-10-01", "2010-10-31")));
        assert_eq!(previous("2010-03-01", "2010-03-31"), (Comparison::Months(1), days("2010-02-01", "2010-02-28")));
        assert_eq!(previous("2010-09-01", "2010-11-30"), (Comparison::Months(3), days("2010-06-01", "2010-08-31")));
        // The data ends 2010-12-09: the year is cut there, so it is compared day for day.
        assert_eq!(previous("2010-01-01", "2010-12-31"), (Comparison::Days(343), days("2009-01-23", "2009-12-31")));
        assert_eq!(previous("2010-11-10", "2010-11-16"), (Comparison::Days(7), days("2010-11-03", "2010-11-09")));
        let year = periods(
            Some((d("2008-01-01"), d("2010-12-31"))),
            &Filters { from: Some(d("2010-01-01")), to: Some(d("2010-12-31")), ..Filters::default() },
        );
        assert_eq!(year.1, Some((d("2009-01-01"), d("2009-12-31"))));
        assert_eq!(Comparison::Months(12).describe(), "the year before");
        assert_eq!(Comparison::Months(1).describe(), "the month before");
    }
}
