//! Parsers for the values shop exports contain, each returning `None` (never a guess) when a
//! value cannot be represented exactly.
//!
//! Dates come out as `YYYY-MM-DD HH:MM:SS` text so SQLite's date functions work on them.

use std::borrow::Cow;

use crate::timestamp::Timestamp;

pub use crate::timestamp::SlashOrder;

/// Parses a timestamp into `YYYY-MM-DD HH:MM:SS` with [`crate::timestamp`], the one parser.
/// Text that starts with that form of the time it names is borrowed, not copied: most rows of
/// most files, and REES46's `2019-10-01 00:00:00 UTC`. (`2024-01- 5 11:00:00` parses, but must
/// be stored as `2024-01-05`; `…+02:00` names another hour in UTC.)
pub fn parse_datetime(value: &str, slash: SlashOrder) -> Option<Cow<'_, str>> {
    let value = value.trim_ascii();
    let time = Timestamp::parse(value, slash)?;
    match time.stored_bytes() {
        Some(stored) if value.as_bytes().starts_with(&stored) => Some(Cow::Borrowed(&value[..stored.len()])),
        _ => Some(Cow::Owned(time.to_string())),
    }
}

/// Yes or no as feeds write it (`in_stock`/`out_of_stock` is Project Hammer's `stock_status`).
pub fn parse_flag(value: &str) -> Option<bool> {
    let normalised: String = value.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    match normalised.as_str() {
        "1" | "true" | "t" | "yes" | "y" | "instock" | "available" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "outofstock" | "unavailable" | "soldout" => Some(false),
        _ => None,
    }
}

/// A whole number. `6.0` (a float export of an integer) is accepted; `6.5` is not.
pub fn parse_int(value: &str) -> Option<i64> {
    let value = value.trim_ascii();
    if let Ok(n) = value.parse::<i64>() {
        return Some(n);
    }
    let (whole, fraction) = value.split_once('.')?;
    if !fraction.is_empty() && fraction.bytes().all(|c| c == b'0') {
        return whole.parse().ok();
    }
    None
}

/// An id that must stay exact: digits only (or `123.0`), up to i64::MAX. Values written in
/// scientific notation have already lost digits, so they are refused rather than stored wrong.
pub fn parse_exact_id(value: &str) -> Option<i64> {
    let value = value.trim_ascii();
    let digits = value.strip_suffix(".0").unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Text that SQLite's INTEGER stores without changing it: an optional `-`, then digits without
/// a leading zero (or `0` itself), within i64. `+49151…` (a phone number), `007` (a code) and
/// `12345678901234567890` (past 2^63) are not.
pub fn is_exact_integer(text: &str) -> bool {
    text.parse::<i64>().is_ok_and(|n| n.to_string() == text)
}

/// Text that SQLite's REAL stores as the same decimal number: a plain decimal (`-12.50`, `0.5`,
/// `3`) with at most 15 significant digits, which a double holds exactly to that precision.
/// Exponents, a leading `+`, leading zeros and longer digit strings (25-digit ids) are not.
pub fn is_exact_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let plain = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (whole == "0" || !whole.starts_with('0'))
        && !(unsigned.contains('.') && fraction.is_empty());
    let significant = format!("{whole}{fraction}").trim_start_matches('0').len();
    plain && significant <= 15
}

/// A customer id as exports write it, normalised: `13085.0` (a float column) becomes `13085`.
/// Empty means missing. Leading zeros are kept: in general they are part of the id.
///
/// Float exports write a missing id as `nan` (pandas) and a whole number as `1.3085e4`: the
/// first is missing, the second `13085` (only when the value is a whole number of at most 15
/// digits, which a float holds exactly; anything else is kept as written).
pub fn normalize_customer_id(value: &str) -> Option<Cow<'_, str>> {
    let value = value.trim_ascii();
    if value.is_empty() || value.eq_ignore_ascii_case("nan") {
        return None;
    }
    if let Some(whole) = value.strip_suffix(".0") {
        if !whole.is_empty() && whole.bytes().all(|c| c.is_ascii_digit()) {
            return Some(Cow::Borrowed(whole));
        }
    }
    if value.contains(['e', 'E']) && value.bytes().all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b)) {
        if let Ok(x) = value.parse::<f64>() {
            if x >= 0.0 && x.fract() == 0.0 && x < 1e15 {
                return Some(Cow::Owned(format!("{x:.0}")));
            }
        }
    }
    Some(Cow::Borrowed(value))
}

