//! The charts a panel shows and a report prints, built once from a result. A panel draws them
//! with `ui::chart_view::show`; a report writes them with `present::svg` and `present::pdf`.

use super::chart::{category_colour, BarLayout, Chart, Series, ValueFormat, XAxis, BAD, GOOD, PALE};
use crate::analytics::clv::HoldoutCheck;
use crate::analytics::findings::{Finding, FindingChart, FindingKind};
use crate::analytics::funnel::FunnelResult;
use crate::analytics::overview::OverviewResult;

pub const REVENUE_DEF: &str = "Revenue = Σ quantity × unit price over lines of non-cancelled invoices.";
pub const ORDERS_DEF: &str = "An order is a distinct non-cancelled invoice; invoices worth 0 or less without a customer (stock adjustments, write-offs) are not orders.";
pub const CANCEL_DEF: &str =
    "Cancellation rate = cancelled invoices / (orders + cancelled invoices). What marks a cancellation is the import's rule, named in its quality report (UCI: an invoice C + number; Olist, Shopify: the order status).";
pub const CUSTOMERS_DEF: &str = "Distinct customer ids with an order in the period. Lines without a customer id count in sales, not here.";
pub const AOV_DEF: &str = "Average order value = the value of the orders / orders (adjustments left out).";
pub const NEW_DEF: &str = "A customer is new in the month of their first order in the data, returning in later months.";

/// Revenue per month; a partial month (the data ends, or the filter cuts it) is its own pale
/// series: half a month is not a collapse.
pub fn monthly_revenue(result: &OverviewResult) -> Chart {
    let points = |partial: bool| -> Vec<(f64, f64)> {
        result.months.iter().filter(|m| m.partial == partial).map(|m| (m.month as f64, m.revenue)).collect()
    };
    let mut chart = Chart::new("Monthly revenue", XAxis::Months, ValueFormat::Money).note(REVENUE_DEF).series(Series::bars(
        "Revenue",
        category_colour(0),
        points(false),
    ));
    let partial = points(true);
    if !partial.is_empty() {
        chart = chart.series(Series::bars("Partial month", PALE, partial));
    }
    chart
}

/// Month-over-month revenue growth (none for partial months).
pub fn monthly_growth(result: &OverviewResult) -> Chart {
    let growth = result.months.iter().filter_map(|m| Some((m.month as f64, m.growth_pct?))).collect();
    Chart::new("Month-over-month growth", XAxis::Months, ValueFormat::Growth)
        .y_label("growth %")
        .note("Revenue change against the month before; months the period covers only in part have none.")
        .series(Series::line("Growth", category_colour(0), growth))
}

pub fn orders_per_month(result: &OverviewResult) -> Chart {
    let months = &result.months;
    Chart::new("Orders placed and cancelled per month", XAxis::Months, ValueFormat::Count)
        .note(format!("{ORDERS_DEF} {CANCEL_DEF}"))
        .layout(BarLayout::Grouped)
        .series(Series::bars("Placed", [70, 130, 200], months.iter().map(|m| (m.month as f64, m.placed_orders as f64)).collect()))
        .series(Series::bars("Cancelled", BAD, months.iter().map(|m| (m.month as f64, m.cancelled_orders as f64)).collect()))
}

pub fn customers_per_month(result: &OverviewResult) -> Chart {
    let months = &result.months;
    Chart::new("Active customers: new and returning", XAxis::Months, ValueFormat::Count)
        .note(NEW_DEF)
        .layout(BarLayout::Stacked)
        .series(Series::bars("New", GOOD, months.iter().map(|m| (m.month as f64, m.new_customers as f64)).collect()))
        .series(Series::bars("Returning", [120, 120, 200], months.iter().map(|m| (m.month as f64, m.returning_customers as f64)).collect()))
}

/// Units reaching each funnel step, a colour per step.
pub fn funnel_steps(result: &FunnelResult) -> Chart {
    let unit = if result.settings.count_by == crate::analytics::funnel::CountBy::Users { "users" } else { "sessions" };
    let names = result.steps.iter().enumerate().map(|(i, s)| format!("{}. {}", i + 1, s.kind.name())).collect();
    let mut chart = Chart::new(format!("Funnel ({unit})"), XAxis::Categories(names), ValueFormat::Count)
        .note(format!("{unit} reaching each step, in order"));
    // One series per step keeps a colour per step in every writer.
    for (i, step) in result.steps.iter().enumerate() {
        chart = chart.series(Series::bars(step.kind.name(), category_colour(i), vec![(i as f64, step.count as f64)]));
    }
    chart.legend = false;
    chart
}

