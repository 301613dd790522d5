//! The one timestamp parser: the importer, the events file read straight into memory, the
//! workspace copies, live mode and the command line's dates all read times here, so a time
//! one of them accepts the others accept too, and an impossible date (31 February) is refused
//! everywhere.
//!
//! The common form, `YYYY-MM-DD HH:MM:SS` (a `T` instead of the space, fractional seconds and a
//! ` UTC` or `Z` suffix allowed), is read by hand: it runs once per row on tens of millions of
//! rows. Every other form (offsets, slash and dotted dates, a bare date) goes through chrono.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

/// How to read day and month in slash or dash dates like `3/4/2010` or `03-04-2010`; decided
/// once per column from a sample of its values (see [`SlashOrder::decide`]), never row by row.
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
        Self::decide(values).0
    }

    /// The order the whole sample allows, and for the quality report what decided it (`None`
    /// when the sample has no day-month dates at all). Only dates that start with the day or
    /// month count (`3/4/2010`, `03-04-2010 10:00`): ISO dates start with the year.
    pub fn decide<'a>(values: impl IntoIterator<Item = &'a str>) -> (Self, Option<String>) {
        let (mut seen, mut day_first, mut month_first) = (0usize, 0usize, 0usize);
        for value in values {
            let value = value.trim();
            let mut parts = value.split(['/', '-', ' ']);
            let (Some(a), Some(b), Some(year)) = (parts.next(), parts.next(), parts.next()) else { continue };
            let two_digits = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit());
            if !two_digits(a) || !two_digits(b) || !(year.len() == 4 || year.len() == 2) || !year.bytes().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else { continue };
            seen += 1;
            day_first += (a > 12 && b <= 12) as usize;
            month_first += (b > 12 && a <= 12) as usize;
        }
        match (seen, day_first, month_first) {
            (0, _, _) => (SlashOrder::MonthFirst, None),
            (_, d, 0) if d > 0 => {
                (SlashOrder::DayFirst, Some(format!("dates read day first (DD-MM-YYYY): {d} of {seen} sampled dates start with a day above 12")))
            }
            (_, 0, m) if m > 0 => (
                SlashOrder::MonthFirst,
                Some(format!("dates read month first (MM-DD-YYYY): {m} of {seen} sampled dates have a day above 12 in second place")),
            ),
            (_, 0, 0) => (
                SlashOrder::MonthFirst,
                Some(format!(
                    "dates read month first (MM-DD-YYYY): none of the {seen} sampled dates tells the order (every day is 12 or less); check a few in the table"
                )),
            ),
            (_, d, m) => (
                SlashOrder::MonthFirst,
                Some(format!(
                    "the sampled dates disagree on their order ({d} read only day first, {m} only month first): read month first, and rows that do not fit are rejected"
                )),
            ),
        }
    }
}

/// A date and time of day (UTC) that exists on the calendar, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days in `month` of `year` (proleptic Gregorian calendar).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Timestamp {
    /// The timestamp if every field is in range and the day exists in that month.
    pub fn new(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) && hour < 24 && minute < 60 && second < 60;
        valid.then_some(Self { year, month, day, hour, minute, second })
    }

    /// Parses any form shop exports use (see the module docs); `None` rather than a guess.
    pub fn parse(text: &str, slash: SlashOrder) -> Option<Self> {
        let text = text.trim_ascii();
        parse_iso(text.as_bytes()).or_else(|| parse_other(text, slash))
    }

    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn epoch_seconds(&self) -> i64 {
        // Days from civil (Howard Hinnant's algorithm).
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }

    pub fn date(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day).expect("a Timestamp is a real date")
    }

    /// This time `minutes` earlier (a local time with its offset, as UTC).
    fn minus_minutes(&self, minutes: i64) -> Option<Self> {
        let utc = DateTime::from_timestamp(self.epoch_seconds() - minutes * 60, 0)?;
        Self::from_chrono(utc.naive_utc())
    }

    fn from_chrono(dt: NaiveDateTime) -> Option<Self> {
        // chrono reads second 60 as a leap second (nanoseconds past 10⁹); no export means one.
        if dt.nanosecond() >= 1_000_000_000 {
            return None;
        }
        Self::new(dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second())
    }

    /// The stored text (`YYYY-MM-DD HH:MM:SS`, as [`Display`](std::fmt::Display) writes it)
    /// without the formatter, for the importer's hot path; `None` for years outside 0..=9999.
    pub fn stored_bytes(&self) -> Option<[u8; 19]> {
        let year = u32::try_from(self.year).ok().filter(|&y| y <= 9999)?;
        let mut text = *b"0000-00-00 00:00:00";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (at..at + width).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, self.month);
        put(8, 2, self.day);
        put(11, 2, self.hour);
        put(14, 2, self.minute);
        put(17, 2, self.second);
        Some(text)
    }
}

