//! Analytics: pure functions from workspace data to result types. Nothing here knows about egui;
//! the panels and the CLI render the same results.

pub mod abtest;
pub mod alerts;
pub mod carts;
pub mod clusters;
pub mod clv;
pub mod cohorts;
pub mod customers;
pub mod dictionary;
pub mod elasticity;
pub mod event_frame;
pub mod findings;
pub mod forecast;
pub mod funnel;
pub mod glm;
pub mod impact;
pub mod marketplace;
pub mod matching;
pub mod order_frame;
pub mod overview;
pub mod period;
pub mod pricing;
pub mod recommend;
pub mod rfm;
pub mod special;
pub mod sum;

use chrono::NaiveDate;

/// The global filters every analysis honours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Filters {
    /// First day included.
    pub from: Option<NaiveDate>,
    /// Last day included.
    pub to: Option<NaiveDate>,
    /// Order lines of this country only.
    pub country: Option<String>,
    /// Order lines in this currency only. Money in different currencies is never summed: when
    /// the lines are in several and none is chosen, the analyses take the one with the most
    /// lines ([`order_frame::OrderFrame::currency_code`]) and say what they left out.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A result table as exported: column names and text cells.
pub type Table = (Vec<String>, Vec<Vec<String>>);

/// Writes `rows` under `header` as CSV to `path`; returns the number of rows written.
pub fn write_csv(path: &std::path::Path, header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> Result<usize, WriteCsvError> {
    let error = |source: csv::Error| WriteCsvError { path: path.to_path_buf(), source };
    let file = std::fs::File::create(path).map_err(|e| error(e.into()))?;
    write_csv_to(std::io::BufWriter::new(file), header, rows).map_err(error)
}

/// A CSV file that could not be written (disk full, no permission, ...).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteCsvError {
    pub path: std::path::PathBuf,
    #[source]
    pub source: csv::Error,
}

/// Writes `rows` under `header` as CSV to any writer (a file, stdout), every cell
/// [`inert_cell`]: exports carry names from outside (products of a competitor feed, customers,
/// campaign lists) into spreadsheets.
pub fn write_csv_to(out: impl std::io::Write, header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> Result<usize, csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header.iter().map(|c| inert_cell(c).into_owned()))?;
    let mut n = 0;
    for row in rows {
        writer.write_record(row.iter().map(|c| inert_cell(c).into_owned()))?;
        n += 1;
    }
    writer.flush()?;
    Ok(n)
}

/// A CSV cell a spreadsheet will not run as a formula (OWASP's CSV-injection advice): text that
/// begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`. Numbers
/// (`-12.5`, `+3`) stay numbers.
pub fn inert_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A duration for people: `45 s`, `12 min`, `3.5 h`, `2.0 days`.
pub fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{:.0} min", s as f64 / 60.0),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{:.1} days", s as f64 / 86_400.0),
    }
}
