//! Findings: what changed between the chosen period and the one before it, why, and how sure.
//!
//! The period is the filters' days; the one before it follows the Overview's calendar rule
//! ([`Comparison`]: a whole month against the whole month before, other ranges day for day).
//! Figures use the Overview's definitions (revenue counts every non-cancelled line; an order is a
//! non-cancelled invoice that is not an adjustment; average order value is the orders' value over
//! the orders).
//!
//! Kinds of finding, each with the test that keeps noise out:
//!
//! - **Drivers and detractors** of the change in revenue (by country, product, the catalogue's
//!   category where there is a catalogue, and new vs returning customers), orders and customers (by country and new vs returning) and average
//!   order value (by country and new vs returning). A group's contribution is its own change, so
//!   the contributions of a dimension add up to the total change. Average order value, a ratio,
//!   is split shift-share: with `w` a group's share of the orders and `a` its average order value,
//!   `ΔAOV = Σ w̄·Δa (rate) + Σ Δw·ā (mix)`, bars meaning the two periods' mean; a group present in
//!   one period only is all mix. A *driver* moved the same way as the total, a *detractor* against it.
//!   Tests: revenue, a compound Poisson test of the revenue a day ([`compound_poisson_test`]); orders
//!   and customers, the exact conditional test of two Poisson counts (a binomial on the current
//!   count out of both, the days of each period as the expected split); average order value,
//!   Welch's t on the group's order values. Only groups carrying at least [`FindingsSettings::min_share`]
//!   of the change are tested, at most [`CANDIDATES_PER_DIMENSION`] a dimension.
//! - **Concentration**: the share of the period's revenue the top 10 products, the top tenth of
//!   customers and the top 3 countries carry, against the period before. Descriptive (every line
//!   of both periods is counted, nothing sampled): shown when the share moved by at least
//!   [`FindingsSettings::concentration_points`].
//! - **Unexpected days**: daily revenue and orders against what the weekday and trend predict:
//!   least squares of the day's figure on weekday and a straight line over the period and the
//!   [`TREND_WINDOW_DAYS`] days before it, each residual over a robust spread (1.4826 × the
//!   residuals' median absolute deviation); a day of the period at least
//!   [`FindingsSettings::unexpected_z`] spreads from its prediction is unexpected (the
//!   Iglewicz–Hoaglin rule for outliers).
//! - **Trend changes**: the Mann–Kendall test on the monthly revenue of the whole months up to the
//!   period's end (at least [`MIN_TREND_MONTHS`], at most [`MAX_TREND_MONTHS`]), with Sen's
//!   slope as the size.
//! - **Customers on the move**: customers whose RFM segment (as of the day before the period and
//!   as of its last day) changed, by move; a move is a finding when more customers made it this
//!   period than usual over up to [`SEGMENT_HISTORY`] periods before ([`more_than_usual`]).
//!
//! - **Funnel changes** (when the workspace holds web events): sessions going from view to cart
//!   and from cart to purchase, overall and by top-level category, tested by the two-proportion
//!   z test ([`two_proportion_test`]).
//!
//! - **Market moves** (when the workspace holds competitor prices): our price index against the
//!   market, by category and against each competitor, at the end of each period, tested by the
//!   paired t test over the products compared both times ([`paired_t_test`]); a move under
//!   [`MIN_INDEX_POINTS`] is not tested.
//!
//! - **Supply changes** (when the workspace holds dated marketplace listings): categories whose
//!   demand a day per listing on sale grew, tested as two Poisson rates over listing-days.
//!
//! Every p-value of a period goes through one Benjamini–Hochberg step at
//! [`FindingsSettings::false_discovery_rate`]; the result says how many findings were tested and
//! how many passed. Ranked by what they are worth in money ([`Finding::impact`]).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use linfa_linalg::cholesky::SolveC;
use ndarray::{Array1, Array2, Axis};
use statrs::distribution::{Binomial, ContinuousCDF, Discrete, Normal, StudentsT};

use super::customers::{date_of_day, day_bounds, day_number, LineView};
use super::event_frame::{EventFrame, EventKind};
use super::funnel::{self, FunnelResult, FunnelSettings};
use super::marketplace::{InteractionKind, MarketplaceData};
use super::order_frame::{month_index, month_start, OrderFrame};
use super::overview::{is_adjustment, is_service_code, periods, Comparison, Days};
use super::pricing::{self as prices, PricingData, PricingSettings};
use super::rfm::{self, SegmentGrid};
use super::{Filters, Table};
use crate::jobs::JobContext;
use crate::text::{money_in, number, upper_first};

/// Groups tested per metric and dimension, largest contributions first.
pub const CANDIDATES_PER_DIMENSION: usize = 5;
/// Days before the period the weekday-and-trend model of a day also learns from.
pub const TREND_WINDOW_DAYS: i64 = 56;
/// Whole months the trend test needs, and the most it looks back.
pub const MIN_TREND_MONTHS: usize = 6;
pub const MAX_TREND_MONTHS: usize = 24;
/// Index points a market move must reach to be tested.
pub const MIN_INDEX_POINTS: f64 = 1.0;
/// Periods before the period whose segment moves say what is usual.
pub const SEGMENT_HISTORY: usize = 6;
/// Products and countries the concentration findings count as "the top".
const TOP_PRODUCTS: usize = 10;
const TOP_COUNTRIES: usize = 3;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    Driver,
    Detractor,
    Concentration,
    UnexpectedDay,
    TrendChange,
    SegmentMove,
    FunnelChange,
    MarketMove,
    SupplyChange,
}

impl FindingKind {
    /// The CSV's `kind` (scripts depend on these names).
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::Driver => "driver",
            FindingKind::Detractor => "detractor",
            FindingKind::Concentration => "concentration",
            FindingKind::UnexpectedDay => "unexpected_day",
            FindingKind::TrendChange => "trend_change",
            FindingKind::SegmentMove => "segment_move",
            FindingKind::FunnelChange => "funnel_change",
            FindingKind::MarketMove => "market_move",
            FindingKind::SupplyChange => "supply_change",
        }
    }
}

/// The figure a finding measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Revenue,
    Orders,
    Customers,
    AverageOrderValue,
    /// The share of revenue the top of a dimension carries (a fraction).
    RevenueShare,
    /// A month's revenue change along a trend (Sen's slope).
    MonthlyRevenue,
    /// Customers making a segment move.
    CustomersMoving,
    /// Sessions going on from one funnel step to the next (a fraction).
    ViewToCart,
    CartToPurchase,
    /// Marketplace demand (views, likes, orders) a day per listing on sale.
    DemandPerListing,
    /// Our price against the market's or a competitor's, × 100 (the Pricing panel's index).
    PriceIndex,
}

impl Metric {
    pub fn label(self) -> &'static str {
        match self {
            Metric::Revenue => "revenue",
            Metric::Orders => "orders",
            Metric::Customers => "customers",
            Metric::AverageOrderValue => "average_order_value",
            Metric::RevenueShare => "revenue_share",
            Metric::MonthlyRevenue => "monthly_revenue",
            Metric::CustomersMoving => "customers_moving",
            Metric::ViewToCart => "view_to_cart",
            Metric::CartToPurchase => "cart_to_purchase",
            Metric::PriceIndex => "price_index",
            Metric::DemandPerListing => "demand_per_listing",
        }
    }

    /// In plain words, for sentences.
    fn words(self) -> &'static str {
        match self {
            Metric::Revenue | Metric::MonthlyRevenue => "revenue",
            Metric::Orders => "orders",
            Metric::Customers => "customers",
            Metric::AverageOrderValue => "average order value",
            Metric::RevenueShare => "share of revenue",
            Metric::CustomersMoving => "customers",
            Metric::ViewToCart => "view to cart",
            Metric::CartToPurchase => "cart to purchase",
            Metric::PriceIndex => "price index",
            Metric::DemandPerListing => "demand per listing",
        }
    }

    pub fn is_money(self) -> bool {
        matches!(self, Metric::Revenue | Metric::AverageOrderValue | Metric::MonthlyRevenue)
    }
}

/// The dimension a driver or concentration finding splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Country,
    Product,
    /// New (first purchase in the period) vs returning customers, and lines without a customer.
    CustomerType,
    /// Customers one by one (concentration only).
    Customer,
    /// The web events' top-level category (funnel changes), the catalogue's (market moves).
    Category,
    /// A competitor (market moves).
    Competitor,
}

impl Dimension {
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Country => "country",
            Dimension::Product => "product",
            Dimension::CustomerType => "customer type",
            Dimension::Customer => "customer",
            Dimension::Category => "category",
            Dimension::Competitor => "competitor",
        }
    }
}

/// Why a finding is not noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The test's two-sided p-value, where a test gives one.
    pub p_value: Option<f64>,
    /// The test and its outcome, in a few words ("Welch t = -4.1, p = 0.0003").
    pub text: String,
}

/// A small chart of what a finding is about, drawn by the panel and the slide.
#[derive(Debug, Clone, PartialEq)]
pub enum FindingChart {
    /// The previous and the current figure.
    Pair { previous: f64, current: f64 },
    /// A series (days or months) with the finding's point marked; `expected` is the model's line
    /// where there is one.
    Series { labels: Vec<String>, values: Vec<f64>, expected: Option<Vec<f64>>, marked: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub metric: Metric,
    pub dimension: Option<Dimension>,
    /// The dimension's value (`Germany`), a day (`2011-04-12`), a move (`Champions → At Risk`).
    pub subject: String,
    pub current: f64,
    /// The period before; for an unexpected day, what the model predicted.
    pub previous: f64,
    /// In the metric's units.
    pub change: f64,
    /// A plain fraction of the total change (0.74); drivers only.
    pub share_of_change: Option<f64>,
    pub evidence: Evidence,
    /// What the finding is worth in money, for ranking (always ≥ 0).
    pub impact: f64,
    pub text: String,
    pub chart: FindingChart,
}

/// The four headline figures of a period.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Headline {
    pub revenue: f64,
    pub orders: u64,
    pub customers: u64,
    /// The orders' value over the orders (adjustments left out, as the Overview does).
    pub average_order_value: Option<f64>,
}