/// The BG/NBD fit checked on a holdout period: mean purchases after the split, actual and
/// predicted, per number of purchases before it.
pub fn clv_holdout(holdout: &HoldoutCheck) -> Chart {
    let names = holdout.rows.iter().map(|r| format!("{} ({})", r.bucket, r.customers)).collect();
    let at = |f: fn(&crate::analytics::clv::HoldoutRow) -> f64| holdout.rows.iter().enumerate().map(|(i, r)| (i as f64, f(r))).collect();
    Chart::new("Holdout check: purchases after the split", XAxis::Categories(names), ValueFormat::Decimal(2))
        .y_label("mean purchases after")
        .note("Customers grouped by their repeat purchases before the split (their number in brackets).")
        .layout(BarLayout::Grouped)
        .series(Series::bars("actual", category_colour(0), at(|r| r.mean_actual)))
        .series(Series::bars("predicted", category_colour(1), at(|r| r.mean_predicted)))
}

/// Each RFM segment's share of customers beside its share of revenue: where the money is.
pub fn segment_shares(result: &crate::analytics::rfm::RfmResult) -> Chart {
    let names = result.segments.iter().map(|s| s.name.clone()).collect();
    let at = |f: fn(&crate::analytics::rfm::SegmentSummary) -> f64| {
        result.segments.iter().enumerate().map(|(i, s)| (i as f64, f(s) * 100.0)).collect()
    };
    Chart::new("Share of customers and of revenue by segment", XAxis::Categories(names), ValueFormat::Percent)
        .note("Each segment's customers and revenue as a share of all customers and all revenue in the period.")
        .layout(BarLayout::Grouped)
        .series(Series::bars("Customers", category_colour(0), at(|s| s.customer_share)))
        .series(Series::bars("Revenue", category_colour(1), at(|s| s.revenue_share)))
}

/// Demand per listing in each of the last seven months, one line per selected category.
pub fn shortage_trend(trends: &[(String, Vec<f64>)]) -> Chart {
    let mut chart = Chart::new(
        "Demand per listing, last 7 full months",
        XAxis::Numbers { label: "months back (0 = the last full month)".into(), format: ValueFormat::Count },
        ValueFormat::Decimal(1),
    )
    .note("Views, likes and orders per listing active at each month's end, for the categories in short supply.");
    for (i, (name, trend)) in trends.iter().enumerate() {
        let points = trend.iter().enumerate().map(|(m, v)| (m as f64 - 6.0, *v)).collect();
        chart = chart.series(Series::line(name.clone(), category_colour(i), points));
    }
    chart
}

/// Days to sell in one-day bins up to 60, the rest in a last bin.
pub fn days_to_sell(days: &[f64]) -> Chart {
    let mut counts = [0u64; 61];
    for d in days {
        counts[(d.max(0.0) as usize).min(60)] += 1;
    }
    let mut chart = Chart::new(
        "Days to sell (listings sold in the range)",
        XAxis::Numbers { label: "days (60 = 60 or more)".into(), format: ValueFormat::Count },
        ValueFormat::Count,
    )
    .series(Series::bars(
        "listings",
        category_colour(0),
        counts.iter().enumerate().map(|(i, n)| (i as f64 + 0.5, *n as f64)).collect(),
    ));
    chart.bar_width = 0.9;
    chart
}

/// An A/B price test's units per day, arm A then arm B, each with its mean as a flat line.
pub fn ab_units(result: &crate::analytics::abtest::AbResult) -> Chart {
    let (a, b) = &result.units;
    let series = |values: &[f64], offset: usize| values.iter().enumerate().map(|(i, v)| ((i + offset) as f64, *v)).collect::<Vec<_>>();
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let flat =
        |values: &[f64], offset: usize| vec![(offset as f64, mean(values)), ((offset + values.len().max(1) - 1) as f64, mean(values))];
    Chart::new(
        "Units per day, arm A then arm B",
        XAxis::Numbers { label: "day of the test".into(), format: ValueFormat::Count },
        ValueFormat::Decimal(1),
    )
    .note("Each arm's days in order (days without a sale count as zero); the flat lines are the arms' means.")
    .series(Series::bars("A", category_colour(0), series(a, 0)))
    .series(Series::bars("B", category_colour(1), series(b, a.len())))
    .series(Series::line("mean A", category_colour(0), flat(a, 0)))
    .series(Series::line("mean B", category_colour(1), flat(b, a.len())))
}

