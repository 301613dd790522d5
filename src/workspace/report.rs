//! The data quality report every import stores with its history row: what was read, loaded and
//! rejected and why, and the oddities a marketing analyst should know before trusting a chart.
//! The importer fills it (`import::report::QualityTracker`); the Data panel and `shoplens info`
//! read it back from here.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QualityReport {
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_rejected: u64,
    /// Rejected rows by reason (e.g. "quantity: not a whole number").
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// NULL values per loaded column, in table order; columns without NULLs are left out.
    pub nulls_by_column: Vec<(String, u64)>,
    pub duplicate_rows: u64,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// Order lines: customers; events: users.
    pub distinct_customers: Option<u64>,
    pub distinct_products: Option<u64>,
    pub negative_quantities: Option<u64>,
    pub cancelled_lines: Option<u64>,
    pub cancelled_invoices: Option<u64>,
    pub missing_customer_ids: Option<u64>,
    pub zero_prices: Option<u64>,
    /// Events: count per event type.
    pub event_types: BTreeMap<String, u64>,
    pub repairs: RepairCounts,
    /// Columns (or JSON keys) of the file that no target column was mapped to: not loaded.
    #[serde(default)]
    pub unused_columns: Vec<String>,
    /// The text encoding and why it was chosen (empty for Parquet and Excel).
    #[serde(default)]
    pub encoding: String,
    /// How each numeric column's numbers were read (decided from the first rows), e.g.
    /// ("unit_price", "decimal point, ',' or a space groups thousands").
    #[serde(default)]
    pub number_formats: Vec<(String, String)>,
    /// A competitor price feed: its currency and whether its prices include tax, as stated.
    #[serde(default)]
    pub prices: Option<String>,
    /// Order lines: the rule that marked cancellations, and why it applies to this file.
    #[serde(default)]
    pub cancellation: Option<String>,
    /// Order lines: their currency and where it came from (the file, or stated at import).
    #[serde(default)]
    pub currency: Option<String>,
    /// Order lines: lines per currency (none: not stated).
    #[serde(default)]
    pub currencies: BTreeMap<String, u64>,
    /// Order lines with a status column: lines per status as exported.
    #[serde(default)]
    pub statuses: BTreeMap<String, u64>,
    /// Several files joined into one (an orders file joined to its items): the related rows no
    /// line referred to (orders without items), which load nothing.
    #[serde(default)]
    pub without_lines: Vec<WithoutLines>,
    pub warnings: Vec<String>,
}

/// Rows of a joined file that no line referred to.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WithoutLines {
    pub file: String,
    pub rows: u64,
    /// By the mapped status column's value, when there is one.
    pub by_status: BTreeMap<String, u64>,
}

/// Counters about text repairs made while reading, for the quality report.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RepairCounts {
    /// NUL bytes removed from text fields.
    pub nul_bytes_removed: u64,
    /// Rows of a mostly-UTF-8 file with fields that were not UTF-8 (those fields were read as
    /// Windows-1252).
    pub rows_decoded_as_windows_1252: u64,
    /// JSON lines: values under keys that first appeared after the rows that fixed the columns.
    #[serde(default)]
    pub json_values_without_column: u64,
    /// Those keys, so the report can name them.
    #[serde(default)]
    pub json_keys_without_column: Vec<String>,
    /// Lines of only spaces inside delimited text, skipped like empty lines.
    #[serde(default)]
    pub blank_lines_skipped: u64,
}

impl fmt::Display for QualityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  rows read      {:>12}", group(self.rows_read))?;
        writeln!(f, "  rows loaded    {:>12}", group(self.rows_loaded))?;
        writeln!(f, "  rows rejected  {:>12}", group(self.rows_rejected))?;
        for (reason, n) in &self.rejected_by_reason {
            writeln!(f, "    {:>10}  {reason}", group(*n))?;
        }
        if !self.encoding.is_empty() {
            writeln!(f, "  encoding       {}", self.encoding)?;
        }
        if let (Some(first), Some(last)) = (&self.first_date, &self.last_date) {
            writeln!(f, "  dates          {first} to {last}")?;
        }
        let optional = [
            ("distinct customers", self.distinct_customers),
            ("distinct products", self.distinct_products),
            ("missing customer ids", self.missing_customer_ids),
            ("cancelled lines", self.cancelled_lines),
            ("cancelled invoices", self.cancelled_invoices),
            ("negative quantities", self.negative_quantities),
            ("zero prices", self.zero_prices),
        ];
        for (label, value) in optional {
            if let Some(n) = value {
                writeln!(f, "  {label:<22} {:>10}", group(n))?;
            }
        }
        writeln!(f, "  {:<22} {:>10}", "exact duplicate rows", group(self.duplicate_rows))?;
        if !self.event_types.is_empty() {
            let parts: Vec<String> = self.event_types.iter().map(|(k, n)| format!("{k} {}", group(*n))).collect();
            writeln!(f, "  event types            {}", parts.join(", "))?;
        }
        if !self.nulls_by_column.is_empty() {
            let parts: Vec<String> = self.nulls_by_column.iter().map(|(c, n)| format!("{c} {}", group(*n))).collect();
            writeln!(f, "  empty values           {}", parts.join(", "))?;
        }
        if !self.unused_columns.is_empty() {
            writeln!(f, "  not loaded     columns {}", self.unused_columns.join(", "))?;
        }
        for (column, format) in &self.number_formats {
            writeln!(f, "  numbers in {column:<13} {format}")?;
        }
        if let Some(prices) = &self.prices {
            writeln!(f, "  prices         {prices}")?;
        }
        if let Some(rule) = &self.cancellation {
            writeln!(f, "  cancelled when {rule}")?;
        }
        if let Some(currency) = &self.currency {
            let lines: Vec<String> = self.currencies.iter().map(|(k, n)| format!("{k} {}", group(*n))).collect();
            let lines = if lines.is_empty() { String::new() } else { format!(" ({} lines)", lines.join(", ")) };
            writeln!(f, "  currency       {currency}{lines}")?;
        }
        if !self.statuses.is_empty() {
            let parts: Vec<String> = self.statuses.iter().map(|(k, n)| format!("{k} {}", group(*n))).collect();
            writeln!(f, "  statuses       {}", parts.join(", "))?;
        }
        for w in &self.without_lines {
            let statuses: Vec<String> =
                w.by_status.iter().map(|(k, n)| format!("{} {}", if k.is_empty() { "(empty)" } else { k }, group(*n))).collect();
            let statuses = if statuses.is_empty() { String::new() } else { format!(" (status: {})", statuses.join(", ")) };
            writeln!(f, "  without lines  {} rows of {} have no lines, so nothing of them is loaded{statuses}", group(w.rows), w.file)?;
        }
        for warning in &self.warnings {
            writeln!(f, "  note: {warning}")?;
        }
        Ok(())
    }
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    crate::text::group_digits(&n.to_string())
}