/// Drops leading zeros of an all-digit id (`00042` → `42`), for datasets like CDNOW whose ids are
/// numbers printed with padding.
pub fn strip_leading_zeros(id: &str) -> &str {
    let trimmed = id.trim_start_matches('0');
    if trimmed.is_empty() && !id.is_empty() {
        "0"
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_date_forms_exports_use() {
        let m = SlashOrder::MonthFirst;
        for (input, expected) in [
            ("2009-12-01 07:45:00", "2009-12-01 07:45:00"),
            ("2019-10-01 00:00:00 UTC", "2019-10-01 00:00:00"),
            ("2009-12-01 07:45:00.000000", "2009-12-01 07:45:00"),
            ("2009-12-01T07:45:00Z", "2009-12-01 07:45:00"),
            ("2009-12-01T09:45:00+02:00", "2009-12-01 07:45:00"),
            ("2009-12-01 07:45", "2009-12-01 07:45:00"),
            ("12/1/2009 7:45", "2009-12-01 07:45:00"),
            ("01.12.2009 07:45", "2009-12-01 07:45:00"),
            ("2009-12-01", "2009-12-01 00:00:00"),
            ("19970101", "1997-01-01 00:00:00"),
            // Found by the fuzz run: chrono reads a space-padded day; it is stored zero-padded.
            ("2024-01- 5 11:00:00", "2024-01-05 11:00:00"),
        ] {
            assert_eq!(parse_datetime(input, m).as_deref(), Some(expected), "{input}");
        }
        assert_eq!(parse_datetime("1/12/2009 7:45", SlashOrder::DayFirst).as_deref(), Some("2009-12-01 07:45:00"));
    }

    #[test]
    fn refuses_impossible_or_garbled_dates() {
        for bad in ["2009-02-30 10:00:00", "2009-13-01 00:00:00", "yesterday", "", "2009-12-01 25:00:00", "13/13/2009 7:45"] {
            assert_eq!(parse_datetime(bad, SlashOrder::MonthFirst), None, "{bad}");
        }
    }

    #[test]
    fn slash_order_is_decided_by_unambiguous_values() {
        assert_eq!(SlashOrder::detect(["1/2/2010 10:00", "25/2/2010 10:00"]), SlashOrder::DayFirst);
        assert_eq!(SlashOrder::detect(["1/2/2010 10:00", "2/25/2010 10:00"]), SlashOrder::MonthFirst);
        assert_eq!(SlashOrder::detect(["1/2/2010 10:00"]), SlashOrder::MonthFirst);
    }

    #[test]
    fn raw_columns_are_numeric_only_when_the_number_is_the_text() {
        for exact in ["0", "12", "-7", "9223372036854775807"] {
            assert!(is_exact_integer(exact), "{exact}");
        }
        for text in ["+4915112345678", "007", "9223372036854775808", "1.0", " 12", "-0", "1e3", ""] {
            assert!(!is_exact_integer(text), "{text}");
        }
        for exact in ["6.95", "-12.50", "0.5", "3", "123456789012345", "0.000001"] {
            assert!(is_exact_decimal(exact), "{exact}");
        }
        for text in ["1234567890123456789012345", "12345678901234567890", "1e5", "+1.5", "01.5", ".5", "5.", "NaN", "inf", " 1.5"] {
            assert!(!is_exact_decimal(text), "{text}");
        }
    }

    #[test]
    fn numbers_and_ids() {
        assert_eq!(parse_int(" -12 "), Some(-12));
        assert_eq!(parse_int("6.0"), Some(6));
        assert_eq!(parse_int("6.5"), None);
        assert_eq!(parse_int("12x"), None);
        // REES46 category ids exceed 2^53 and must survive exactly.
        assert_eq!(parse_exact_id("2103807459595387724"), Some(2103807459595387724));
        assert_eq!(parse_exact_id("1.4875800051342385e+18"), None);
        assert_eq!(parse_exact_id("-5"), None);
        let id = |v| normalize_customer_id(v).map(|c| c.into_owned());
        assert_eq!(id("13085.0").as_deref(), Some("13085"));
        assert_eq!(id("  "), None);
        assert_eq!(id("AB-7.0").as_deref(), Some("AB-7.0"));
        assert_eq!(id("00042").as_deref(), Some("00042"));
        assert_eq!(id("nan"), None);
        assert_eq!(id("NaN"), None);
        assert_eq!(id("1.3085e4").as_deref(), Some("13085"));
        assert_eq!(id("1.30851e4").as_deref(), Some("1.30851e4"), "not a whole number: kept as written");
        assert_eq!(id("E7").as_deref(), Some("E7"));
        assert_eq!(strip_leading_zeros("00042"), "42");
        assert_eq!(strip_leading_zeros("000"), "0");
    }
}
