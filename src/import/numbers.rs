//! How a column writes its numbers, decided once per column from the sniffing sample, never per
//! value: `1,234.50` (a decimal point, commas grouping thousands), `1.234,50` and `1 234,50`
//! (a decimal comma, points or spaces grouping thousands).
//!
//! A value alone can be ambiguous: `1,234` is 1234 in a US export and 1.234 in a German one. The
//! sample decides (a `1.234,50` elsewhere in the column, or in another numeric column of the
//! same file); when nothing does, the decimal point is assumed and the report says the column
//! was ambiguous. Every value is then read with the column's format: a value that contradicts
//! it (`3,5` in a decimal-point column) is rejected with a reason, never reinterpreted.

/// A column's number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    /// `.` or `,`.
    pub decimal: char,
}

impl Default for NumberFormat {
    fn default() -> Self {
        Self { decimal: '.' }
    }
}

impl NumberFormat {
    pub const POINT: Self = Self { decimal: '.' };
    pub const COMMA: Self = Self { decimal: ',' };

    /// The separator that may group thousands: the other of `.` and `,` (spaces, narrow
    /// no-break spaces and apostrophes are accepted as well).
    fn grouping(&self) -> char {
        if self.decimal == '.' {
            ','
        } else {
            '.'
        }
    }

    /// For the report and reject reasons: "decimal point, ',' groups thousands".
    pub fn describe(&self) -> String {
        let name = if self.decimal == '.' { "decimal point" } else { "decimal comma" };
        format!("{name}, '{}' or a space groups thousands", self.grouping())
    }

    /// Reads `value` (a leading sign and currency symbol allowed) in this format. A value with
    /// more significant digits than a stored number keeps is refused rather than rounded.
    pub fn parse(&self, value: &str) -> Result<f64, NotANumber> {
        let value = value.trim();
        if self.decimal == '.' {
            if let Ok(x) = value.parse::<f64>() {
                // Plain Rust syntax: `6.95`, `-3`, `1e5`; but not `inf` or `NaN`.
                return if x.is_finite() { kept_exactly(value, x) } else { Err(NotANumber::NotThisFormat) };
            }
        }
        let (negative, unsigned) = match value.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, value),
        };
        let unsigned = unsigned.trim_start_matches(['£', '$', '€', '¥']).trim_start();
        let (whole, fraction) = match unsigned.split_once(self.decimal) {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let fraction = fraction.filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
        if unsigned.contains(self.decimal) && fraction.is_none() {
            return Err(NotANumber::NotThisFormat);
        }
        let digits = ungroup(whole, self.grouping()).ok_or(NotANumber::NotThisFormat)?;
        let text = match fraction {
            Some(fraction) => format!("{digits}.{fraction}"),
            None => digits,
        };
        let x: f64 = text.parse().map_err(|_| NotANumber::NotThisFormat)?;
        if !x.is_finite() {
            return Err(NotANumber::NotThisFormat);
        }
        kept_exactly(&text, x).map(|x| if negative { -x } else { x })
    }
}

/// Why a value is not read as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotANumber {
    /// Not a number written in this format.
    NotThisFormat,
    /// More significant digits than a stored number (a double) keeps: storing it would change
    /// it (`6.1487580011585077248` would come back as `6.148758001158508`).
    TooPrecise,
}

impl NotANumber {
    /// For reject reasons, where the caller has no better word for the first case.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotThisFormat => "not a number",
            Self::TooPrecise => "more digits than a number keeps exactly (15 to 17 significant digits)",
        }
    }
}

/// `x` when it is the number `written` says (a plain decimal, maybe with a sign or an
/// exponent), digit for digit. Doubles keep any 15 significant digits and some of 16 or 17;
/// the shortest text that reads back as `x` has the same significant digits as `written`
/// exactly when nothing was rounded away (two different decimals with the same digits are
/// a power of ten apart, so they never read as the same double).
fn kept_exactly(written: &str, x: f64) -> Result<f64, NotANumber> {
    // Any decimal of at most 15 significant digits reads back as itself (f64's DBL_DIG) while
    // it stays in the normal range: the common case, decided without formatting `x`.
    let mantissa = written.split(['e', 'E']).next().unwrap_or("").as_bytes();
    let first = mantissa.iter().position(|b| (b'1'..=b'9').contains(b));
    let last = mantissa.iter().rposition(|b| (b'1'..=b'9').contains(b));
    match (first, last) {
        (None, _) | (_, None) if x == 0.0 => Ok(x),
        (Some(first), Some(last)) if x.is_normal() && mantissa[first..=last].iter().filter(|b| b.is_ascii_digit()).count() <= 15 => Ok(x),
        _ => kept_exactly_by_shortest_text(written, x),
    }
}

