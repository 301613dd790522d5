//! Numbers as people read them, the same in the window and in reports.

// Numbers and money are written by `crate::text`, which the analytics use for their sentences too.
pub use crate::text::{currency_symbol, money, money_decimals, money_in, money_with_decimals, number};

/// What the figures leave out when the lines are in several currencies, `None` when nothing.
pub fn other_currencies_note(currency: Option<&str>, lines_left_out: u64) -> Option<String> {
    (lines_left_out > 0).then(|| {
        format!(
            "Figures in {}: {} order lines in other currencies are left out (money in different currencies is never added up; choose the currency in the top bar, or --currency)",
            currency.unwrap_or("the main currency"),
            number(lines_left_out as f64, 0)
        )
    })
}

/// How a table column's cells are written for people (reports, slides). CSV exports keep the
/// machine form: `0.5144`, `260522.7774`, `2010-12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnFormat {
    Text,
    /// Whole numbers with thousands separators.
    Count,
    /// A plain number with this many decimals and thousands separators.
    Decimal(usize),
    /// Money in the figures' currency.
    Money,
    /// A fraction shown as a percentage: `0.5144` → `51.4%`.
    Ratio,
    /// A number that already is a percentage: `35.29` → `35.3%`.
    Percent,
    /// A month `2010-12` → `Dec 2010`.
    Month,
    /// A day `2010-12-09` (or a timestamp starting with one) → `9 Dec 2010`.
    Day,
    /// A machine list (`14.160;15.209;…`): a chart shows it, a table for people leaves it out.
    Hidden,
}

impl ColumnFormat {
    /// Numbers are right-aligned so their digits line up.
    pub fn is_numeric(self) -> bool {
        !matches!(self, ColumnFormat::Text | ColumnFormat::Month | ColumnFormat::Day | ColumnFormat::Hidden)
    }

    /// A whole column for people, alike from row to row: money in a column with an amount of
    /// 1,000 or more has no decimals in any row, else two.
    pub fn column(self, cells: &[&str], currency: Option<&str>) -> Vec<String> {
        if self == ColumnFormat::Money {
            let decimals = money_decimals(cells.iter().filter_map(|c| c.trim().parse::<f64>().ok()));
            return cells
                .iter()
                .map(|c| match c.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => money_with_decimals(v, currency, decimals),
                    _ => c.to_string(),
                })
                .collect();
        }
        cells.iter().map(|c| self.cell(c, currency)).collect()
    }

    /// `cell` (as the analytics table wrote it) for people; a cell that does not read as this
    /// format is shown as it is, never altered.
    pub fn cell(self, cell: &str, currency: Option<&str>) -> String {
        let trimmed = cell.trim();
        if trimmed.is_empty() {
            return String::new();
        }
        let value = trimmed.parse::<f64>().ok().filter(|v| v.is_finite());
        match (self, value) {
            (ColumnFormat::Count, Some(v)) => number(v, 0),
            (ColumnFormat::Decimal(d), Some(v)) => number(v, d),
            (ColumnFormat::Money, Some(v)) => money_in(v, currency),
            (ColumnFormat::Ratio, Some(v)) => format!("{}%", number(v * 100.0, 1)),
            (ColumnFormat::Percent, Some(v)) => format!("{}%", number(v, 1)),
            (ColumnFormat::Month, _) => {
                chrono::NaiveDate::parse_from_str(&format!("{}-01", trimmed.get(..7).unwrap_or(trimmed)), "%Y-%m-%d")
                    .map_or_else(|_| cell.to_string(), |d| d.format("%b %Y").to_string())
            }
            (ColumnFormat::Day, _) => {
                chrono::NaiveDate::parse_from_str(trimmed.get(..10).unwrap_or(trimmed), "%Y-%m-%d").map_or_else(|_| cell.to_string(), day)
            }
            _ => cell.to_string(),
        }
    }
}

/// How the column an analytics table names `name` is written for people. One dictionary for
/// every table a report or slide shows; a name it does not know stays text.
pub fn column_format(name: &str) -> ColumnFormat {
    use ColumnFormat::*;
    if let Some(months) = name.strip_prefix("month_") {
        if months.parse::<u32>().is_ok() {
            // Cohort tables: the share of the cohort active (already ×100); the revenue table
            // overrides it as money.
            return Percent;
        }
    }
    match name {
        "revenue"
        | "mean_monetary"
        | "mean_clv"
        | "monetary"
        | "clv"
        | "expected_average_order_value"
        | "average_order_value"
        | "value"
        | "cart_value"
        | "price"
        | "our_price"
        | "old_price"
        | "new_price"
        | "profit"
        | "predicted_revenue_per_day"
        | "predicted_profit_per_day"
        | "realised_profit_per_day" => Money,
        "share_of_customers"
        | "share_of_revenue"
        | "p_alive"
        | "conversion_from_first"
        | "conversion_from_previous"
        | "success_rate"
        | "conversion"
        | "sell_through_30d"
        | "p_sell"
        | "share"
        | "rate"
        | "abandonment_rate"
        | "cancellation_rate"
        | "p_positive" => Ratio,
        "customers" | "units" | "count" | "products" | "demand" | "supply" | "listed" | "sold" | "views" | "likes" | "orders"
        | "active" | "purchases" | "collection_size" | "frequency" | "quantity" | "carts" | "sessions" | "users" | "lines" | "rows" => {
            Count
        }
        "mean_recency_days"
        | "mean_frequency"
        | "recency_months"
        | "T_months"
        | "expected_purchases_12_months"
        | "median_days_to_sell"
        | "median_days_on_market"
        | "months_of_supply"
        | "shortage_ratio"
        | "new_listings_per_month"
        | "index"
        | "recency_days" => Decimal(1),
        "score" | "match" | "predicted_units_per_day" | "realised_units_per_day" | "ci_low" | "ci_high" => Decimal(2),
        "cohort" | "month" => Month,
        "date" | "day" | "decided_at" | "first_order" | "last_order" => Day,
        "trend_7_months" => Hidden,
        _ => Text,
    }
}

