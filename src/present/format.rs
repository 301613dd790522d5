//! Numbers as people read them, the same in the window and in reports.

/// `1234567.891` → `1,234,568` (no decimals) or `1,234,567.89`; every digit of a large number
/// (`18,446,744,073,709,551,616,000`), and "–" for what is not a number (NaN, infinity).
pub fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "–".to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let grouped = group_digits(whole);
    let sign = if value < 0.0 && text.chars().any(|c| c != '0' && c != '.') { "-" } else { "" };
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `"1234567"` → `"1,234,567"`: digits grouped in threes from the right, however many.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Money without a currency sign (exports carry no currency); two decimals under 1,000.
pub fn money(value: f64) -> String {
    if value.abs() >= 1000.0 {
        number(value, 0)
    } else {
        number(value, 2)
    }
}

/// The sign people write before an amount in this currency (ISO code, any case), where one is
/// unambiguous and every report font has it.
pub fn currency_symbol(code: &str) -> Option<&'static str> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "GBP" => "£",
        "EUR" => "€",
        "USD" => "$",
        "JPY" => "¥",
        "BRL" => "R$",
        "CAD" => "CA$",
        "AUD" => "A$",
        _ => return None,
    })
}

/// Money with its currency: `£1,234`, `-€12.50`, `1,234 CHF` (a code without a sign follows
/// the amount); without a currency, as [`money`].
pub fn money_in(value: f64, currency: Option<&str>) -> String {
    if !value.is_finite() {
        return "–".to_string();
    }
    let amount = money(value.abs());
    let sign = if value < 0.0 && amount.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    match currency.map(str::trim).filter(|c| !c.is_empty()) {
        None => money(value),
        Some(code) => match currency_symbol(code) {
            Some(symbol) => format!("{sign}{symbol}{amount}"),
            None => format!("{sign}{amount} {}", code.to_ascii_uppercase()),
        },
    }
}

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
