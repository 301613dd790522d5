//! Parsers for the values shop exports contain, each returning `None` (never a guess) when a
//! value cannot be represented exactly.
//!
//! Dates come out as `YYYY-MM-DD HH:MM:SS` text so SQLite's date functions work on them.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// How to read day and month in slash dates like `3/4/2010`; decided once per column from a
/// sample of its values (see [`SlashOrder::detect`]), never row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlashOrder {
    /// `12/1/2009 7:45`: US and Excel re-saves of the UCI data.
    #[default]
    MonthFirst,
    /// `1/12/2009 7:45`: most of Europe.
    DayFirst,
}

impl SlashOrder {
    /// Picks the order that every sample value allows; month-first when the sample cannot tell.
    pub fn detect<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        for value in values {
            let mut parts = value.trim().split(['/', ' ']);
            let (Some(a), Some(b)) = (parts.next(), parts.next()) else { continue };
            let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else { continue };
            if a > 12 && b <= 12 {
                return SlashOrder::DayFirst;
            }
            if b > 12 && a <= 12 {
                return SlashOrder::MonthFirst;
            }
        }
        SlashOrder::MonthFirst
    }
}

/// Parses a timestamp into `YYYY-MM-DD HH:MM:SS`.
///
/// Accepts ISO forms (`2009-12-01 07:45:00`, `2009-12-01T07:45`, fractional seconds, a ` UTC`
/// suffix, `Z` or a numeric offset, which is converted to UTC), a bare date, slash dates in the
/// given order, and dotted European dates (`01.12.2009 07:45`).
pub fn parse_datetime(value: &str, slash: SlashOrder) -> Option<Cow<'_, str>> {
    let value = value.trim_ascii();
    if let Some(fast) = parse_iso_fast(value) {
        return Some(fast);
    }
    let value = value.strip_suffix(" UTC").or_else(|| value.strip_suffix(" GMT")).unwrap_or(value);
    if let Some(fast) = parse_iso_fast(value) {
        return Some(fast);
    }
    parse_datetime_slow(value, slash).map(Cow::Owned)
}

/// Every form but plain ISO, through chrono.
fn parse_datetime_slow(value: &str, slash: SlashOrder) -> Option<String> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Some(format_naive(dt.naive_utc()));
    }
    if let Ok(dt) =
        DateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f%:z").or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f%z"))
    {
        return Some(format_naive(dt.naive_utc()));
    }
    const ISO: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.fZ"];
    let slash_formats: &[&str] = match slash {
        SlashOrder::MonthFirst => &["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M"],
        SlashOrder::DayFirst => &["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M"],
    };
    const DOTTED: &[&str] = &["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"];
    for format in ISO.iter().chain(slash_formats).chain(DOTTED) {
        if let Ok(dt) = NaiveDateTime::parse_from_str(value, format) {
            return Some(format_naive(dt));
        }
    }
    let date_formats: &[&str] = match slash {
        SlashOrder::MonthFirst => &["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"],
        SlashOrder::DayFirst => &["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d"],
    };
    for format in date_formats {
        if let Ok(date) = NaiveDate::parse_from_str(value, format) {
            return Some(format_naive(date.and_hms_opt(0, 0, 0)?));
        }
    }
    None
}

fn format_naive(dt: NaiveDateTime) -> String {
    dt.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The common case without chrono: exactly `YYYY-MM-DD HH:MM:SS`, optionally followed by
/// fractional seconds, validated for real calendar dates. Already-canonical text is borrowed.
fn parse_iso_fast(value: &str) -> Option<Cow<'_, str>> {
    let b = value.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32))
    };
    if b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let rest = &b[19..];
    let fraction_ok = rest.is_empty() || (rest[0] == b'.' && rest.len() > 1 && rest[1..].iter().all(u8::is_ascii_digit));
    if !fraction_ok {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if month == 0 || month > 12 || day == 0 || day > 28 || hour > 23 || minute > 59 || second > 59 {
        // Rare enough to ask chrono: days 29-31 depend on the month and leap years.
        NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_opt(hour, minute, second)?;
    }
    // The first 19 bytes are ASCII digits and separators, so slicing there is a char boundary.
    if b.len() == 19 && b[10] == b' ' {
        Some(Cow::Borrowed(value))
    } else {
        Some(Cow::Owned(format!("{} {}", &value[..10], &value[11..19])))
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

/// A decimal amount. Accepts a leading currency sign and a decimal comma (`3,50`) when the value
/// has no other separator.
pub fn parse_real(value: &str) -> Option<f64> {
    let value = value.trim_ascii();
    if let Ok(x) = value.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, value),
    };
    let unsigned = unsigned.trim_start_matches(['£', '$', '€', '¥']).trim();
    let normalised;
    let unsigned = if unsigned.matches(',').count() == 1 && !unsigned.contains('.') {
        normalised = unsigned.replace(',', ".");
        normalised.as_str()
    } else {
        unsigned
    };
    let x: f64 = unsigned.parse().ok()?;
    x.is_finite().then_some(if negative { -x } else { x })
}

/// A customer id as exports write it, normalised: `13085.0` (a float column) becomes `13085`.
/// Empty means missing. Leading zeros are kept: in general they are part of the id.
pub fn normalize_customer_id(value: &str) -> Option<&str> {
    let value = value.trim_ascii();
    if value.is_empty() {
        return None;
    }
    if let Some(whole) = value.strip_suffix(".0") {
        if !whole.is_empty() && whole.bytes().all(|c| c.is_ascii_digit()) {
            return Some(whole);
        }
    }
    Some(value)
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
    fn numbers_and_ids() {
        assert_eq!(parse_int(" -12 "), Some(-12));
        assert_eq!(parse_int("6.0"), Some(6));
        assert_eq!(parse_int("6.5"), None);
        assert_eq!(parse_int("12x"), None);
        assert_eq!(parse_real("2.55"), Some(2.55));
        assert_eq!(parse_real("£3.50"), Some(3.5));
        assert_eq!(parse_real("3,50"), Some(3.5));
        assert_eq!(parse_real("-11062.06"), Some(-11062.06));
        assert_eq!(parse_real("NaN"), None);
        assert_eq!(parse_real("1,234,5"), None);
        // REES46 category ids exceed 2^53 and must survive exactly.
        assert_eq!(parse_exact_id("2103807459595387724"), Some(2103807459595387724));
        assert_eq!(parse_exact_id("1.4875800051342385e+18"), None);
        assert_eq!(parse_exact_id("-5"), None);
        assert_eq!(normalize_customer_id("13085.0"), Some("13085"));
        assert_eq!(normalize_customer_id("  "), None);
        assert_eq!(normalize_customer_id("AB-7.0"), Some("AB-7.0"));
        assert_eq!(normalize_customer_id("00042"), Some("00042"));
        assert_eq!(strip_leading_zeros("00042"), "42");
        assert_eq!(strip_leading_zeros("000"), "0");
    }
}