/// A column's heading for people: `share_of_customers` → "Share of customers", with the
/// names a marketer would use where the machine name is terse.
pub fn column_label(name: &str) -> String {
    if let Some(months) = name.strip_prefix("month_").and_then(|m| m.parse::<u32>().ok()) {
        return format!("Month {months}");
    }
    let known = match name {
        "stock_code" => "Code",
        "customer_id" => "Customer",
        "user_id" => "User",
        "product_id" => "Product",
        "p_alive" => "P(alive)",
        "p_sell" => "P(sells)",
        "p_positive" => "P(rise)",
        "T_months" => "Age (months)",
        "recency_months" => "Last purchase (months)",
        "mean_recency_days" => "Days since last order",
        "mean_frequency" => "Orders",
        "mean_monetary" => "Spend",
        "mean_clv" => "CLV",
        "clv" => "CLV",
        "expected_purchases_12_months" => "Purchases next 12 months",
        "expected_average_order_value" => "Expected order value",
        "conversion_from_first" => "From first step",
        "conversion_from_previous" => "From previous step",
        "sell_through_30d" => "Sold in 30 days",
        "median_days_to_sell" => "Days to sell",
        "median_days_on_market" => "Days on market",
        "new_listings_per_month" => "New listings a month",
        "shortage_ratio" => "Demand per listing",
        "conversion_of" => "Conversion of",
        "index" => "Price index",
        "selected" => "Short",
        "event" => "Event",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    crate::text::upper_first(&name.replace('_', " "))
}

/// A day as people write it: `9 Dec 2010`.
pub fn day(date: chrono::NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}

/// What a view's date range shows, for a slide or a report page: "All the data", "The last full
/// month (1 Nov 2010 – 30 Nov 2010)", "1 Mar 2010 – 31 May 2010".
pub fn dates_for_people(range: &crate::analytics::period::DateRange, last_day: Option<chrono::NaiveDate>) -> String {
    use crate::analytics::period::{days_text, DateRange};
    let mut name = range.name().to_string();
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    match (range, last_day) {
        (DateRange::Fixed { from, to }, _) => days_text((*from, *to), day, " – "),
        (DateRange::AllData, _) | (_, None) => name,
        (_, Some(last)) => format!("{name} ({})", days_text(range.resolve(last), day, " – ")),
    }
}

/// The note under a cohort table whose last month the period covers only in part (its cells
/// there are marked `*`); `None` when every month is whole.
pub fn cohort_partial_note(result: &crate::analytics::cohorts::CohortResult) -> Option<String> {
    let end = result.last_day.filter(|_| result.partial_month.is_some())?;
    Some(format!(
        "* A partial month: the period ends on {}, so each cohort's cell in that month covers part of it (marked *, left unshaded).",
        day(end)
    ))
}

/// A count with its noun, singular or plural: `1 row`, `2,417 rows`.
pub fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", number(n as f64, 0), if n == 1 { one } else { many })
}

/// A size in bytes: `512 B`, `12.3 KB`, `4.1 MB`, `2.0 GB` (powers of 1,000, as networks count).
pub fn bytes(n: u64) -> String {
    let units = [("GB", 1e9), ("MB", 1e6), ("KB", 1e3)];
    match units.iter().find(|(_, size)| n as f64 >= *size) {
        Some((unit, size)) => format!("{:.1} {unit}", n as f64 / size),
        None => format!("{n} B"),
    }
}

pub fn percent(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_string();
    }
    format!("{value:+.1}%")
}

/// "the month before (2010-10-01 to 2010-10-31)": what the Overview's changes compare with,
/// for the panel, the CLI and reports; `None` without an earlier period in the data.
pub fn compared_with(result: &crate::analytics::overview::OverviewResult) -> Option<String> {
    let (period, (from, to)) = (result.period?, result.previous_period?);
    Some(format!("{} ({from} to {to})", crate::analytics::overview::Comparison::of(period).describe()))
}