/// One group's part of a metric's change, for every group of every dimension looked at (the
/// findings test only the largest). A dimension's contributions add up to the metric's change.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub metric: Metric,
    pub dimension: Dimension,
    pub subject: String,
    /// The group's own figure each period (average order value: the group's own average).
    pub previous: f64,
    pub current: f64,
    /// Its part of the metric's change: current − previous, or for average order value its rate
    /// and mix parts together.
    pub change: f64,
}

/// A headline figure as the cards and the slide show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadlineFigure {
    pub label: &'static str,
    pub value: f64,
    pub is_money: bool,
    /// Against the period before, in percent.
    pub change_pct: Option<f64>,
}

impl Headline {
    /// Revenue, orders, customers and average order value, each with its change against
    /// `previous`.
    pub fn figures(&self, previous: Option<&Headline>) -> [HeadlineFigure; 4] {
        let figure = |label, is_money, value: fn(&Headline) -> f64| HeadlineFigure {
            label,
            value: value(self),
            is_money,
            change_pct: super::overview::Kpi { current: value(self), previous: previous.map(value) }.change_pct(),
        };
        [
            figure("Revenue", true, |h| h.revenue),
            figure("Orders", false, |h| h.orders as f64),
            figure("Customers", false, |h| h.customers as f64),
            figure("Average order value", true, |h| h.average_order_value.unwrap_or(0.0)),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FindingsResult {
    pub period: Option<Days>,
    pub previous_period: Option<Days>,
    pub comparison: Option<Comparison>,
    pub current: Headline,
    pub previous: Option<Headline>,
    /// Passed findings, ranked (largest impact first).
    pub findings: Vec<Finding>,
    /// Every group's contribution to the change of revenue, orders, customers and average order
    /// value, by each dimension.
    pub contributions: Vec<Contribution>,
    /// How many candidate findings were tested, and how many passed.
    pub tested: usize,
    pub passed: usize,
    /// What could not be looked at, and why ("no period before ... in the data").
    pub notes: Vec<String>,
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FindingsSettings {
    /// Benjamini–Hochberg's false discovery rate over the period's tests.
    pub false_discovery_rate: f64,
    /// The smallest share of the total change a group must carry to be tested.
    pub min_share: f64,
    /// Robust spreads from its prediction that make a day unexpected.
    pub unexpected_z: f64,
    /// Percentage points a concentration share must move to be shown.
    pub concentration_points: f64,
    pub grid: SegmentGrid,
}

impl Default for FindingsSettings {
    fn default() -> Self {
        Self { false_discovery_rate: 0.05, min_share: 0.05, unexpected_z: 3.5, concentration_points: 5.0, grid: SegmentGrid::default() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error(transparent)]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("cancelled")]
    Cancelled(#[from] crate::jobs::Cancelled),
}

/// Customer type codes of [`Dimension::CustomerType`].
const NEW: u32 = 0;
const RETURNING: u32 = 1;
const NO_CUSTOMER: u32 = 2;
const CUSTOMER_TYPES: [&str; 3] = ["new customers", "returning customers", "lines without a customer"];

/// One purchase line of either period, as the decompositions need it.
struct PeriodLine {
    current: bool,
    invoice: u32,
    country: u32,
    product: u32,
    /// The catalogue's category of the product ([`NO_CATEGORY`] when it has none).
    category: u32,
    customer: Option<u32>,
    customer_type: u32,
    value: f64,
}

/// A product the catalogue does not place in a category.
const NO_CATEGORY: u32 = u32::MAX;

/// The catalogue's categories (the Pricing catalogue, matched to the order lines' product codes
/// by id), and each order-line product's category among them.
fn catalogue_categories(frame: &OrderFrame, catalogue: Option<&PricingData>) -> (Vec<String>, Vec<u32>) {
    let Some(catalogue) = catalogue else { return (Vec::new(), vec![NO_CATEGORY; frame.products.len()]) };
    let by_id: HashMap<&str, &str> =
        catalogue.products.iter().filter(|p| !p.category.trim().is_empty()).map(|p| (p.id.as_str(), p.category.as_str())).collect();
    let mut names: Vec<String> = Vec::new();
    let mut codes: HashMap<&str, u32> = HashMap::new();
    let of_product = frame
        .products
        .iter()
        .map(|(code, _)| match by_id.get(code.as_str()) {
            Some(category) => *codes.entry(category).or_insert_with(|| {
                names.push(category.to_string());
                names.len() as u32 - 1
            }),
            None => NO_CATEGORY,
        })
        .collect();
    (names, of_product)
}

/// An invoice of either period, from its lines.
struct Invoice {
    current: bool,
    /// Its first line's day.
    day: i64,
    value: f64,
    with_customer: bool,
    /// Its first line's country and customer, and so its customer type.
    country: u32,
    customer: Option<u32>,
    customer_type: u32,
}

/// Daily revenue and invoices from [`TREND_WINDOW_DAYS`] before the period to its end.
struct DailyWindow {
    /// Day number of the first day.
    start: i64,
    period_start: i64,
    /// Days from `start` to the period's end.
    days: usize,
    /// Invoice → (first day, value, has a customer), to count orders as the Overview does.
    invoices: HashMap<u32, (i64, f64, bool)>,
}

/// The days findings look at: the filters' own, or without any, the last full month of the data
/// (findings over all the data would have nothing before them to compare with).
pub fn period_filters(filters: &Filters, span: Option<(NaiveDate, NaiveDate)>) -> Filters {
    match (filters.from, filters.to, span) {
        (None, None, Some((_, last))) => {
            let (from, to) = super::period::DateRange::LastFullMonth.resolve(last);
            Filters { from, to, ..filters.clone() }
        }
        _ => filters.clone(),
    }
}

/// Names a finding across recomputations (a saved view keeps it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FindingKey {
    pub kind: String,
    pub metric: String,
    pub subject: String,
}

impl FindingKey {
    pub fn of(finding: &Finding) -> Self {
        Self { kind: finding.kind.label().into(), metric: finding.metric.label().into(), subject: finding.subject.clone() }
    }
}

/// The findings of `filters`' period against the one before it, from the order lines.
pub fn compute(
    frame: &OrderFrame,
    filters: &Filters,
    settings: &FindingsSettings,
    ctx: &JobContext,
) -> Result<FindingsResult, FindingsError> {
    compute_with(frame, OtherSources::default(), filters, settings, ctx)
}

/// What findings read besides the order lines, where the workspace has it.
#[derive(Clone, Copy, Default)]
pub struct OtherSources<'a> {
    /// The shop's web events: funnel changes.
    pub events: Option<&'a EventFrame>,
    /// Competitor prices and the Pricing panel's settings: market moves.
    pub pricing: Option<(&'a PricingData, &'a PricingSettings)>,
    /// The marketplace's listings, interactions and orders: supply changes.
    pub marketplace: Option<&'a MarketplaceData>,
}

/// As [`compute`], with the funnel's changes and the market's moves from `sources`.
pub fn compute_with(
    frame: &OrderFrame,
    sources: OtherSources<'_>,
    filters: &Filters,
    settings: &FindingsSettings,
    ctx: &JobContext,
) -> Result<FindingsResult, FindingsError> {
    let span = frame.date_span();
    let (period, previous_period) = periods(span, filters);
    let (currency, _) = frame.money_currency(filters);
    let mut result = FindingsResult {
        period,
        previous_period,
        comparison: period.map(Comparison::of),
        current: Headline::default(),
        previous: None,
        findings: Vec::new(),
        contributions: Vec::new(),
        tested: 0,
        passed: 0,
        notes: Vec::new(),
        currency: currency.clone(),
    };
    let (Some(period), Some((first_day, _))) = (period, span) else {
        result.notes.push("no order lines in the chosen days".into());
        return Ok(result);
    };
    let money = |v: f64| money_in(v, currency.as_deref());
    // The lines of every day: new vs returning looks at each customer's whole history.
    let lines = LineView::new(frame, &Filters { from: None, to: None, ..filters.clone() })?;
    let country_filter = filters.country.as_deref().map(|name| frame.country_code(name));
    let counts = |i: usize| !lines.is_cancelled(i) && lines.in_currency(i) && country_filter.is_none_or(|c| lines.country[i] == c);
    ctx.set_total(2 * lines.len() as u64);

    // First purchase day of each customer over all the data: new or returning in a period.
    let mut first_purchase = vec![i64::MAX; frame.customers.len()];
    for i in (0..lines.len()).filter(|&i| counts(i)) {
        if let Some(c) = lines.customer_of(i) {
            let day = day_number(lines.time[i]);
            first_purchase[c as usize] = first_purchase[c as usize].min(day);
        }
    }
    ctx.set_done(lines.len() as u64);
    ctx.check()?;

    let day_of = |d: NaiveDate| day_number(day_bounds(Some(d), None).0);
    let (cur_start, cur_end) = (day_of(period.0), day_of(period.1));
    // The part of the period before that the data covers.
    let previous_days = previous_period.map(|(from, to)| (day_of(from.max(first_day)), day_of(to)));
    let window_start = (cur_start - TREND_WINDOW_DAYS).max(day_of(first_day));
    let (categories, product_category) = catalogue_categories(frame, sources.pricing.map(|(data, _)| data));
    let mut period_lines = Vec::new();
    let mut invoices: HashMap<(bool, u32), Invoice> = HashMap::new();
    let mut window =
        DailyWindow { start: window_start, period_start: cur_start, days: (cur_end - window_start + 1) as usize, invoices: HashMap::new() };
    let mut month_revenue: HashMap<i32, f64> = HashMap::new();
    for i in (0..lines.len()).filter(|&i| counts(i)) {
        let day = day_number(lines.time[i]);
        if day > cur_end {
            continue;
        }
        let value = lines.value[i];
        *month_revenue.entry(lines.month[i]).or_default() += value;
        let customer = lines.customer_of(i);
        if day >= window_start {
            let entry = window.invoices.entry(lines.invoice[i]).or_insert((day, 0.0, false));
            entry.0 = entry.0.min(day);
            entry.1 += value;
            entry.2 |= customer.is_some();
        }
        let (current, start) = match previous_days {
            _ if day >= cur_start => (true, cur_start),
            Some((from, to)) if day >= from && day <= to => (false, from),
            _ => continue,
        };
        let customer_type = match customer {
            None => NO_CUSTOMER,
            Some(c) if first_purchase[c as usize] >= start => NEW,
            Some(_) => RETURNING,
        };
        let country = lines.country[i];
        period_lines.push(PeriodLine {
            current,
            invoice: lines.invoice[i],
            country,
            product: lines.product[i],
            category: product_category[lines.product[i] as usize],
            customer,
            customer_type,
            value,
        });
        let invoice = invoices.entry((current, lines.invoice[i])).or_insert(Invoice {
            current,
            day,
            value: 0.0,
            with_customer: false,
            country,
            customer,
            customer_type,
        });
        invoice.value += value;
        invoice.with_customer |= customer.is_some();
    }
    ctx.set_done(2 * lines.len() as u64);

    let orders: Vec<&Invoice> = invoices.values().filter(|i| !is_adjustment(i.value, i.with_customer)).collect();
    result.current = headline(&period_lines, &invoices, &orders, true);
    result.previous = previous_days.map(|_| headline(&period_lines, &invoices, &orders, false));
    let days = |(from, to): (i64, i64)| (to - from + 1).max(0) as usize;

    let mut candidates: Vec<Candidate> = Vec::new();
    let names = Names { frame, categories: &categories };
    match result.previous {
        Some(previous) => {
            let cx = DriverContext {
                period_lines: &period_lines,
                orders: &orders,
                days: [previous_days.map_or(0, days), days((cur_start, cur_end))],
                names: &names,
                money: &money,
                settings,
            };
            // With one country chosen, "by country" would only repeat the totals. When the period
            // before is the data's first, every customer in it is new: new against returning
            // would compare the start of the data, not the customers.
            let by_country = filters.country.is_none();
            let by_type = previous_days.is_some_and(|(from, _)| from > day_of(first_day));
            if !by_type {
                result.notes.push("the period before starts with the data, where every customer is new: no split by new and returning customers".into());
            }
            let dimensions = |all: &[Dimension]| {
                all.iter().copied().filter(|d| (by_country || *d != Dimension::Country) && (by_type || *d != Dimension::CustomerType)).collect::<Vec<_>>()
            };
            // By the catalogue's category too, where it places the products sold.
            let mut revenue_dimensions = dimensions(&[Dimension::Country, Dimension::Product, Dimension::CustomerType]);
            if !categories.is_empty() {
                revenue_dimensions.push(Dimension::Category);
            }
            for dimension in revenue_dimensions {
                candidates.extend(revenue_drivers(&cx, dimension, result.current.revenue - previous.revenue, &mut result.contributions));
            }
            for dimension in dimensions(&[Dimension::Country, Dimension::CustomerType]) {
                candidates.extend(count_drivers(&cx, dimension, Metric::Orders, &mut result.contributions));
                candidates.extend(count_drivers(&cx, dimension, Metric::Customers, &mut result.contributions));
                candidates.extend(aov_drivers(&cx, dimension, &mut result.contributions));
            }
            candidates.extend(concentration(&cx));
            ctx.check()?;
            if let Some(previous_period) = previous_period {
                candidates.extend(segment_moves(frame, filters, (previous_period, period), &invoices, &cx)?);
            }
        }
        None => result.notes.push(format!(
            "the data starts on {first_day}: there is no period before {} to compare with, so no drivers, detractors, concentration changes or segment moves",
            period.0
        )),
    }
    ctx.check()?;
    match (sources.events.filter(|e| !e.is_empty()), previous_period) {
        // Web events carry no country: a funnel "for Germany" would be every country's.
        (Some(_), Some(_)) if filters.country.is_some() => {
            result.notes.push("web events carry no country, so no funnel changes for one country".into())
        }
        (Some(events), Some(previous_period)) => {
            let value_per_purchase = result.current.average_order_value.unwrap_or(0.0);
            candidates.extend(funnel_changes(events, filters, (previous_period, period), value_per_purchase, ctx)?);
        }
        (Some(_), None) => {}
        (None, _) => result.notes.push("no web events in the workspace, so no funnel changes".into()),
    }
    match (sources.pricing.filter(|(data, _)| !data.observations.is_empty()), previous_period) {
        (Some((data, pricing_settings)), Some(previous_period)) => {
            candidates.extend(market_moves(data, pricing_settings, (previous_period, period), &money));
        }
        (Some(_), None) => {}
        (None, _) => result.notes.push("no competitor prices in the workspace, so no market moves".into()),
    }
    match (sources.marketplace.filter(|m| m.listings.iter().any(|l| l.listed.is_some())), previous_period) {
        (Some(marketplace), Some(previous_period)) => candidates.extend(supply_changes(marketplace, (previous_period, period))),
        (Some(_), None) => {}
        (None, _) => result.notes.push("no dated marketplace listings in the workspace, so no supply changes".into()),
    }
    candidates.extend(unexpected_days(&window, settings, &money));
    let months = whole_months(&month_revenue, first_day, period.1);
    match trend(&months, &money) {
        Some(candidate) => candidates.push(candidate),
        None => result.notes.push(format!(
            "{} whole months of data up to {}: the trend test needs at least {MIN_TREND_MONTHS}",
            months.len(),
            period.1
        )),
    }

    // One false discovery rate over every p-value; threshold rules (days, concentration) pass
    // by their own rule.
    result.tested = candidates.len();
    let p_values: Vec<f64> = candidates.iter().filter_map(|c| c.finding.evidence.p_value).collect();
    let cutoff = benjamini_hochberg_cutoff(&p_values, settings.false_discovery_rate);
    let mut passed: Vec<Finding> = candidates
        .into_iter()
        .filter(|c| match c.finding.evidence.p_value {
            Some(p) => cutoff.is_some_and(|cut| p <= cut),
            None => c.passes_rule,
        })
        .map(|c| c.finding)
        .collect();
    passed.sort_by(|a, b| b.impact.total_cmp(&a.impact).then_with(|| a.subject.cmp(&b.subject)));
    result.passed = passed.len();
    result.findings = passed;
    Ok(result)
}

fn headline(period_lines: &[PeriodLine], invoices: &HashMap<(bool, u32), Invoice>, orders: &[&Invoice], current: bool) -> Headline {
    let revenue: f64 = period_lines.iter().filter(|l| l.current == current).map(|l| l.value).sum();
    let placed: Vec<&&Invoice> = orders.iter().filter(|o| o.current == current).collect();
    let mut customers: Vec<u32> = invoices.values().filter(|i| i.current == current).filter_map(|i| i.customer).collect();
    customers.sort_unstable();
    customers.dedup();
    let n = placed.len() as u64;
    Headline {
        revenue,
        orders: n,
        customers: customers.len() as u64,
        average_order_value: (n > 0).then(|| placed.iter().map(|o| o.value).sum::<f64>() / n as f64),
    }
}

/// A finding before the false discovery step: one with a p-value passes by the step, one
/// without by its own rule.
struct Candidate {
    finding: Finding,
    passes_rule: bool,
}

impl Candidate {
    fn tested(finding: Finding) -> Self {
        Self { finding, passes_rule: false }
    }
}

/// Names of the frame's codes, for sentences.
struct Names<'a> {
    frame: &'a OrderFrame,
    /// The catalogue's categories ([`catalogue_categories`]).
    categories: &'a [String],
}

impl Names<'_> {
    /// How a sentence names the group: a product by its description, then its code.
    fn words(&self, dimension: Dimension, code: u32) -> String {
        match (dimension, self.frame.products.get(code as usize)) {
            (Dimension::Product, Some((code, description))) if !description.trim().is_empty() && description.trim() != code => {
                format!("{} ({code})", description.trim())
            }
            _ => self.of(dimension, code),
        }
    }

    /// The group's value, as the CSV's `subject`: a country, a product code, a customer type.
    fn of(&self, dimension: Dimension, code: u32) -> String {
        match dimension {
            Dimension::Country => self.frame.countries.get(code as usize).cloned().unwrap_or_default(),
            Dimension::Product => self.frame.products.get(code as usize).map(|(code, _)| code.clone()).unwrap_or_default(),
            Dimension::CustomerType => CUSTOMER_TYPES.get(code as usize).copied().unwrap_or_default().to_string(),
            Dimension::Customer => self.frame.customers.get(code as usize).cloned().unwrap_or_default(),
            Dimension::Category => self.categories.get(code as usize).cloned().unwrap_or_else(|| "products without a category".into()),
            // Competitors are named where they are found.
            Dimension::Competitor => String::new(),
        }
    }
}

/// What the driver searches share.
struct DriverContext<'a> {
    period_lines: &'a [PeriodLine],
    orders: &'a [&'a Invoice],
    /// Days of the previous and the current period.
    days: [usize; 2],
    names: &'a Names<'a>,
    money: &'a dyn Fn(f64) -> String,
    settings: &'a FindingsSettings,
}