/// A finding's small chart: the figure before and now, or its days or months with the day or
/// month it is about marked (and the model's line for an unexpected day).
pub fn finding(finding: &Finding, currency: Option<&str>) -> Chart {
    let _ = currency;
    use crate::analytics::findings::Metric;
    // Shares and conversions are fractions: drawn in percent.
    let (format, scale) = match finding.metric {
        metric if metric.is_money() => (ValueFormat::Money, 1.0),
        Metric::RevenueShare | Metric::ViewToCart | Metric::CartToPurchase => (ValueFormat::Percent, 100.0),
        _ => (ValueFormat::Count, 1.0),
    };
    // Up or down is good or bad only for the shop's figures; a segment move or a day is neither.
    let colour = match finding.kind {
        FindingKind::Driver | FindingKind::Detractor | FindingKind::TrendChange | FindingKind::FunnelChange if finding.change >= 0.0 => {
            GOOD
        }
        FindingKind::Driver | FindingKind::Detractor | FindingKind::TrendChange | FindingKind::FunnelChange => BAD,
        _ => category_colour(0),
    };
    match &finding.chart {
        FindingChart::Pair { previous, current } => {
            // A segment move is compared with the usual count, not only the period before.
            let before = if finding.kind == FindingKind::SegmentMove { "Usual" } else { "Before" };
            Chart::new(finding_title(finding), XAxis::Categories(vec![before.into(), "Now".into()]), format)
                .series(Series::bars(if before == "Usual" { "Usual" } else { "The period before" }, PALE, vec![(0.0, previous * scale)]))
                .series(Series::bars("This period", colour, vec![(1.0, current * scale)]))
        }
        FindingChart::Series { labels, values, expected, marked } => {
            let points = |v: &[f64]| v.iter().enumerate().map(|(i, y)| (i as f64, y * scale)).collect::<Vec<_>>();
            let mut chart = Chart::new(finding_title(finding), XAxis::Categories(labels.clone()), format).series(Series::line(
                finding.metric.label().replace('_', " "),
                category_colour(1),
                points(values),
            ));
            if let Some(expected) = expected {
                chart = chart.series(Series::line("Weekday and trend", PALE, points(expected)));
            }
            let at = values.get(*marked).copied().unwrap_or_default() * scale;
            chart.series(Series::bars(finding.subject.clone(), colour, vec![(*marked as f64, at)]))
        }
    }
}

/// "Revenue · United Kingdom", "Customers moving · Loyal Customers → At Risk".
fn finding_title(finding: &Finding) -> String {
    format!("{} · {}", crate::text::upper_first(&finding.metric.label().replace('_', " ")), finding.subject)
}

/// A price change's days: the product's units a day and its controls' mean, the window before
/// and the window after, the change marked at day 0 (its first day at the new price).
pub fn price_change(realised: &crate::analytics::impact::Realised, product: &str) -> Chart {
    let window = (realised.product_units.len() / 2) as f64;
    let points = |values: &[f64]| values.iter().enumerate().map(|(d, v)| (d as f64 - window, *v)).collect::<Vec<_>>();
    let change = &realised.change;
    Chart::new(
        format!("{product}: units a day around {}", crate::analytics::customers::date_of_day(change.day)),
        XAxis::Numbers { label: "days from the price change".into(), format: ValueFormat::Count },
        ValueFormat::Decimal(1),
    )
    .note(format!(
        "Days without a sale count as zero. Comparable products: {} of the same category whose price did not change in either window.",
        realised.controls
    ))
    .series(Series::line("this product", category_colour(0), points(&realised.product_units)))
    .series(Series::line("comparable products (mean)", PALE, points(&realised.control_units)))
    .marker(-0.5, format!("{:.2} to {:.2}", change.old_price, change.new_price))
}

/// Predicted against realised units a day, per decision taken in shoplens that could be
/// measured (`rows`: the label and the two figures).
pub fn predicted_and_realised(rows: &[(String, f64, f64)]) -> Chart {
    let labels = rows.iter().map(|(label, _, _)| label.clone()).collect();
    Chart::new("Units a day: predicted and realised, per decision", XAxis::Categories(labels), ValueFormat::Decimal(1))
        .note("Predicted when decided, from the elasticity; realised against untouched products of the same category.")
        .layout(BarLayout::Grouped)
        .series(Series::bars("predicted", PALE, rows.iter().enumerate().map(|(i, r)| (i as f64, r.1)).collect()))
        .series(Series::bars("realised", category_colour(0), rows.iter().enumerate().map(|(i, r)| (i as f64, r.2)).collect()))
}