/// The note the Overview, the CLI and reports show about invoices that are adjustments, not
/// orders (`analytics::overview`'s definitions); `None` when there are none.
pub fn adjustments_note(adjustments: &crate::analytics::overview::Adjustments, money: impl Fn(f64) -> String) -> Option<String> {
    let n = adjustments.invoices;
    (n > 0).then(|| {
        let (noun, verb) = if n == 1 { ("invoice", "is") } else { ("invoices", "are") };
        format!(
            "{} {noun} worth 0 or less without a customer (stock adjustments, write-offs; {} in all) {verb} not counted as orders; their value stays in revenue",
            number(n as f64, 0),
            money(adjustments.value),
        )
    })
}

/// Column widths that fit `room`: as wanted when they fit; else the text columns give way
/// first (numbers keep their width, so no figure is cut mid-digit), and only when the numbers
/// alone overflow does every column shrink alike. Slides, reports and the window's tables.
pub fn fit_widths(wanted: &[f64], numeric: &[bool], room: f64) -> Vec<f64> {
    let is_number = |i: usize| numeric.get(i).copied().unwrap_or(false);
    let total = |number: bool| -> f64 { wanted.iter().enumerate().filter(|&(i, _)| is_number(i) == number).map(|(_, w)| w).sum() };
    let (numbers, texts) = (total(true), total(false));
    wanted
        .iter()
        .enumerate()
        .map(|(i, &w)| match (is_number(i), numbers + texts > room) {
            (_, false) => w,
            (false, true) if room > numbers => w * (room - numbers) / texts.max(1.0),
            (_, true) => w * room / (numbers + texts),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_carries_its_currency() {
        assert_eq!(money_in(1234.6, Some("GBP")), "£1,235");
        assert_eq!(money_in(-12.5, Some("eur")), "-€12.50");
        assert_eq!(money_in(729.51, Some("CHF")), "729.51 CHF");
        assert_eq!(money_in(729.51, None), "729.51");
        assert_eq!(money_in(-0.001, Some("USD")), "$0.00");
    }

    #[test]
    fn columns_are_written_for_people() {
        assert_eq!(column_label("share_of_customers"), "Share of customers");
        assert_eq!(column_label("month_3"), "Month 3");
        assert_eq!(column_label("p_alive"), "P(alive)");
        assert_eq!(column_format("share_of_revenue").cell("0.5144", None), "51.4%");
        assert_eq!(column_format("clv").cell("260522.7774", Some("GBP")), "£260,523");
        assert_eq!(column_format("mean_monetary").cell("729.514", Some("GBP")), "£729.51");
        assert_eq!(column_format("month_1").cell("35.29", None), "35.3%");
        assert_eq!(column_format("cohort").cell("2010-12", None), "Dec 2010");
        assert_eq!(column_format("decided_at").cell("2010-12-09 07:00", None), "9 Dec 2010");
        assert_eq!(column_format("customers").cell("13395", None), "13,395");
        assert_eq!(ColumnFormat::Money.column(&["6852.2", "729.51", "x"], Some("GBP")), ["£6,852", "£730", "x"]);
        assert_eq!(ColumnFormat::Money.column(&["68.2", "729.514"], None), ["68.20", "729.51"]);
        // What does not read as the column's format is shown as it is.
        assert_eq!(column_format("revenue").cell("n/a", None), "n/a");
        assert_eq!(column_format("cohort").cell("early", None), "early");
        assert_eq!(column_format("trend_7_months"), ColumnFormat::Hidden);
    }

    /// Hand-checked: the range names the report prints, from the data's last day 9 Dec 2010.
    #[test]
    fn date_ranges_for_people() {
        use crate::analytics::period::DateRange;
        let last = chrono::NaiveDate::from_ymd_opt(2010, 12, 9);
        assert_eq!(dates_for_people(&DateRange::AllData, last), "All the data");
        assert_eq!(dates_for_people(&DateRange::LastFullMonth, last), "The last full month (1 Nov 2010 – 30 Nov 2010)");
        assert_eq!(dates_for_people(&DateRange::YearToDate, None), "Year to date");
        let fixed = DateRange::Fixed { from: chrono::NaiveDate::from_ymd_opt(2010, 3, 1), to: None };
        assert_eq!(dates_for_people(&fixed, last), "from 1 Mar 2010");
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(count_of(1, "decision", "decisions"), "1 decision");
        assert_eq!(count_of(0, "row", "rows"), "0 rows");
        assert_eq!(count_of(2417, "row", "rows"), "2,417 rows");
    }

    #[test]
    fn every_digit_and_no_number_said_as_such() {
        assert_eq!(number(1.8e19, 0), "18,000,000,000,000,000,000");
        assert_eq!(number(123.0, 0), "123");
        assert_eq!(number(-1234.5, 1), "-1,234.5");
        assert_eq!(number(f64::NAN, 2), "–");
        assert_eq!(number(f64::INFINITY, 0), "–");
        assert_eq!(money(f64::NEG_INFINITY), "–");
        assert_eq!(percent(f64::NAN), "–");
    }
}