fn line_group(line: &PeriodLine, dimension: Dimension) -> u32 {
    match dimension {
        Dimension::Country => line.country,
        Dimension::Product => line.product,
        Dimension::CustomerType => line.customer_type,
        Dimension::Customer => line.customer.unwrap_or(u32::MAX),
        Dimension::Category => line.category,
        Dimension::Competitor => u32::MAX,
    }
}

fn order_group(order: &Invoice, dimension: Dimension) -> u32 {
    match dimension {
        Dimension::Country => order.country,
        Dimension::Product => u32::MAX,
        Dimension::CustomerType => order.customer_type,
        Dimension::Customer => order.customer.unwrap_or(u32::MAX),
        Dimension::Category | Dimension::Competitor => u32::MAX,
    }
}

/// A group's figure in the previous and the current period.
type Pair = [f64; 2];

/// Every group's figures, for [`FindingsResult::contributions`].
fn record(all: &mut Vec<Contribution>, cx: &DriverContext<'_>, metric: Metric, dimension: Dimension, by_group: &HashMap<u32, Pair>) {
    let mut groups: Vec<(&u32, &Pair)> = by_group.iter().collect();
    groups.sort_by_key(|(g, _)| **g);
    all.extend(groups.into_iter().map(|(&g, &[previous, current])| Contribution {
        metric,
        dimension,
        subject: cx.names.of(dimension, g),
        previous,
        current,
        change: current - previous,
    }));
}