/// [`kept_exactly`] the long way: compares the significant digits written with those of the
/// shortest text that reads back as `x`.
fn kept_exactly_by_shortest_text(written: &str, x: f64) -> Result<f64, NotANumber> {
    let significant = |text: &str| -> String {
        let mantissa = text.split(['e', 'E']).next().unwrap_or("");
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        digits.trim_start_matches('0').trim_end_matches('0').to_string()
    };
    if significant(written) == significant(&format!("{:e}", x.abs())) {
        Ok(x)
    } else {
        Err(NotANumber::TooPrecise)
    }
}

/// The integer part without its grouping: `1,234,567` → `1234567`. Groups after the first must
/// have exactly three digits and use one separator; `None` otherwise.
fn ungroup(whole: &str, grouping: char) -> Option<String> {
    let is_separator = |c: char| c == grouping || c == ' ' || c == '\u{a0}' || c == '\u{202f}' || c == '\'';
    let separator = whole.chars().find(|&c| is_separator(c));
    let Some(separator) = separator else {
        return (!whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit())).then(|| whole.to_string());
    };
    let mut groups = whole.split(separator);
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = first.to_string();
    for group in groups {
        if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

/// What one value says about its column's decimal separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// No separator (`12`): says nothing.
    Neutral,
    Point,
    Comma,
    /// `1,234` or `1.234`: a thousands separator or a decimal one, the value cannot tell.
    Ambiguous,
}

fn evidence(value: &str) -> Evidence {
    let v = value.trim().trim_start_matches('-').trim_start().trim_start_matches(['£', '$', '€', '¥']);
    let (points, commas) = (v.matches('.').count(), v.matches(',').count());
    let digits_after = |sep: char| v.rsplit(sep).next().map_or(0, |s| s.len());
    let digits_before = |sep: char| v.split(sep).next().map_or(0, |s| s.chars().filter(char::is_ascii_digit).count());
    match (points, commas) {
        (0, 0) => Evidence::Neutral,
        // Both: the last one is the decimal separator.
        (p, c) if p > 0 && c > 0 => {
            if v.rfind('.') > v.rfind(',') {
                Evidence::Point
            } else {
                Evidence::Comma
            }
        }
        // Repeated: a grouping separator, so the decimal is the other one.
        (p, 0) if p > 1 => Evidence::Comma,
        (0, c) if c > 1 => Evidence::Point,
        (1, 0) if digits_after('.') == 3 && digits_before('.') <= 3 && !v.starts_with("0.") => Evidence::Ambiguous,
        (1, 0) => Evidence::Point,
        (0, 1) if digits_after(',') == 3 && digits_before(',') <= 3 && !v.starts_with("0,") => Evidence::Ambiguous,
        _ => Evidence::Comma,
    }
}

/// A column's decision and what the report should say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub format: NumberFormat,
    /// Why the format is a guess (nothing in the sample told), for the quality report.
    pub note: Option<String>,
}

/// How many values point to a decimal point, to a decimal comma, and to neither.
fn lean<'a>(values: impl IntoIterator<Item = &'a str>) -> (usize, usize, usize) {
    let (mut point, mut comma, mut ambiguous) = (0, 0, 0);
    for value in values {
        match evidence(value) {
            Evidence::Point => point += 1,
            Evidence::Comma => comma += 1,
            Evidence::Ambiguous => ambiguous += 1,
            Evidence::Neutral => {}
        }
    }
    (point, comma, ambiguous)
}

