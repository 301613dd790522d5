//! Plain-text helpers every layer shares: a leaf module (it uses no other), so the importer's
//! report, the workspace, the analytics' sentences (findings) and the presentation layer can all
//! say "1,234,567" and "£1,234" the same way without reaching up into each other.

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

/// `1234567.891` → `1,234,568` (no decimals) or `1,234,567.89`; every digit of a large number
/// (`18,446,744,073,709,551,616,000`), and "–" for what is not a number (NaN, infinity).
/// `value` with its sign always written, "+" or a true minus "−", the magnitude written by
/// `magnitude` ("+£12.50", "−1,296.2"): a change, not an amount.
pub fn signed(value: f64, magnitude: impl Fn(f64) -> String) -> String {
    format!("{}{}", if value >= 0.0 { "+" } else { "−" }, magnitude(value.abs()))
}

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

/// Money without a currency sign (exports carry no currency); two decimals under 1,000.
pub fn money(value: f64) -> String {
    money_in(value, None)
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
    money_with_decimals(value, currency, money_decimals([value]))
}

/// The decimals a column of amounts is written with: none when any amount reaches 1,000, else
/// two, so every row of a column reads alike.
pub fn money_decimals(amounts: impl IntoIterator<Item = f64>) -> usize {
    if amounts.into_iter().any(|v| v.is_finite() && v.abs() >= 1000.0) {
        0
    } else {
        2
    }
}

/// Money with its currency and a fixed number of decimals (a table column writes every amount
/// alike, so `£6,852.00` never sits above `£729.51` as `6,852`).
pub fn money_with_decimals(value: f64, currency: Option<&str>, decimals: usize) -> String {
    if !value.is_finite() {
        return "–".to_string();
    }
    let amount = number(value.abs(), decimals);
    let sign = if value < 0.0 && amount.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    match currency.map(str::trim).filter(|c| !c.is_empty()) {
        None => format!("{sign}{amount}"),
        Some(code) => match currency_symbol(code) {
            Some(symbol) => format!("{sign}{symbol}{amount}"),
            None => format!("{sign}{amount} {}", code.to_ascii_uppercase()),
        },
    }
}

/// `"new customers"` → `"New customers"`: the first letter in capitals, for a word that starts
/// a sentence or a heading.
pub fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_are_grouped_in_threes_from_the_right() {
        for (digits, grouped) in [("", ""), ("7", "7"), ("123", "123"), ("1234", "1,234"), ("1234567", "1,234,567"), ("100000", "100,000")]
        {
            assert_eq!(super::group_digits(digits), grouped);
        }
    }
}