/// The groups carrying the largest changes, as (group, previous, current, share of `total`):
/// only those carrying at least the minimum share, at most [`CANDIDATES_PER_DIMENSION`].
fn largest_contributions(changes: &HashMap<u32, Pair>, total: f64, min_share: f64) -> Vec<(u32, f64, f64, Option<f64>)> {
    let mut rows: Vec<(u32, f64, f64, Option<f64>)> = changes
        .iter()
        .map(|(&g, &[previous, current])| (g, previous, current, (total != 0.0).then(|| (current - previous) / total)))
        .collect();
    rows.sort_by(|a, b| (b.2 - b.1).abs().total_cmp(&(a.2 - a.1).abs()).then(a.0.cmp(&b.0)));
    rows.into_iter().filter(|r| r.3.is_none_or(|s| s.abs() >= min_share)).take(CANDIDATES_PER_DIMENSION).collect()
}

fn driver_kind(change: f64, total: f64) -> FindingKind {
    if total == 0.0 || change.signum() == total.signum() {
        FindingKind::Driver
    } else {
        FindingKind::Detractor
    }
}

fn percent(fraction: f64) -> String {
    format!("{}%", number(fraction * 100.0, 0))
}

fn rose_or_fell(change: f64) -> &'static str {
    if change >= 0.0 {
        "rose"
    } else {
        "fell"
    }
}

/// "74% of the fall in revenue" or "offsetting 13% of the rise in revenue".
fn share_words(share: Option<f64>, total: f64, metric: Metric) -> String {
    let movement = if total >= 0.0 { "rise" } else { "fall" };
    match share {
        // More than the whole change: the other groups moved the other way.
        Some(s) if s > 1.0 => format!("more than the whole {movement} in {} ({})", metric.words(), percent(s)),
        Some(s) if s >= 0.0 => format!("{} of the {movement} in {}", percent(s), metric.words()),
        Some(s) if s < -1.0 => format!("against a {movement} in {} overall", metric.words()),
        Some(s) => format!("offsetting {} of the {movement} in {}", percent(-s), metric.words()),
        None => format!("while {} overall did not change", metric.words()),
    }
}

/// "+12%", "-40%", or "from none".
fn relative(previous: f64, current: f64) -> String {
    if previous == 0.0 {
        "from none".into()
    } else {
        let r = (current - previous) / previous.abs();
        format!("{}{}", if r >= 0.0 { "+" } else { "" }, percent(r))
    }
}

fn signed_money(v: f64, money: &dyn Fn(f64) -> String) -> String {
    format!("{}{}", if v >= 0.0 { "+" } else { "-" }, money(v.abs()))
}

/// Revenue by `dimension`: each group's change, tested by the compound Poisson test of its
/// revenue a day.
fn revenue_drivers(cx: &DriverContext<'_>, dimension: Dimension, total: f64, all: &mut Vec<Contribution>) -> Vec<Candidate> {
    let mut by_group: HashMap<u32, Pair> = HashMap::new();
    for line in cx.period_lines {
        by_group.entry(line_group(line, dimension)).or_default()[line.current as usize] += line.value;
    }
    record(all, cx, Metric::Revenue, dimension, &by_group);
    // Postage, fees and manual lines stay in every total but are not products to act on (the
    // Overview leaves them out of its ranking too).
    if dimension == Dimension::Product {
        by_group.retain(|&g, _| !is_service_code(&cx.names.of(dimension, g)));
    }
    largest_contributions(&by_group, total, cx.settings.min_share)
        .into_iter()
        .map(|(group, previous, current, share)| {
            // The group's part of each order is one event of a compound Poisson process.
            let mut per_order: HashMap<(bool, u32), f64> = HashMap::new();
            for line in cx.period_lines.iter().filter(|l| line_group(l, dimension) == group) {
                *per_order.entry((line.current, line.invoice)).or_default() += line.value;
            }
            let mut values = [Vec::new(), Vec::new()];
            for (&(current, _), &v) in &per_order {
                values[current as usize].push(v);
            }
            let (z, p) = compound_poisson_test(&values[0], &values[1], cx.days[0] as f64, cx.days[1] as f64);
            let change = current - previous;
            let name = cx.names.of(dimension, group);
            let text = format!(
                "Revenue from {} {} by {} ({}), {}.",
                cx.names.words(dimension, group),
                rose_or_fell(change),
                (cx.money)(change.abs()),
                relative(previous, current),
                share_words(share, total, Metric::Revenue)
            );
            let evidence = Evidence {
                p_value: Some(p),
                text: format!(
                    "revenue a day, compound Poisson test on {} and {} invoices: z = {}, {}",
                    values[0].len(),
                    values[1].len(),
                    number(z, 2),
                    p_text(p)
                ),
            };
            driver(Metric::Revenue, dimension, name, [previous, current], (share, total), evidence, change.abs(), text)
        })
        .collect()
}

/// Orders or customers by country or customer type. A customer counts once a period: in the
/// country and type of their first order of the period.
fn count_drivers(cx: &DriverContext<'_>, dimension: Dimension, metric: Metric, all: &mut Vec<Contribution>) -> Vec<Candidate> {
    let counted: Vec<&Invoice> = match metric {
        Metric::Customers => {
            let mut first: HashMap<(bool, u32), &Invoice> = HashMap::new();
            for order in cx.orders {
                if let Some(c) = order.customer {
                    let slot = first.entry((order.current, c)).or_insert(order);
                    if order.day < slot.day {
                        *slot = order;
                    }
                }
            }
            first.into_values().collect()
        }
        _ => cx.orders.to_vec(),
    };
    let mut by_group: HashMap<u32, Pair> = HashMap::new();
    for order in &counted {
        by_group.entry(order_group(order, dimension)).or_default()[order.current as usize] += 1.0;
    }
    record(all, cx, metric, dimension, &by_group);
    let total: f64 = by_group.values().map(|[p, c]| c - p).sum();
    let value_each = mean_order_value(cx.orders);
    largest_contributions(&by_group, total, cx.settings.min_share)
        .into_iter()
        .map(|(group, previous, current, share)| {
            let p = poisson_counts_p_value(previous as u64, current as u64, cx.days[0] as f64, cx.days[1] as f64);
            let change = current - previous;
            let name = cx.names.of(dimension, group);
            let what = match (metric, dimension) {
                (Metric::Orders, _) if dimension == Dimension::CustomerType && group == NO_CUSTOMER => {
                    "Orders without a customer".to_string()
                }
                (Metric::Orders, _) => format!("Orders from {name}"),
                (_, Dimension::CustomerType) => upper_first(&name),
                _ => format!("Customers in {name}"),
            };
            let text = format!(
                "{what} {} from {} to {} ({}), {}.",
                rose_or_fell(change),
                number(previous, 0),
                number(current, 0),
                relative(previous, current),
                share_words(share, total, metric)
            );
            let evidence = Evidence {
                p_value: Some(p),
                text: format!("{previous} then {current} in {} and {} days: exact Poisson test, {}", cx.days[0], cx.days[1], p_text(p)),
            };
            // Each order or customer is worth the average order's value.
            driver(metric, dimension, name, [previous, current], (share, total), evidence, change.abs() * value_each, text)
        })
        .collect()
}

/// A driver or detractor of `metric` by `dimension`: the group's figure each period, its share
/// of the total change, and its test.
#[allow(clippy::too_many_arguments)]
fn driver(
    metric: Metric,
    dimension: Dimension,
    subject: String,
    [previous, current]: Pair,
    (share, total): (Option<f64>, f64),
    evidence: Evidence,
    impact: f64,
    text: String,
) -> Candidate {
    let change = current - previous;
    Candidate::tested(Finding {
        kind: driver_kind(change, total),
        metric,
        dimension: Some(dimension),
        subject,
        current,
        previous,
        change,
        share_of_change: share,
        evidence,
        impact,
        text,
        chart: FindingChart::Pair { previous, current },
    })
}

fn mean_order_value(orders: &[&Invoice]) -> f64 {
    if orders.is_empty() {
        0.0
    } else {
        orders.iter().map(|o| o.value).sum::<f64>() / orders.len() as f64
    }
}

/// The shift-share split of the change in average order value (see the module's notes). Per
/// group, its (orders, value) in the previous and the current period → its (rate, mix) parts;
/// the parts of all groups add up to the change in the overall average order value.
pub fn aov_decomposition(groups: &HashMap<u32, (Pair, Pair)>) -> HashMap<u32, (f64, f64)> {
    let totals = groups.values().fold([0.0, 0.0], |acc, (n, _)| [acc[0] + n[0], acc[1] + n[1]]);
    let share = |n: f64, total: f64| if total > 0.0 { n / total } else { 0.0 };
    groups
        .iter()
        .map(|(&g, &(n, v))| {
            let w = [share(n[0], totals[0]), share(n[1], totals[1])];
            let parts = match (n[0] > 0.0, n[1] > 0.0) {
                (true, true) => {
                    let a = [v[0] / n[0], v[1] / n[1]];
                    ((w[0] + w[1]) / 2.0 * (a[1] - a[0]), (w[1] - w[0]) * (a[0] + a[1]) / 2.0)
                }
                // Present in one period only: all mix.
                (false, true) => (0.0, w[1] * v[1] / n[1]),
                (true, false) => (0.0, -w[0] * v[0] / n[0]),
                (false, false) => (0.0, 0.0),
            };
            (g, parts)
        })
        .collect()
}

