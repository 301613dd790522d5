//! The date range a saved view shows: fixed days, or one relative to the data's last date (all
//! the data, the last full month, the last three full months, year to date), so a story built
//! on last month's export shows this month's figures after a new import.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DateRange {
    /// These days (either end open).
    Fixed {
        #[serde(with = "iso_date")]
        from: Option<NaiveDate>,
        #[serde(with = "iso_date")]
        to: Option<NaiveDate>,
    },
    AllData,
    /// The last calendar month the data covers in full.
    LastFullMonth,
    /// The last three calendar months the data covers in full.
    LastThreeMonths,
    /// From 1 January of the last date's year to the last date.
    YearToDate,
}

impl DateRange {
    /// The days (inclusive) for data whose last day is `last_day`; `None` ends are open.
    pub fn resolve(&self, last_day: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let first_of = |d: NaiveDate| d.with_day(1).expect("every month has a first day");
        // The last month the data covers to its last day.
        let next_day = last_day.succ_opt().unwrap_or(last_day);
        let full_month_end = if next_day.day() == 1 { last_day } else { first_of(last_day).pred_opt().unwrap_or(last_day) };
        match self {
            DateRange::Fixed { from, to } => (*from, *to),
            DateRange::AllData => (None, None),
            DateRange::LastFullMonth => (Some(first_of(full_month_end)), Some(full_month_end)),
            DateRange::LastThreeMonths => {
                let start = first_of(full_month_end).checked_sub_months(Months::new(2)).unwrap_or(full_month_end);
                (Some(start), Some(full_month_end))
            }
            DateRange::YearToDate => (NaiveDate::from_ymd_opt(last_day.year(), 1, 1), Some(last_day)),
        }
    }

    /// The range's name: "the last full month" ("fixed dates" for days chosen by hand).
    pub fn name(&self) -> &'static str {
        match self {
            DateRange::Fixed { .. } => "fixed dates",
            DateRange::AllData => "all the data",
            DateRange::LastFullMonth => "the last full month",
            DateRange::LastThreeMonths => "the last three full months",
            DateRange::YearToDate => "year to date",
        }
    }

    /// What the view shows, for its caption: "fixed: 2010-03-01 to 2010-05-31" or
    /// "relative: the last full month (2010-11-01 to 2010-11-30)".
    pub fn describe(&self, last_day: Option<NaiveDate>) -> String {
        let iso = |d: NaiveDate| d.to_string();
        match (self, last_day) {
            (DateRange::Fixed { from, to }, _) => format!("fixed: {}", days_text((*from, *to), iso, " to ")),
            (DateRange::AllData, _) | (_, None) => format!("relative: {}", self.name()),
            (_, Some(last)) => format!("relative: {} ({})", self.name(), days_text(self.resolve(last), iso, " to ")),
        }
    }
}

/// Days `from` and `to` (either end open) as text, each day written by `day`: "all dates",
/// "from X", "up to Y", "X{between}Y".
pub fn days_text((from, to): (Option<NaiveDate>, Option<NaiveDate>), day: impl Fn(NaiveDate) -> String, between: &str) -> String {
    match (from, to) {
        (None, None) => "all dates".to_string(),
        (Some(from), None) => format!("from {}", day(from)),
        (None, Some(to)) => format!("up to {}", day(to)),
        (Some(from), Some(to)) => format!("{}{between}{}", day(from), day(to)),
    }
}

/// `Option<NaiveDate>` as "YYYY-MM-DD" or null (chrono's own serde feature would rebuild
/// polars, which shares chrono).
mod iso_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => serializer.serialize_str(&d.format("%Y-%m-%d").to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Hand-checked on the UCI year, which ends on 9 December 2010 (a partial month), and on
    /// data that ends on a month's last day.
    #[test]
    fn relative_ranges_follow_the_data_not_the_clock() {
        let last = day(2010, 12, 9);
        assert_eq!(DateRange::LastFullMonth.resolve(last), (Some(day(2010, 11, 1)), Some(day(2010, 11, 30))));
        assert_eq!(DateRange::LastThreeMonths.resolve(last), (Some(day(2010, 9, 1)), Some(day(2010, 11, 30))));
        assert_eq!(DateRange::YearToDate.resolve(last), (Some(day(2010, 1, 1)), Some(last)));
        assert_eq!(DateRange::AllData.resolve(last), (None, None));
        let month_end = day(2024, 2, 29);
        assert_eq!(DateRange::LastFullMonth.resolve(month_end), (Some(day(2024, 2, 1)), Some(month_end)));
        assert_eq!(DateRange::LastThreeMonths.resolve(month_end), (Some(day(2023, 12, 1)), Some(month_end)));
        let fixed = DateRange::Fixed { from: Some(day(2010, 3, 1)), to: None };
        assert_eq!(fixed.resolve(last), (Some(day(2010, 3, 1)), None));
        assert_eq!(fixed.describe(Some(last)), "fixed: from 2010-03-01");
        assert_eq!(DateRange::LastFullMonth.describe(Some(last)), "relative: the last full month (2010-11-01 to 2010-11-30)");
        // Saved as JSON in the workspace.
        let json = serde_json::to_string(&DateRange::LastThreeMonths).unwrap();
        assert_eq!(json, r#"{"kind":"last_three_months"}"#);
        assert_eq!(serde_json::from_str::<DateRange>(&json).unwrap(), DateRange::LastThreeMonths);
        let json = serde_json::to_string(&fixed).unwrap();
        assert_eq!(json, r#"{"kind":"fixed","from":"2010-03-01","to":null}"#);
        assert_eq!(serde_json::from_str::<DateRange>(&json).unwrap(), fixed);
    }
}