impl std::fmt::Display for Timestamp {
    /// `YYYY-MM-DD HH:MM:SS`: how the workspace stores times (SQLite's date functions read it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02} {:02}:{:02}:{:02}", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }
}

/// `YYYY-MM-DD[ T]HH:MM:SS`, then optionally `.digits`, then optionally ` UTC`, ` GMT`, `Z` or
/// an offset from UTC (`+02:00`, `+0200`, `+02`, with or without a space before it: Shopify
/// writes `2025-10-07 09:50:26 +0200`, PostgreSQL's `timestamptz` `2019-10-01 00:00:00+00`).
/// A time with an offset is the instant it names, stored in UTC.
fn parse_iso(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    let local = Timestamp::new(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?, digits(11..13)?, digits(14..16)?, digits(17..19)?)?;
    match rest {
        b"" | b" UTC" | b" GMT" | b"Z" => Some(local),
        _ => local.minus_minutes(utc_offset_minutes(rest)?),
    }
}

/// Minutes east of UTC of an offset suffix: ` +02:00`, `+0200`, `-08`, `+05:30`.
pub fn utc_offset_minutes(suffix: &[u8]) -> Option<i64> {
    let suffix = suffix.strip_prefix(b" ").unwrap_or(suffix);
    let (&sign, rest) = suffix.split_first()?;
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let number = |d: &[u8]| d.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')));
    let (hours, minutes) = match rest.len() {
        2 => (number(rest)?, 0),
        4 => (number(&rest[..2])?, number(&rest[2..])?),
        5 if rest[2] == b':' => (number(&rest[..2])?, number(&rest[3..])?),
        _ => return None,
    };
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// Every form but plain ISO, through chrono.
fn parse_other(value: &str, slash: SlashOrder) -> Option<Timestamp> {
    let value = value.strip_suffix(" UTC").or_else(|| value.strip_suffix(" GMT")).unwrap_or(value);
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Timestamp::from_chrono(dt.naive_utc());
    }
    if let Ok(dt) =
        DateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f%:z").or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f%z"))
    {
        return Timestamp::from_chrono(dt.naive_utc());
    }
    const ISO: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.fZ"];
    let slash_formats: &[&str] = match slash {
        SlashOrder::MonthFirst => &["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M", "%m-%d-%Y %H:%M:%S", "%m-%d-%Y %H:%M"],
        SlashOrder::DayFirst => &["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M"],
    };
    const DOTTED: &[&str] = &["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"];
    for format in ISO.iter().chain(slash_formats).chain(DOTTED) {
        if let Ok(dt) = NaiveDateTime::parse_from_str(value, format) {
            return Timestamp::from_chrono(dt);
        }
    }
    let date_formats: &[&str] = match slash {
        SlashOrder::MonthFirst => &["%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y%m%d"],
        SlashOrder::DayFirst => &["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d"],
    };
    date_formats
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(value, format).ok())
        .and_then(|d| Timestamp::from_chrono(d.and_time(Default::default())))
}

/// A date or time typed by a person (a command-line option, a date field) that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDate {
    #[error("'{0}' is not a date like 2010-03-31")]
    Format(String),
    #[error("'{text}' is not a date: {month} has {days} days")]
    NoSuchDay { text: String, month: String, days: u32 },
    #[error("'{0}' is not a time like 2019-10-31 23:59:00")]
    Time(String),
}

/// A `YYYY-MM-DD` date typed by a person; an impossible one is an error that names it.
pub fn parse_date(text: &str) -> Result<NaiveDate, InvalidDate> {
    let text = text.trim();
    let b = text.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit).then(|| std::str::from_utf8(s).ok()?.parse::<u32>().ok()).flatten();
    let fields = (b.len() == 10 && b[4] == b'-' && b[7] == b'-').then(|| Some((digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)));
    let Some((year, month, day)) = fields.flatten() else { return Err(InvalidDate::Format(text.to_string())) };
    if !(1..=12).contains(&month) {
        return Err(InvalidDate::Format(text.to_string()));
    }
    match Timestamp::new(year as i32, month, day, 0, 0, 0) {
        Some(t) => Ok(t.date()),
        None => {
            let name = NaiveDate::from_ymd_opt(year as i32, month, 1).map_or_else(String::new, |d| d.format("%B %Y").to_string());
            Err(InvalidDate::NoSuchDay { text: text.to_string(), month: name, days: days_in_month(year as i32, month) })
        }
    }
}