/// Average order value by `dimension`, split into rate and mix; the rate tested by Welch's t
/// on the group's order values.
fn aov_drivers(cx: &DriverContext<'_>, dimension: Dimension, all: &mut Vec<Contribution>) -> Vec<Candidate> {
    let mut groups: HashMap<u32, (Pair, Pair)> = HashMap::new();
    let mut values: HashMap<u32, [Vec<f64>; 2]> = HashMap::new();
    for order in cx.orders {
        let g = order_group(order, dimension);
        let entry = groups.entry(g).or_default();
        entry.0[order.current as usize] += 1.0;
        entry.1[order.current as usize] += order.value;
        values.entry(g).or_default()[order.current as usize].push(order.value);
    }
    let parts = aov_decomposition(&groups);
    let total: f64 = parts.values().map(|(rate, mix)| rate + mix).sum();
    let contributions: HashMap<u32, Pair> = parts.iter().map(|(&g, &(rate, mix))| (g, [0.0, rate + mix])).collect();
    let average = |(n, v): &(Pair, Pair), i: usize| if n[i] > 0.0 { v[i] / n[i] } else { 0.0 };
    let mut groups_sorted: Vec<(&u32, &(Pair, Pair))> = groups.iter().collect();
    groups_sorted.sort_by_key(|(g, _)| **g);
    all.extend(groups_sorted.into_iter().map(|(g, figures)| Contribution {
        metric: Metric::AverageOrderValue,
        dimension,
        subject: cx.names.of(dimension, *g),
        previous: average(figures, 0),
        current: average(figures, 1),
        change: parts[g].0 + parts[g].1,
    }));
    let orders_now: f64 = groups.values().map(|(n, _)| n[1]).sum();
    let money = cx.money;
    largest_contributions(&contributions, total, cx.settings.min_share)
        .into_iter()
        .map(|(group, _, contribution, share)| {
            let (rate, mix) = parts[&group];
            let (n, v) = groups[&group];
            let average = |i: usize| if n[i] > 0.0 { v[i] / n[i] } else { 0.0 };
            let (t, p) = welch_two_sided(&values[&group][0], &values[&group][1]);
            let name = cx.names.of(dimension, group);
            let who = if dimension == Dimension::CustomerType && group == NO_CUSTOMER { "Orders without a customer".to_string() } else { upper_first(&name) };
            let text = format!(
                "{who}: an average order of {} then {}. That moved the overall average order value by {} ({} from what these orders were worth, {} from their share of all orders), {}.",
                money(average(0)),
                money(average(1)),
                signed_money(contribution, money),
                signed_money(rate, money),
                signed_money(mix, money),
                share_words(share, total, Metric::AverageOrderValue)
            );
            Candidate::tested(Finding {
                kind: driver_kind(contribution, total),
                metric: Metric::AverageOrderValue,
                dimension: Some(dimension),
                subject: name,
                current: average(1),
                previous: average(0),
                change: contribution,
                share_of_change: share,
                evidence: welch_evidence("order values", t, p),
                impact: contribution.abs() * orders_now,
                text,
                chart: FindingChart::Pair { previous: average(0), current: average(1) },
            })
        })
        .collect()
}