/// Decides each numeric column's format from its sample values (`columns[i]` = the sample of
/// column i, with its name). A column the sample leaves ambiguous follows the file's other
/// numeric columns, else the decimal point; either way the note says so.
pub fn decide(columns: &[(&str, Vec<&str>)]) -> Vec<Decision> {
    let leans: Vec<(usize, usize, usize)> = columns.iter().map(|(_, values)| lean(values.iter().copied())).collect();
    let (file_point, file_comma) = leans.iter().fold((0, 0), |(p, c), l| (p + l.0, c + l.1));
    columns
        .iter()
        .zip(&leans)
        .map(|((name, _), &(point, comma, ambiguous))| {
            let majority = |p: usize, c: usize| if c > p { NumberFormat::COMMA } else { NumberFormat::POINT };
            if point > 0 || comma > 0 {
                let format = majority(point, comma);
                let note = (point > 0 && comma > 0).then(|| {
                    format!(
                        "{name}: the sample writes numbers both ways ({point} with a decimal point, {comma} with a decimal comma); read as {}, the others are rejected",
                        format.describe()
                    )
                });
                return Decision { format, note };
            }
            if ambiguous == 0 {
                return Decision { format: NumberFormat::POINT, note: None };
            }
            if file_point > 0 || file_comma > 0 {
                let format = majority(file_point, file_comma);
                let note = format!(
                    "{name}: values like 1,234 or 1.234 could be thousands or decimals; read with the file's other numbers ({})",
                    format.describe()
                );
                return Decision { format, note: Some(note) };
            }
            Decision {
                format: NumberFormat::POINT,
                note: Some(format!(
                    "{name}: values like 1,234 or 1.234 could be thousands or decimals and nothing in the file tells; read as {} (map the file again if that is wrong)",
                    NumberFormat::POINT.describe()
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_point_column_groups_with_commas_and_rejects_decimal_commas() {
        let f = NumberFormat::POINT;
        for (text, want) in
            [("12,000", 12000.0), ("1,234.50", 1234.5), ("1,234,567", 1234567.0), ("6.95", 6.95), ("-3", -3.0), ("£3.50", 3.5)]
        {
            assert_eq!(f.parse(text), Ok(want), "{text}");
        }
        for bad in ["3,5", "1,23", "12,0000", "1.234,50", "1,234,5", "NaN", "inf", "", "1,,234", ",5"] {
            assert_eq!(f.parse(bad), Err(NotANumber::NotThisFormat), "{bad}");
        }
    }

    #[test]
    fn a_decimal_comma_column_groups_with_points_or_spaces() {
        let f = NumberFormat::COMMA;
        for (text, want) in
            [("3,50", 3.5), ("1.234,50", 1234.5), ("1 234,50", 1234.5), ("1\u{a0}234", 1234.0), ("12", 12.0), ("-0,5", -0.5)]
        {
            assert_eq!(f.parse(text), Ok(want), "{text}");
        }
        for bad in ["6.95", "1,234.50", "3,", "1.23,4"] {
            assert_eq!(f.parse(bad), Err(NotANumber::NotThisFormat), "{bad}");
        }
    }

    /// Hand-checked against the shortest round-trip text of each double (Python's `repr`):
    /// a value is loaded only when the stored double reads back as the digits written.
    #[test]
    fn a_number_with_more_digits_than_a_double_keeps_is_refused_not_rounded() {
        for (text, want) in [
            ("0.30000000000000004", 0.30000000000000004),
            ("6.950000000000000000", 6.95),
            ("123456789012345", 123456789012345.0),
            ("1e5", 100000.0),
            ("-0.000", 0.0),
            ("1.5E-3", 0.0015),
        ] {
            assert_eq!(NumberFormat::POINT.parse(text), Ok(want), "{text}");
        }
        for (format, text) in [
            (NumberFormat::POINT, "6.1487580011585077248"),
            (NumberFormat::POINT, "0.1000000000000000001"),
            (NumberFormat::POINT, "12345678901234567890"),
            (NumberFormat::POINT, "9007199254740993"),
            (NumberFormat::COMMA, "1.234,5678901234567891"),
            (NumberFormat::POINT, "£1,234.5678901234567891"),
        ] {
            assert_eq!(format.parse(text), Err(NotANumber::TooPrecise), "{text}");
        }
    }

    proptest::proptest! {
        /// The shortcut for numbers of at most 15 significant digits decides as the long way
        /// (reference: the shortest round-trip text of the double, Rust's `{:e}`) on random
        /// decimals of 1 to 20 digits, any point position and exponent.
        #[test]
        fn the_fifteen_digit_shortcut_agrees_with_the_shortest_text(
            digits in "[0-9]{1,20}", point in 0usize..21, exponent in proptest::option::of(-330i32..330), negative: bool,
        ) {
            let point = point.min(digits.len());
            let mut written = format!("{}{}.{}", if negative { "-" } else { "" }, &digits[..point], &digits[point..]);
            if let Some(e) = exponent {
                written.push_str(&format!("e{e}"));
            }
            if let Ok(x) = written.parse::<f64>() {
                if x.is_finite() {
                    proptest::prop_assert_eq!(kept_exactly(&written, x), kept_exactly_by_shortest_text(&written, x), "{}", written);
                }
            }
        }
    }

    #[test]
    fn the_sample_decides_once_per_column() {
        let decide1 = |values: Vec<&str>| decide(&[("price", values)]).remove(0);
        assert_eq!(decide1(vec!["12,000", "1,234.50", "7"]), Decision { format: NumberFormat::POINT, note: None });
        assert_eq!(decide1(vec!["3,50", "1.234,50"]), Decision { format: NumberFormat::COMMA, note: None });
        assert_eq!(decide1(vec!["1.234.567", "12"]).format, NumberFormat::COMMA, "repeated points group thousands");
        // Nothing but ambiguous values: the decimal point, and the report says it was a guess.
        let guess = decide1(vec!["1,234", "2,500"]);
        assert_eq!(guess.format, NumberFormat::POINT);
        assert!(guess.note.unwrap().contains("could be thousands or decimals"));
        // Another column of the same file settles it.
        let both = decide(&[("price", vec!["1,234"]), ("discount", vec!["0,5", "2,25"])]);
        assert_eq!(both[0].format, NumberFormat::COMMA);
        assert!(both[0].note.as_ref().unwrap().contains("the file's other numbers"));
        // Mixed: the majority, said plainly.
        let mixed = decide1(vec!["1.5", "2.5", "3,5"]);
        assert_eq!(mixed.format, NumberFormat::POINT);
        assert!(mixed.note.unwrap().contains("both ways"));
    }
}