/// A time typed by a person, in any form the importer reads (`2019-10-31 23:59:00`, ...).
pub fn parse_time(text: &str) -> Result<Timestamp, InvalidDate> {
    let text = text.trim();
    Timestamp::parse(text, SlashOrder::MonthFirst).ok_or_else(|| match parse_date(text.get(..10).unwrap_or(text)) {
        Err(InvalidDate::NoSuchDay { month, days, .. }) => InvalidDate::NoSuchDay { text: text.to_string(), month, days },
        _ => InvalidDate::Time(text.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Option<String> {
        Timestamp::parse(text, SlashOrder::MonthFirst).map(|t| t.to_string())
    }

    #[test]
    fn reads_the_forms_exports_use() {
        for (input, expected) in [
            ("2009-12-01 07:45:00", "2009-12-01 07:45:00"),
            ("2009-12-01T07:45:00", "2009-12-01 07:45:00"),
            ("2019-10-01 00:00:00 UTC", "2019-10-01 00:00:00"),
            ("2019-10-01 00:00:00.250", "2019-10-01 00:00:00"),
            ("2019-10-01T00:00:00Z", "2019-10-01 00:00:00"),
            ("2019-10-01T02:00:00+02:00", "2019-10-01 00:00:00"),
            ("12/1/2009 7:45", "2009-12-01 07:45:00"),
            ("01.12.2009 07:45", "2009-12-01 07:45:00"),
            ("2009-12-01", "2009-12-01 00:00:00"),
            ("2020-02-29 12:00:00", "2020-02-29 12:00:00"),
            // Offsets: the instant, in UTC (Shopify, PostgreSQL's timestamptz as COPY writes it).
            ("2025-10-07 09:50:26 +0200", "2025-10-07 07:50:26"),
            ("2025-10-07 00:50:26 +0200", "2025-10-06 22:50:26"),
            ("2019-10-01 00:00:00+00", "2019-10-01 00:00:00"),
            ("2019-10-01 00:00:00.25-08", "2019-10-01 08:00:00"),
            ("2019-12-31 23:30:00-05:30", "2020-01-01 05:00:00"),
            ("12-01-2009 07:45", "2009-12-01 07:45:00"),
        ] {
            assert_eq!(parse(input).as_deref(), Some(expected), "{input}");
        }
        assert_eq!(Timestamp::parse("1/12/2009 7:45", SlashOrder::DayFirst).map(|t| t.to_string()).as_deref(), Some("2009-12-01 07:45:00"));
        assert_eq!(Timestamp::parse("01-05-2017", SlashOrder::DayFirst).map(|t| t.to_string()).as_deref(), Some("2017-05-01 00:00:00"));
    }

    #[test]
    fn day_month_order_is_decided_from_the_whole_sample() {
        let decide = |values: &[&str]| SlashOrder::decide(values.iter().copied());
        // Kaggle's month_year: every value is the first of a month, one sampled day above 12.
        assert_eq!(decide(&["01-05-2017", "01-06-2017", "13-06-2017"]).0, SlashOrder::DayFirst);
        assert_eq!(decide(&["05/01/2017 10:00", "06/13/2017 10:00"]).0, SlashOrder::MonthFirst);
        // ISO dates are not day-month dates: no decision to report.
        assert_eq!(decide(&["2017-05-01", "2017-05-13 10:00:00"]), (SlashOrder::MonthFirst, None));
        let (order, note) = decide(&["01-05-2017", "02-05-2017"]);
        assert_eq!(order, SlashOrder::MonthFirst);
        assert!(note.unwrap().contains("none of the 2 sampled dates tells the order"));
        let (_, note) = decide(&["13/01/2017", "01/13/2017"]);
        assert!(note.unwrap().contains("disagree"));
    }

    #[test]
    fn refuses_impossible_times_in_every_form() {
        for bad in [
            "2019-02-31 10:00:00",
            "2019-02-29 10:00:00",
            "1900-02-29 00:00:00",
            "2019-04-31T00:00:00",
            "2019-13-01 00:00:00",
            "2019-10-01 24:00:00",
            "2019-10-01 23:60:00",
            "2019-10-01 23:59:60",
            "2019-10-01 00:00:0x",
            "2019-10-01 00:00:00 CET",
            "2019-10-01 00:00:00+25",
            "2019-10-01 00:00:00 +02:0",
            "2019-10-01 00:00:00.",
            "2/31/2019 10:00",
            "31.02.2019 10:00",
            "2019-02-31",
            "soon",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_seconds_agree_with_chrono() {
        for text in ["1970-01-01 00:00:00", "1969-12-31 23:59:59", "2000-02-29 12:34:56", "2019-10-01 00:00:00", "2400-12-31 23:59:59"] {
            let want = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap().and_utc().timestamp();
            assert_eq!(Timestamp::parse(text, SlashOrder::MonthFirst).unwrap().epoch_seconds(), want, "{text}");
        }
    }

    #[test]
    fn a_typed_date_that_does_not_exist_is_named() {
        assert_eq!(parse_date("2010-03-31"), Ok(NaiveDate::from_ymd_opt(2010, 3, 31).unwrap()));
        assert_eq!(parse_date("2019-02-31").unwrap_err().to_string(), "'2019-02-31' is not a date: February 2019 has 28 days");
        assert_eq!(parse_date("31/03/2010").unwrap_err().to_string(), "'31/03/2010' is not a date like 2010-03-31");
        assert_eq!(
            parse_time("2019-02-31 10:00:00").unwrap_err().to_string(),
            "'2019-02-31 10:00:00' is not a date: February 2019 has 28 days"
        );
        assert_eq!(parse_time("2019-10-31 23:59:00").unwrap().to_string(), "2019-10-31 23:59:00");
    }

    /// chrono's answer for the fields: the time, or `None` where no such time exists.
    fn chrono_time(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<NaiveDateTime> {
        NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)
    }

    proptest! {
        /// The importer's unformatted text of a time is the `Display` text.
        #[test]
        fn stored_bytes_are_the_display_text(y in -20i32..10_050, mo in 1u32..13, d in 1u32..29, h in 0u32..24, mi in 0u32..60, s in 0u32..60) {
            let time = Timestamp { year: y, month: mo, day: d, hour: h, minute: mi, second: s };
            match time.stored_bytes() {
                Some(bytes) => prop_assert_eq!(std::str::from_utf8(&bytes).unwrap(), time.to_string()),
                None => prop_assert!(!(0..=9999).contains(&y)),
            }
        }
    }

    proptest! {
        // Fields drawn a little beyond their ranges, so about half the strings are impossible
        // times (31 April, 29 February in common years, hour 24, ...).
        #[test]
        fn agrees_with_chrono_on_valid_and_invalid_times(
            y in 1583i32..2500, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62, s in 0u32..62,
            sep in prop::sample::select(vec![" ", "T"]),
            suffix in prop::sample::select(vec!["", " UTC", "Z", ".5", ".123456"]),
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{suffix}");
            let ours = Timestamp::parse(&text, SlashOrder::MonthFirst);
            let theirs = chrono_time(y, mo, d, h, mi, s);
            prop_assert_eq!(ours.map(|t| t.epoch_seconds()), theirs.map(|t| t.and_utc().timestamp()), "{}", text);
            prop_assert_eq!(ours.map(|t| t.to_string()), theirs.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()));
        }

        #[test]
        fn typed_dates_agree_with_chrono(y in 1583i32..2500, mo in 1u32..13, d in 0u32..33) {
            let text = format!("{y:04}-{mo:02}-{d:02}");
            prop_assert_eq!(parse_date(&text).ok(), NaiveDate::from_ymd_opt(y, mo, d));
        }

        #[test]
        fn whatever_it_accepts_is_a_real_time(text in "[0-9 :./TZUC+-]{0,26}") {
            if let Some(t) = Timestamp::parse(&text, SlashOrder::MonthFirst) {
                let canonical = t.to_string();
                let reread = NaiveDateTime::parse_from_str(&canonical, "%Y-%m-%d %H:%M:%S");
                prop_assert_eq!(reread.ok().map(|n| n.and_utc().timestamp()), Some(t.epoch_seconds()), "{} read as {}", text, canonical);
            }
        }
    }
}