/// The share of revenue the top products, customers and countries carry, each period.
fn concentration(cx: &DriverContext<'_>) -> Vec<Candidate> {
    /// The dimension, who "the top" is, a line's key in it, and how many of n keys are the top.
    type TopOf = (Dimension, &'static str, fn(&PeriodLine) -> Option<u32>, fn(usize) -> usize);
    let dimensions: [TopOf; 3] = [
        (Dimension::Product, "the top 10 products", |l| Some(l.product), |_| TOP_PRODUCTS),
        (Dimension::Customer, "the top tenth of customers (of the revenue with a customer)", |l| l.customer, |n| n.div_ceil(10)),
        (Dimension::Country, "the top 3 countries", |l| Some(l.country), |_| TOP_COUNTRIES),
    ];
    let revenue_now: f64 = cx.period_lines.iter().filter(|l| l.current).map(|l| l.value).sum();
    dimensions
        .into_iter()
        .filter_map(|(dimension, who, key, top)| {
            let share = |current: bool| -> Option<f64> {
                let mut by: HashMap<u32, f64> = HashMap::new();
                let mut total = 0.0;
                // A share of what has a key: customers' share of the revenue with a customer.
                for line in cx.period_lines.iter().filter(|l| l.current == current) {
                    if let Some(k) = key(line) {
                        total += line.value;
                        *by.entry(k).or_default() += line.value;
                    }
                }
                let mut values: Vec<f64> = by.into_values().collect();
                values.sort_by(|a, b| b.total_cmp(a));
                (total > 0.0 && !values.is_empty()).then(|| values.iter().take(top(values.len())).sum::<f64>() / total)
            };
            let (previous, current) = (share(false)?, share(true)?);
            let points = (current - previous) * 100.0;
            let text = format!(
                "{} carried {} of revenue, {} the period before ({}{} points).",
                upper_first(who),
                percent(current),
                percent(previous),
                if points >= 0.0 { "+" } else { "" },
                number(points, 1)
            );
            let subject = format!("{}s", dimension.label());
            Some(Candidate {
                passes_rule: points.abs() >= cx.settings.concentration_points,
                finding: Finding {
                    kind: FindingKind::Concentration,
                    metric: Metric::RevenueShare,
                    dimension: Some(dimension),
                    subject,
                    current,
                    previous,
                    change: current - previous,
                    share_of_change: None,
                    evidence: Evidence {
                        p_value: None,
                        text: format!(
                            "every line of both periods counted (nothing sampled); shown when the share moves {} points or more",
                            number(cx.settings.concentration_points, 0)
                        ),
                    },
                    impact: (current - previous).abs() * revenue_now,
                    text,
                    chart: FindingChart::Pair { previous, current },
                },
            })
        })
        .collect()
}

/// Customers whose RFM segment changed over the period, by move, against the same move over
/// up to [`SEGMENT_HISTORY`] periods before it (each as long, by the calendar rule).
fn segment_moves(
    frame: &OrderFrame,
    filters: &Filters,
    (previous_period, period): (Days, Days),
    invoices: &HashMap<(bool, u32), Invoice>,
    cx: &DriverContext<'_>,
) -> Result<Vec<Candidate>, FindingsError> {
    let grid = &cx.settings.grid;
    let as_of = |day: NaiveDate| -> Result<HashMap<u32, String>, FindingsError> {
        let upto = Filters { from: None, to: Some(day), ..filters.clone() };
        let rfm = rfm::compute(frame, &upto, Some(day), grid)?;
        Ok(rfm.customers.iter().map(|c| (c.customer, rfm.segments[c.segment].name.clone())).collect())
    };
    let before = |d: NaiveDate| d.pred_opt().unwrap_or(d);
    // The periods before, newest first, while the data reaches back to their start.
    let first_day = frame.date_span().map_or(previous_period.0, |(first, _)| first);
    let comparison = Comparison::of(period);
    let mut history = vec![previous_period];
    while history.len() < SEGMENT_HISTORY {
        match comparison.before(history[history.len() - 1]) {
            Some(earlier) if earlier.0 > first_day => history.push(earlier),
            _ => break,
        }
    }
    let moves = |from: &HashMap<u32, String>, to: &HashMap<u32, String>| -> HashMap<(String, String), Vec<u32>> {
        let mut out: HashMap<(String, String), Vec<u32>> = HashMap::new();
        for (customer, segment) in from {
            if let Some(next) = to.get(customer).filter(|next| *next != segment) {
                out.entry((segment.clone(), next.clone())).or_default().push(*customer);
            }
        }
        out
    };
    let start_now = as_of(before(period.0))?;
    let moves_now = moves(&start_now, &as_of(period.1)?);
    // Each earlier period's moves, from the segments the day before it to the day before the
    // next, with how many customers each segment had at its start.
    let sizes = |segments: &HashMap<u32, String>| {
        let mut sizes: HashMap<String, usize> = HashMap::new();
        for segment in segments.values() {
            *sizes.entry(segment.clone()).or_default() += 1;
        }
        sizes
    };
    let mut earlier_moves = Vec::new();
    let mut end = start_now;
    for earlier in &history {
        let start = as_of(before(earlier.0))?;
        earlier_moves.push((moves(&start, &end), sizes(&start)));
        end = start;
    }
    // What the moving customers spent in each period: what the move puts at stake.
    let mut spend: HashMap<u32, Pair> = HashMap::new();
    for invoice in invoices.values() {
        if let Some(c) = invoice.customer {
            spend.entry(c).or_default()[invoice.current as usize] += invoice.value;
        }
    }
    let mut ranked: Vec<(&(String, String), &Vec<u32>)> = moves_now.iter().collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    Ok(ranked
        .into_iter()
        .take(2 * CANDIDATES_PER_DIMENSION)
        .filter_map(|((from, to), customers)| {
            let current = customers.len() as f64;
            // A period whose start had nobody in the segment could not see the move: on young
            // data the quintiles leave some segments empty for months. It is not history.
            let counts: Vec<f64> = earlier_moves
                .iter()
                .filter(|(_, sizes)| sizes.get(from).is_some_and(|n| *n > 0))
                .map(|(m, _)| m.get(&(from.clone(), to.clone())).map_or(0, Vec::len) as f64)
                .collect();
            if counts.is_empty() {
                return None;
            }
            let usual = counts.iter().sum::<f64>() / counts.len() as f64;
            let (z, p) = more_than_usual(current, &counts);
            let [before, now] = customers.iter().filter_map(|c| spend.get(c)).fold([0.0, 0.0], |acc, s| [acc[0] + s[0], acc[1] + s[1]]);
            let at_stake = before.max(now);
            let usual_words = match counts.len() {
                1 => format!("{} made that move the period before", number(usual, 0)),
                n => format!("{} a period on average over the {n} periods before", number(usual, 0)),
            };
            let spent = match (before > 0.0, now > 0.0) {
                (false, false) => "none of them bought in either period".to_string(),
                _ => format!("they spent {} this period and {} the period before", (cx.money)(now), (cx.money)(before)),
            };
            let text = format!("{} customers moved from {from} to {to} ({usual_words}); {spent}.", number(current, 0));
            Some(Candidate::tested(Finding {
                kind: FindingKind::SegmentMove,
                metric: Metric::CustomersMoving,
                dimension: None,
                subject: format!("{from} → {to}"),
                current,
                previous: usual,
                change: current - usual,
                share_of_change: None,
                evidence: Evidence {
                    p_value: Some(p),
                    text: format!(
                        "{} this period against {} before: z = {} with the spread of the periods before (quasi-Poisson), {}",
                        number(current, 0),
                        counts.iter().map(|c| number(*c, 0)).collect::<Vec<_>>().join(", "),
                        number(z, 2),
                        p_text(p)
                    ),
                },
                impact: at_stake.abs(),
                text,
                chart: FindingChart::Pair { previous: usual, current },
            }))
        })
        .filter(|c| c.finding.current > c.finding.previous)
        .collect())
}

/// Whether `count` is more than the `history` of the same count makes usual: with m the
/// history's mean and φ its dispersion (its variance over m, at least 1: a Poisson count's
/// spread or more), z = (count − m) / √(φ·max(m, 1)·(1 + 1/k)) for k periods of history (the
/// mean itself is estimated), and the one-sided normal p-value. Segment moves swing more than
/// Poisson counts do (quintile boundaries move whole groups of customers at once), which φ
/// takes from the data.
pub fn more_than_usual(count: f64, history: &[f64]) -> (f64, f64) {
    let k = history.len() as f64;
    if history.is_empty() {
        return (f64::NAN, 1.0);
    }
    let mean = history.iter().sum::<f64>() / k;
    let variance = if history.len() > 1 { history.iter().map(|h| (h - mean).powi(2)).sum::<f64>() / (k - 1.0) } else { mean };
    let dispersion = if mean > 0.0 { (variance / mean).max(1.0) } else { 1.0 };
    let z = (count - mean) / (dispersion * mean.max(1.0) * (1.0 + 1.0 / k)).sqrt();
    (z, 1.0 - Normal::standard().cdf(z))
}

/// Funnel steps whose conversion changed beyond chance: sessions going from view to cart and from
/// cart to purchase (the Funnel panel's default funnel), over all sessions and by top-level
/// category, each period against the one before by the two-proportion test. A step needs 30
/// sessions in each period to be tested. Worth: the purchases the change adds or loses, each at
/// the period's average order value.
fn funnel_changes(
    events: &EventFrame,
    filters: &Filters,
    (previous_period, period): (Days, Days),
    value_per_purchase: f64,
    ctx: &JobContext,
) -> Result<Vec<Candidate>, FindingsError> {
    let settings = FunnelSettings::default();
    let run = |(from, to): Days| funnel::compute(events, &Filters { from: Some(from), to: Some(to), ..filters.clone() }, &settings, ctx);
    let (before, now) = (run(previous_period)?, run(period)?);
    let steps = |r: &FunnelResult| r.steps.iter().map(|s| s.count).collect::<Vec<u64>>();
    let mut groups: Vec<(Option<String>, Vec<u64>, Vec<u64>)> = vec![(None, steps(&before), steps(&now))];
    for row in &now.breakdown {
        if let Some(earlier) = before.breakdown.iter().find(|b| b.key == row.key) {
            groups.push((Some(row.key.clone()), earlier.counts.clone(), row.counts.clone()));
        }
    }
    let words = |kind: EventKind| match kind {
        EventKind::View => "view",
        EventKind::Cart => "cart",
        EventKind::Purchase => "purchase",
        _ => "step",
    };
    let mut out = Vec::new();
    for (k, pair) in settings.steps.windows(2).enumerate() {
        let metric = match (pair[0], pair[1]) {
            (EventKind::View, EventKind::Cart) => Metric::ViewToCart,
            (EventKind::Cart, EventKind::Purchase) => Metric::CartToPurchase,
            _ => continue,
        };
        let mut step: Vec<Candidate> = groups
            .iter()
            .filter(|(_, b, n)| b.len() > k + 1 && n.len() > k + 1 && b[k] >= 30 && n[k] >= 30)
            .map(|(group, b, n)| {
                let (p0, p1) = (b[k + 1] as f64 / b[k] as f64, n[k + 1] as f64 / n[k] as f64);
                let (z, p) = two_proportion_test(b[k + 1], b[k], n[k + 1], n[k]);
                let who = group.as_deref().map_or("all sessions".to_string(), |g| format!("{g} sessions"));
                let text = format!(
                    "{} to {} for {who} {} from {} to {} ({}{} points) across {} sessions with a {}.",
                    upper_first(words(pair[0])),
                    words(pair[1]),
                    rose_or_fell(p1 - p0),
                    percent_1(p0),
                    percent_1(p1),
                    if p1 >= p0 { "+" } else { "" },
                    number((p1 - p0) * 100.0, 1),
                    number(n[k] as f64, 0),
                    words(pair[0])
                );
                Candidate::tested(Finding {
                    kind: FindingKind::FunnelChange,
                    metric,
                    dimension: group.as_ref().map(|_| Dimension::Category),
                    subject: group.clone().unwrap_or_else(|| "all sessions".into()),
                    current: p1,
                    previous: p0,
                    change: p1 - p0,
                    share_of_change: None,
                    evidence: Evidence {
                        p_value: Some(p),
                        text: format!(
                            "{} of {} then {} of {} sessions: two-proportion z = {}, {}",
                            b[k + 1],
                            b[k],
                            n[k + 1],
                            n[k],
                            number(z, 2),
                            p_text(p)
                        ),
                    },
                    impact: ((p1 - p0) * n[k] as f64).abs() * value_per_purchase.max(1.0),
                    text,
                    chart: FindingChart::Pair { previous: p0, current: p1 },
                })
            })
            .collect();
        // All sessions, then the categories whose change moves the most sessions.
        let overall = step.iter().position(|c| c.finding.dimension.is_none()).map(|i| step.remove(i));
        step.sort_by(|a, b| b.finding.impact.total_cmp(&a.finding.impact));
        out.extend(overall);
        out.extend(step.into_iter().take(CANDIDATES_PER_DIMENSION));
    }
    Ok(out)
}

/// How our prices moved against the market's and each competitor's between the end of the period
/// before and the end of the period (the Pricing panel's monitor as of each day): per product
/// with an index both times, the change in index points; by category and by competitor, the mean
/// change, tested by the paired t test over those products ([`paired_t_test`]; 5 products at
/// least). Worth: the change as a fraction of the products' revenue in the period.
fn market_moves(
    data: &PricingData,
    settings: &PricingSettings,
    (previous_period, period): (Days, Days),
    money: &dyn Fn(f64) -> String,
) -> Vec<Candidate> {
    let end_of = |d: NaiveDate| day_bounds(None, Some(d)).1 - 1;
    let (then, now) =
        (prices::monitor(data, settings, Some(end_of(previous_period.1))), prices::monitor(data, settings, Some(end_of(period.1))));
    let (from, to) = (day_number(day_bounds(Some(period.0), None).0), day_number(end_of(period.1)));
    let revenue_of = |product: u32| data.sales_of(product).iter().filter(|s| s.day >= from && s.day <= to).map(|s| s.revenue).sum::<f64>();
    // (its dimension, the group) → per product (product, index then, index now).
    type Compared = Vec<(u32, f64, f64)>;
    let mut groups: HashMap<(Option<Dimension>, String), Compared> = HashMap::new();
    for (before, after) in then.positions.iter().zip(&now.positions) {
        let product = after.product;
        if let (Some(a), Some(b)) = (before.index, after.index) {
            groups.entry((None, "the market".into())).or_default().push((product, a, b));
            let category = &data.products[product as usize].category;
            if !category.trim().is_empty() {
                groups.entry((Some(Dimension::Category), category.clone())).or_default().push((product, a, b));
            }
        }
        let index_against = |position: &prices::Position, competitor: u32| -> Option<f64> {
            let theirs = position.competitors.iter().find(|c| c.competitor == competitor && c.in_market)?;
            Some(position.ours? / theirs.price * 100.0)
        };
        for competitor in after.competitors.iter().map(|c| c.competitor) {
            if let (Some(a), Some(b)) = (index_against(before, competitor), index_against(after, competitor)) {
                let name = data.competitors[competitor as usize].clone();
                groups.entry((Some(Dimension::Competitor), name)).or_default().push((product, a, b));
            }
        }
    }
    let mut candidates: Vec<Candidate> = groups
        .into_iter()
        .filter(|(_, rows)| rows.len() >= 5)
        // A move of less than a point is real on many products but changes no decision.
        .filter(|(_, rows)| (rows.iter().map(|r| r.2 - r.1).sum::<f64>() / rows.len() as f64).abs() >= MIN_INDEX_POINTS)
        .map(|((dimension, name), rows)| {
            let n = rows.len() as f64;
            let (mean_then, mean_now) = (rows.iter().map(|r| r.1).sum::<f64>() / n, rows.iter().map(|r| r.2).sum::<f64>() / n);
            let differences: Vec<f64> = rows.iter().map(|r| r.2 - r.1).collect();
            let (t, p) = paired_t_test(&differences);
            let change = mean_now - mean_then;
            let revenue: f64 = rows.iter().map(|r| revenue_of(r.0)).sum();
            let against = match dimension {
                Some(Dimension::Competitor) => format!("Against {name}, our price index"),
                Some(_) => format!("In {name}, our price index against the market"),
                None => "Our price index against the market".to_string(),
            };
            let text = format!(
                "{against} {} from {} to {} ({}{} points) over {} products: we became {}{}.",
                rose_or_fell(change),
                number(mean_then, 1),
                number(mean_now, 1),
                if change >= 0.0 { "+" } else { "" },
                number(change, 1),
                number(n, 0),
                if change >= 0.0 { "dearer" } else { "cheaper" },
                if revenue > 0.0 { format!(" on products that sold {} this period", money(revenue)) } else { String::new() }
            );
            Candidate::tested(Finding {
                kind: FindingKind::MarketMove,
                metric: Metric::PriceIndex,
                dimension,
                subject: name,
                current: mean_now,
                previous: mean_then,
                change,
                share_of_change: None,
                evidence: Evidence {
                    p_value: Some(p),
                    text: format!("paired t over {} products: t = {}, {}", rows.len(), number(t, 2), p_text(p)),
                },
                impact: (change / 100.0).abs() * revenue,
                text,
                chart: FindingChart::Pair { previous: mean_then, current: mean_now },
            })
        })
        .collect();
    // The market overall, then the categories and competitors that moved the most.
    candidates.sort_by(|a, b| {
        let moved = |c: &Candidate| c.finding.change.abs() * if c.finding.dimension.is_none() { f64::INFINITY } else { 1.0 };
        moved(b).total_cmp(&moved(a)).then_with(|| a.finding.subject.cmp(&b.finding.subject))
    });
    let mut kept = Vec::new();
    let mut per_dimension: HashMap<Option<Dimension>, usize> = HashMap::new();
    for candidate in candidates {
        let count = per_dimension.entry(candidate.finding.dimension).or_default();
        if *count < CANDIDATES_PER_DIMENSION {
            *count += 1;
            kept.push(candidate);
        }
    }
    kept
}

/// Marketplace categories whose shortage grew: demand (views, likes and orders of the category's
/// listings) a day per listing on sale, in the period against the period before. Demand is taken
/// as Poisson with the listing-days on sale as exposure, so the test is the exact conditional
/// test of two rates ([`poisson_counts_p_value`] with listing-days); only a growth of 10% or more
/// on 100 demand events or more is tested, the most grown first.
fn supply_changes(data: &MarketplaceData, (previous_period, period): (Days, Days)) -> Vec<Candidate> {
    let bounds = |(from, to): Days| day_bounds(Some(from), Some(to));
    let periods = [bounds(previous_period), bounds(period)];
    let categories = data.categories.len();
    let mut demand = vec![[0u64; 2]; categories];
    let mut listing_days = vec![[0.0f64; 2]; categories];
    let mut on_sale_at_end = vec![0u64; categories];
    let category_of = |listing: Option<u32>| listing.and_then(|l| data.listings.get(l as usize)).and_then(|l| l.category);
    for listing in &data.listings {
        let (Some(c), Some(listed)) = (listing.category, listing.listed) else { continue };
        let until = listing.sold.unwrap_or(i64::MAX);
        for (p, (start, end)) in periods.iter().enumerate() {
            let overlap = (until.min(*end) - listed.max(*start)).max(0);
            listing_days[c as usize][p] += overlap as f64 / 86_400.0;
        }
        if listed < periods[1].1 && until >= periods[1].1 {
            on_sale_at_end[c as usize] += 1;
        }
    }
    let period_of = |t: i64| periods.iter().position(|(start, end)| t >= *start && t < *end);
    let interactions = data
        .interactions
        .iter()
        .filter(|x| matches!(x.kind, InteractionKind::View | InteractionKind::Like))
        .map(|x| (x.listing, x.at))
        .chain(data.orders.iter().map(|o| (o.listing, o.at)));
    for (listing, at) in interactions {
        if let (Some(c), Some(p)) = (category_of(listing), period_of(at)) {
            demand[c as usize][p] += 1;
        }
    }
    let mut out: Vec<Candidate> = (0..categories)
        .filter_map(|c| {
            let ([d0, d1], [e0, e1]) = (demand[c], listing_days[c]);
            if e0 <= 0.0 || e1 <= 0.0 || d0 + d1 < 100 {
                return None;
            }
            let (r0, r1) = (d0 as f64 / e0, d1 as f64 / e1);
            if r1 < 1.1 * r0 {
                return None;
            }
            let p = poisson_counts_p_value(d0, d1, e0, e1);
            let name = data.categories[c].clone();
            let text = format!(
                "Supply in {name} fell further behind demand: {} views, likes and orders a day per listing on sale, up from {} ({}); {} listings on sale at the end of the period.",
                number(r1, 2),
                number(r0, 2),
                relative(r0, r1),
                number(on_sale_at_end[c] as f64, 0)
            );
            Some(Candidate::tested(Finding {
                kind: FindingKind::SupplyChange,
                metric: Metric::DemandPerListing,
                dimension: Some(Dimension::Category),
                subject: name,
                current: r1,
                previous: r0,
                change: r1 - r0,
                share_of_change: None,
                evidence: Evidence {
                    p_value: Some(p),
                    text: format!(
                        "{d0} then {d1} demand events over {} and {} listing-days: exact Poisson test, {}",
                        number(e0, 0),
                        number(e1, 0),
                        p_text(p)
                    ),
                },
                // Not money: the demand events the growth adds in the period, as one unit each.
                impact: (r1 - r0) * e1,
                text,
                chart: FindingChart::Pair { previous: r0, current: r1 },
            }))
        })
        .collect();
    out.sort_by(|a, b| (b.finding.current / b.finding.previous).total_cmp(&(a.finding.current / a.finding.previous)));
    out.truncate(CANDIDATES_PER_DIMENSION);
    out
}

/// The paired t test that the mean of `differences` is zero: t = mean / (sd / √n), two-sided
/// with n − 1 degrees of freedom (as `scipy.stats.ttest_rel`). Differences all equal and not
/// zero are certain (p = 0); fewer than two, no test (p = 1).
pub fn paired_t_test(differences: &[f64]) -> (f64, f64) {
    let n = differences.len() as f64;
    if differences.len() < 2 {
        return (f64::NAN, 1.0);
    }
    let mean = differences.iter().sum::<f64>() / n;
    let sd = (differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if sd == 0.0 {
        return if mean == 0.0 { (0.0, 1.0) } else { (mean.signum() * f64::INFINITY, 0.0) };
    }
    let t = mean / (sd / n.sqrt());
    let p = StudentsT::new(0.0, 1.0, n - 1.0).map_or(1.0, |dist| 2.0 * (1.0 - dist.cdf(t.abs())));
    (t, p.min(1.0))
}

/// The two-proportion z test with the pooled proportion: z = (p₁ − p₀) / √(p̂(1 − p̂)(1/n₀ + 1/n₁)),
/// two-sided normal p-value (as statsmodels' `proportions_ztest`).
pub fn two_proportion_test(x0: u64, n0: u64, x1: u64, n1: u64) -> (f64, f64) {
    if n0 == 0 || n1 == 0 {
        return (f64::NAN, 1.0);
    }
    let (n0f, n1f) = (n0 as f64, n1 as f64);
    let pooled = (x0 + x1) as f64 / (n0f + n1f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n0f + 1.0 / n1f)).sqrt();
    if se <= 0.0 {
        return (f64::NAN, 1.0);
    }
    let z = (x1 as f64 / n1f - x0 as f64 / n0f) / se;
    (z, (2.0 * (1.0 - Normal::standard().cdf(z.abs()))).min(1.0))
}

/// "31.2%".
fn percent_1(fraction: f64) -> String {
    format!("{}%", number(fraction * 100.0, 1))
}

/// Least squares of each day's figure on its weekday and a straight line; the days of the
/// period whose residual is at least the threshold in robust spreads.
fn unexpected_days(window: &DailyWindow, settings: &FindingsSettings, money: &dyn Fn(f64) -> String) -> Vec<Candidate> {
    // A day's orders and their value, adjustments (write-offs, bad debt) left out: a book-keeping
    // entry is not a day the shop sold more or less.
    let n = window.days;
    let (mut orders, mut revenue) = (vec![0.0; n], vec![0.0; n]);
    for &(day, value, with_customer) in window.invoices.values() {
        if !is_adjustment(value, with_customer) {
            orders[(day - window.start) as usize] += 1.0;
            revenue[(day - window.start) as usize] += value;
        }
    }
    let days: Vec<i64> = (0..n as i64).map(|i| window.start + i).collect();
    // An unexpected order is worth the window's average order.
    let total_orders: f64 = orders.iter().sum();
    let value_per_order = if total_orders > 0.0 { revenue.iter().sum::<f64>() / total_orders } else { 0.0 };
    let mut out = Vec::new();
    for (metric, series) in [(Metric::Revenue, &revenue), (Metric::Orders, &orders)] {
        let Some(fit) = weekday_trend_fit(&days, series) else { continue };
        let labels: Vec<String> = days.iter().map(|&d| date_of_day(d).to_string()).collect();
        for (i, &day) in days.iter().enumerate().filter(|(_, &d)| d >= window.period_start) {
            let z = fit.z[i];
            // A handful of orders either way is no day to explain.
            if !z.is_finite() || (metric == Metric::Orders && series[i].max(fit.fitted[i]) < 10.0) {
                continue;
            }
            let (actual, expected) = (series[i], fit.fitted[i]);
            let date = date_of_day(day);
            let how = if actual >= expected { "above" } else { "below" };
            let shown = |v: f64| if metric == Metric::Revenue { money(v) } else { number(v, 0) };
            let text = format!(
                "{} on {} {}: {}, against the {} its weekday and the trend predict ({} times the usual day-to-day spread {how}).",
                upper_first(metric.words()),
                date.format("%a"),
                date,
                shown(actual),
                shown(expected.max(0.0)),
                number(z.abs(), 1),
            );
            let impact = if metric == Metric::Revenue { (actual - expected).abs() } else { (actual - expected).abs() * value_per_order };
            out.push(Candidate {
                passes_rule: z.abs() >= settings.unexpected_z,
                finding: Finding {
                    kind: FindingKind::UnexpectedDay,
                    metric,
                    dimension: None,
                    subject: date.to_string(),
                    current: actual,
                    previous: expected,
                    change: actual - expected,
                    share_of_change: None,
                    evidence: Evidence {
                        p_value: None,
                        text: format!(
                            "robust z = {} (weekday and trend fitted on {n} days; spread 1.4826 × MAD = {}); unexpected from {}",
                            number(z, 2),
                            number(fit.spread, 2),
                            number(settings.unexpected_z, 1)
                        ),
                    },
                    impact,
                    text,
                    chart: FindingChart::Series {
                        labels: labels.clone(),
                        values: series.clone(),
                        expected: Some(fit.fitted.clone()),
                        marked: i,
                    },
                },
            });
        }
    }
    // Revenue and orders of one day are one finding: keep orders only where revenue is not.
    let revenue_days: Vec<String> =
        out.iter().filter(|c| c.passes_rule && c.finding.metric == Metric::Revenue).map(|c| c.finding.subject.clone()).collect();
    for candidate in out.iter_mut().filter(|c| c.finding.metric == Metric::Orders && revenue_days.contains(&c.finding.subject)) {
        candidate.passes_rule = false;
    }
    out
}

/// 1 / Φ⁻¹(3/4): the median absolute deviation times this estimates a normal spread's standard
/// deviation (as `scipy.stats.median_abs_deviation(scale="normal")`).
const NORMAL_MAD_SCALE: f64 = 1.482_602_218_505_602;

/// A fitted weekday-and-trend line over some days.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyFit {
    pub fitted: Vec<f64>,
    /// Residual over the robust spread, per day (NaN when the spread is zero).
    pub z: Vec<f64>,
    /// 1.4826 × the median absolute deviation of the residuals from their median.
    pub spread: f64,
}

/// Ordinary least squares of `values` on an intercept, six weekday indicators (Monday the
/// base) and the day number; robust z-scores of the residuals. `None` with fewer than 14 days.
pub fn weekday_trend_fit(days: &[i64], values: &[f64]) -> Option<DailyFit> {
    let n = days.len();
    if n < 14 {
        return None;
    }
    let weekday = |d: i64| ((d + 3).rem_euclid(7)) as usize; // 1970-01-01 was a Thursday: Monday = 0
                                                             // Weekdays that never occur (a window shorter than a week cannot) or columns of zeros would
                                                             // make the normal equations singular; a tiny ridge keeps them solvable without moving a
                                                             // well-posed fit.
    let k = 8;
    let t0 = days[0] as f64;
    let mut x = Array2::<f64>::zeros((n, k));
    for (i, &d) in days.iter().enumerate() {
        x[[i, 0]] = 1.0;
        let w = weekday(d);
        if w > 0 {
            x[[i, w]] = 1.0;
        }
        x[[i, 7]] = d as f64 - t0;
    }
    let y = Array1::from(values.to_vec());
    let mut xtx = x.t().dot(&x);
    for j in 0..k {
        xtx[[j, j]] += 1e-9;
    }
    let xty = x.t().dot(&y).insert_axis(Axis(1));
    let beta = xtx.solvec(&xty).ok()?.remove_axis(Axis(1));
    let fitted: Vec<f64> = x.dot(&beta).to_vec();
    let residuals: Vec<f64> = values.iter().zip(&fitted).map(|(v, f)| v - f).collect();
    let mut sorted = residuals.clone();
    sorted.sort_by(f64::total_cmp);
    let (centre, mad) = super::pricing::median_and_mad(&sorted);
    let spread = NORMAL_MAD_SCALE * mad;
    let z = residuals.iter().map(|r| if spread > 0.0 { (r - centre) / spread } else { f64::NAN }).collect();
    Some(DailyFit { fitted, z, spread })
}

/// The whole months of data up to `last_day`, oldest first, at most [`MAX_TREND_MONTHS`]: a
/// month counts when the data starts on or before its first day and `last_day` is on or after
/// its last.
fn whole_months(month_revenue: &HashMap<i32, f64>, first_day: NaiveDate, last_day: NaiveDate) -> Vec<(i32, f64)> {
    let first = month_index(first_day.year(), first_day.month()) + i32::from(first_day.day() != 1);
    let ends_month = last_day.succ_opt().is_none_or(|d| d.day() == 1);
    let last = month_index(last_day.year(), last_day.month()) - i32::from(!ends_month);
    let from = first.max(last - MAX_TREND_MONTHS as i32 + 1);
    (from..=last).map(|m| (m, month_revenue.get(&m).copied().unwrap_or(0.0))).collect()
}

/// The Mann–Kendall test and Sen's slope of monthly revenue.
fn trend(months: &[(i32, f64)], money: &dyn Fn(f64) -> String) -> Option<Candidate> {
    if months.len() < MIN_TREND_MONTHS {
        return None;
    }
    let values: Vec<f64> = months.iter().map(|(_, v)| *v).collect();
    let test = mann_kendall(&values);
    let slope = sen_slope(&values);
    let first = month_start(months[0].0).format("%B %Y").to_string();
    let text = format!(
        "Monthly revenue has {} since {first}: about {} a month over {} months.",
        if slope >= 0.0 { "risen" } else { "fallen" },
        money(slope.abs()),
        months.len()
    );
    Some(Candidate::tested(Finding {
        kind: FindingKind::TrendChange,
        metric: Metric::MonthlyRevenue,
        dimension: None,
        subject: format!("{first} to {}", month_start(months[months.len() - 1].0).format("%B %Y")),
        current: values[values.len() - 1],
        previous: values[0],
        change: slope,
        share_of_change: None,
        evidence: Evidence {
            p_value: Some(test.p_value),
            text: format!("Mann–Kendall S = {}, z = {}, {}; Sen's slope", test.s, number(test.z, 2), p_text(test.p_value)),
        },
        impact: slope.abs() * months.len() as f64,
        text,
        chart: FindingChart::Series {
            labels: months.iter().map(|(m, _)| month_start(*m).format("%Y-%m").to_string()).collect(),
            values,
            expected: None,
            marked: months.len() - 1,
        },
    }))
}

/// The Mann–Kendall trend test's statistic and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    pub s: i64,
    pub variance: f64,
    pub z: f64,
    pub p_value: f64,
}

/// Mann–Kendall: S = Σ_{i<j} sign(x_j − x_i); its variance with the correction for ties,
/// n(n−1)(2n+5)/18 − Σ t(t−1)(2t+5)/18; z with the continuity correction (S ∓ 1)/σ; the
/// normal two-sided p-value (Hipel & McLeod 1994, as pymannkendall's `original_test`).
pub fn mann_kendall(values: &[f64]) -> MannKendall {
    let n = values.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += match values[j].partial_cmp(&values[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j + 1;
    }
    let nf = n as f64;
    let variance = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = match s {
        0 => 0.0,
        _ if variance <= 0.0 => 0.0,
        s if s > 0 => (s - 1) as f64 / variance.sqrt(),
        s => (s + 1) as f64 / variance.sqrt(),
    };
    let normal = Normal::standard();
    MannKendall { s, variance, z, p_value: (2.0 * (1.0 - normal.cdf(z.abs()))).min(1.0) }
}

/// Sen's slope: the median of (x_j − x_i)/(j − i) over all pairs i < j.
pub fn sen_slope(values: &[f64]) -> f64 {
    let mut slopes = Vec::new();
    for i in 0..values.len() {
        for j in i + 1..values.len() {
            slopes.push((values[j] - values[i]) / (j - i) as f64);
        }
    }
    super::marketplace::median(&mut slopes).unwrap_or(f64::NAN)
}

/// Welch's t of `b` against `a` ([`super::abtest::welch_statistic`]) and its two-sided
/// p-value (as `scipy.stats.ttest_ind(b, a, equal_var=False)`); (NaN, 1) when a side has under
/// two values, and p = 1 for two constant sides alike.
pub fn welch_two_sided(a: &[f64], b: &[f64]) -> (f64, f64) {
    match super::abtest::welch_statistic(a, b) {
        Some((difference, se, df)) if se > 0.0 => {
            let t = difference / se;
            let p = StudentsT::new(0.0, 1.0, df).map_or(1.0, |dist| 2.0 * (1.0 - dist.cdf(t.abs())));
            (t, p.min(1.0))
        }
        _ => (f64::NAN, 1.0),
    }
}

fn welch_evidence(of: &str, t: f64, p: f64) -> Evidence {
    Evidence { p_value: Some(p), text: format!("Welch's t on {of}: t = {}, {}", number(t, 2), p_text(p)) }
}

/// Whether two periods' revenue a day differs, each period's orders taken as a compound Poisson
/// process (orders arrive at random, each worth one of the values seen): the revenue of a period
/// of `d` days has variance Σv², so z = (R₁/d₁ − R₀/d₀) / √(Σv₀²/d₀² + Σv₁²/d₁²), and the normal
/// two-sided p-value. Day-to-day swings (weekdays) do not enter, as they would in a test of daily
/// totals; orders stay whole, so a large order counts as large.
pub fn compound_poisson_test(a: &[f64], b: &[f64], days_a: f64, days_b: f64) -> (f64, f64) {
    if days_a <= 0.0 || days_b <= 0.0 {
        return (f64::NAN, 1.0);
    }
    let (sum_a, sum_b): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let variance = a.iter().map(|v| v * v).sum::<f64>() / (days_a * days_a) + b.iter().map(|v| v * v).sum::<f64>() / (days_b * days_b);
    if variance <= 0.0 {
        return (f64::NAN, 1.0);
    }
    let z = (sum_b / days_b - sum_a / days_a) / variance.sqrt();
    (z, (2.0 * (1.0 - Normal::standard().cdf(z.abs()))).min(1.0))
}

/// The exact conditional test that two Poisson counts have one rate: given `a + b` events, `b`
/// is binomial with p = days_b / (days_a + days_b) under the null. Two-sided by summing every
/// outcome no more likely than the one seen (as `scipy.stats.binomtest`).
pub fn poisson_counts_p_value(a: u64, b: u64, days_a: f64, days_b: f64) -> f64 {
    let n = a + b;
    if n == 0 || days_a <= 0.0 || days_b <= 0.0 {
        return 1.0;
    }
    let Ok(binomial) = Binomial::new(days_b / (days_a + days_b), n) else { return 1.0 };
    let seen = binomial.pmf(b);
    // The relative tolerance scipy uses, so outcomes equal to the one seen up to rounding count.
    let limit = seen * (1.0 + 1e-7);
    (0..=n).map(|k| binomial.pmf(k)).filter(|&p| p <= limit).sum::<f64>().min(1.0)
}

/// The largest p-value Benjamini–Hochberg keeps at rate `q`; `None` when none passes.
pub fn benjamini_hochberg_cutoff(p_values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = p_values.iter().copied().filter(|p| p.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let m = sorted.len() as f64;
    sorted.iter().enumerate().rev().find(|(i, &p)| p <= q * (*i as f64 + 1.0) / m).map(|(_, &p)| p)
}

/// "p = 0.0081", "p < 0.0001".
fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".into()
    } else {
        format!("p = {p:.4}")
    }
}

/// The findings as the CSV scripts read: `rank, kind, subject, metric, current, previous,
/// change, share_of_change, evidence, text`. Numbers unformatted (a plain fraction for shares).
pub fn table(result: &FindingsResult) -> Table {
    let header = ["rank", "kind", "subject", "metric", "current", "previous", "change", "share_of_change", "evidence", "text"]
        .map(String::from)
        .to_vec();
    let plain = |v: f64| if v.is_finite() { format!("{}", (v * 1e6).round() / 1e6) } else { String::new() };
    let rows = result
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            vec![
                (i + 1).to_string(),
                f.kind.label().to_string(),
                f.subject.clone(),
                f.metric.label().to_string(),
                plain(f.current),
                plain(f.previous),
                plain(f.change),
                f.share_of_change.map(plain).unwrap_or_default(),
                f.evidence.text.clone(),
                f.text.clone(),
            ]
        })
        .collect();
    (header, rows)
}
