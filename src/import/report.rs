//! Filling the data quality report (the type is `workspace::report::QualityReport`, stored with
//! every import): what was read, loaded and rejected and why, and the oddities a marketing
//! analyst should know before trusting a chart.

use xxhash_rust::xxh3::xxh3_64;

use super::batch::{Batch, Value};
use super::distinct::{DistinctCount, DistinctCounter};
use super::sources::JSON_HEADER_SAMPLE_ROWS;
use crate::workspace::catalogue::Target;
pub use crate::workspace::report::{group, QualityReport, RepairCounts, WithoutLines};

/// Accumulates a [`QualityReport`] row by row on the parsing thread.
pub struct QualityTracker {
    target: Target,
    columns: Vec<String>,
    nulls: Vec<u64>,
    /// Hashes of ids (distinct counts), each in bounded memory. Whole rows are counted by
    /// [`DuplicateRows`].
    customers: DistinctCounter,
    products: DistinctCounter,
    cancelled_invoices: DistinctCounter,
    roles: Roles,
    report: QualityReport,
    /// Rows written to the table (more than the rows loaded when a row holds several).
    table_rows: u64,
}

/// Column positions the tracker reads, per target.
#[derive(Clone, Copy)]
struct Roles {
    date: Option<usize>,
    customer: Option<usize>,
    product: Option<usize>,
    quantity: Option<usize>,
    price: Option<usize>,
    invoice: Option<usize>,
    cancelled: Option<usize>,
    /// Order lines: the status as exported (lines per status go in the report), the currency.
    status: Option<usize>,
    currency: Option<usize>,
    event_type: Option<usize>,
    session: Option<usize>,
}

impl QualityTracker {
    pub fn new(target: Target, columns: Vec<String>) -> Self {
        let n = columns.len();
        let roles = Roles::of(target, &columns);
        Self {
            target,
            roles,
            columns,
            nulls: vec![0; n],
            customers: DistinctCounter::default(),
            products: DistinctCounter::default(),
            cancelled_invoices: DistinctCounter::default(),
            report: QualityReport::default(),
            table_rows: 0,
        }
    }
}

impl Roles {
    fn of(target: Target, columns: &[String]) -> Self {
        let at = |name: &str| columns.iter().position(|c| c == name);
        match target {
            Target::OrderLines => Roles {
                date: at("invoice_date"),
                customer: at("customer_id"),
                product: at("stock_code"),
                quantity: at("quantity"),
                price: at("unit_price"),
                invoice: at("invoice"),
                cancelled: at("cancelled"),
                status: at("status"),
                currency: at("currency"),
                event_type: None,
                session: None,
            },
            Target::Events => Roles {
                date: at("event_time"),
                customer: at("user_id"),
                product: at("product_id"),
                quantity: None,
                price: at("price"),
                invoice: None,
                cancelled: None,
                status: None,
                currency: None,
                event_type: at("event_type"),
                session: at("user_session"),
            },
            Target::Products | Target::OurPrices | Target::CompetitorPrices | Target::NamedPrices => Roles {
                date: at("valid_from").or_else(|| at("observed_at")),
                customer: None,
                product: at("product_id").or_else(|| at("product_name")),
                quantity: None,
                price: at("price"),
                invoice: None,
                cancelled: None,
                status: None,
                currency: None,
                event_type: None,
                session: None,
            },
            Target::Users | Target::CollectionItems | Target::Listings | Target::MarketplaceOrders | Target::Interactions => Roles {
                date: ["signup_at", "added_at", "listed_at", "ordered_at", "at"].iter().find_map(|name| at(name)),
                customer: at("user_id").or_else(|| at("buyer_id")),
                product: at("listing_id").or_else(|| at("item_id")),
                quantity: None,
                price: at("price").or_else(|| at("amount")),
                invoice: None,
                cancelled: None,
                status: None,
                currency: None,
                event_type: at("kind"),
                session: None,
            },
            Target::Raw => Roles {
                date: None,
                customer: None,
                product: None,
                quantity: None,
                price: None,
                invoice: None,
                cancelled: None,
                status: None,
                currency: None,
                event_type: None,
                session: None,
            },
        }
    }
}

impl QualityTracker {
    pub fn rejected(&mut self, key: &str) {
        self.report.rows_read += 1;
        self.report.rows_rejected += 1;
        *self.report.rejected_by_reason.entry(key.to_string()).or_default() += 1;
    }

    /// Records the rows of `batch` added since row `from`, all made from one row of the file
    /// (one, or several for a wide layout).
    pub fn observe(&mut self, batch: &Batch, from: usize) {
        let roles = self.roles;
        let r = &mut self.report;
        // One row of the file, whatever number of table rows it became (a wide layout gives one
        // per price column).
        if batch.len() > from {
            r.rows_read += 1;
            r.rows_loaded += 1;
            self.table_rows += (batch.len() - from) as u64;
        }
        for row in (from..batch.len()).map(|i| batch.row(i)) {
            for (nulls, value) in self.nulls.iter_mut().zip(row) {
                *nulls += (*value == Value::Null) as u64;
            }
            if let Some(date) = roles.date.and_then(|i| batch.text_of(&row[i])) {
                if r.first_date.as_deref().is_none_or(|d| date < d) {
                    r.first_date = Some(date.to_string());
                }
                if r.last_date.as_deref().is_none_or(|d| date > d) {
                    r.last_date = Some(date.to_string());
                }
            }
            if let Some(i) = roles.customer {
                match row[i] {
                    Value::Null => *r.missing_customer_ids.get_or_insert(0) += 1,
                    ref v => {
                        self.customers.insert(value_hash(batch, v));
                    }
                }
            }
            if let Some(i) = roles.product {
                if row[i] != Value::Null {
                    self.products.insert(value_hash(batch, &row[i]));
                }
            }
            if let Some(Value::Int(q)) = roles.quantity.map(|i| row[i]) {
                if q < 0 {
                    *r.negative_quantities.get_or_insert(0) += 1;
                }
            }
            if let Some(Value::Real(p)) = roles.price.map(|i| row[i]) {
                if p == 0.0 {
                    *r.zero_prices.get_or_insert(0) += 1;
                }
            }
            if let (Some(Value::Int(1)), Some(invoice)) = (roles.cancelled.map(|i| row[i]), roles.invoice) {
                *r.cancelled_lines.get_or_insert(0) += 1;
                self.cancelled_invoices.insert(value_hash(batch, &row[invoice]));
            }
            if let Some(status) = roles.status.and_then(|i| batch.text_of(&row[i])) {
                count_value(&mut r.statuses, status.trim());
            }
            if let Some(currency) = roles.currency.and_then(|i| batch.text_of(&row[i])) {
                count_value(&mut r.currencies, currency);
            }
            if let Some(kind) = roles.event_type.and_then(|i| batch.text_of(&row[i])) {
                match r.event_types.get_mut(kind) {
                    Some(n) => *n += 1,
                    None => {
                        r.event_types.insert(kind.to_string(), 1);
                    }
                }
            }
        }
    }

    /// The report, given the file's repairs and the whole rows' count from [`DuplicateRows`].
    pub fn finish(self, repairs: RepairCounts, rows: DistinctCount) -> QualityReport {
        let roles = self.roles;
        let mut r = self.report;
        r.repairs = repairs;
        if let Some(without) = roles.session.map(|i| self.nulls[i]).filter(|&n| n > 0) {
            r.warnings.push(format!(
                "{without} events have no session (user_session empty): they are loaded, and the session-based funnel and abandoned carts leave them out"
            ));
        }
        r.nulls_by_column = self.columns.iter().cloned().zip(self.nulls).filter(|(_, n)| *n > 0).collect();
        let customers = self.customers.finish();
        let products = self.products.finish();
        let cancelled_invoices = self.cancelled_invoices.finish();
        r.duplicate_rows = rows.repeats();
        if [rows, customers, products, cancelled_invoices].iter().any(|count| !count.exact) {
            r.warnings.push(
                "the temporary disk space for counting ran out: duplicate rows and distinct counts are estimates (duplicates at least, distinct values at most as shown)".into(),
            );
        }
        if roles.customer.is_some() {
            r.distinct_customers = Some(customers.distinct);
            r.missing_customer_ids.get_or_insert(0);
        }
        if roles.product.is_some() {
            r.distinct_products = Some(products.distinct);
        }
        if roles.quantity.is_some() {
            r.negative_quantities.get_or_insert(0);
        }
        if roles.price.is_some() {
            r.zero_prices.get_or_insert(0);
        }
        if roles.cancelled.is_some() {
            r.cancelled_lines.get_or_insert(0);
            r.cancelled_invoices = Some(cancelled_invoices.distinct);
        }
        if r.rows_read == 0 {
            r.warnings.push("the file has a header but no data rows".into());
        }
        if self.table_rows != r.rows_loaded {
            r.warnings.push(format!(
                "the {} rows loaded became {} rows of {} (one per price column with a value)",
                group(r.rows_loaded),
                group(self.table_rows),
                self.target.table()
            ));
        }
        if r.repairs.rows_decoded_as_windows_1252 > 0 {
            r.warnings.push(format!(
                "{} rows held fields that were not valid UTF-8; those fields were read as Windows-1252",
                r.repairs.rows_decoded_as_windows_1252
            ));
        }
        if r.repairs.json_values_without_column > 0 {
            r.warnings.push(format!(
                "{} values were not loaded: their keys first appear after the first {JSON_HEADER_SAMPLE_ROWS} rows, which fix the columns ({})",
                r.repairs.json_values_without_column,
                r.repairs.json_keys_without_column.join(", ")
            ));
        }
        if r.repairs.nul_bytes_removed > 0 {
            r.warnings.push(format!("{} NUL bytes were removed from text", r.repairs.nul_bytes_removed));
        }
        if r.repairs.blank_lines_skipped > 0 {
            r.warnings.push(format!("{} lines of only spaces were skipped as blank lines", r.repairs.blank_lines_skipped));
        }
        r
    }
}

/// Counts rows that repeat an earlier row exactly, for the quality report.
///
/// Apart from [`QualityTracker`] so that it can run on the import's writer thread: the parser
/// thread is the import's bottleneck, while the writer has each batch in hand and time to spare
/// (at 10M order lines, hashing the rows was a tenth of the parser's work).
pub struct DuplicateRows {
    /// Leave out the last column, the import id: the same in every row of an import, and
    /// duplicates mean the data.
    without_import_id: bool,
    hash_buf: Vec<u8>,
    rows: DistinctCounter,
}

impl DuplicateRows {
    pub fn new(target: Target) -> Self {
        Self { without_import_id: target != Target::Raw, hash_buf: Vec::new(), rows: DistinctCounter::default() }
    }

    /// Counts every row of `batch`.
    pub fn observe(&mut self, batch: &Batch) {
        for row in batch.rows() {
            self.hash_buf.clear();
            let data = if self.without_import_id { &row[..row.len() - 1] } else { row };
            for value in data {
                match value {
                    Value::Null => self.hash_buf.push(0),
                    Value::Int(x) => {
                        self.hash_buf.push(1);
                        self.hash_buf.extend_from_slice(&x.to_le_bytes());
                    }
                    Value::Real(x) => {
                        self.hash_buf.push(2);
                        self.hash_buf.extend_from_slice(&x.to_le_bytes());
                    }
                    Value::Text { .. } => {
                        let text = batch.text_of(value).unwrap_or_default();
                        self.hash_buf.push(3);
                        self.hash_buf.extend_from_slice(&(text.len() as u64).to_le_bytes());
                        self.hash_buf.extend_from_slice(text.as_bytes());
                    }
                }
            }
            self.rows.insert(xxh3_64(&self.hash_buf));
        }
    }

    pub fn finish(self) -> DistinctCount {
        self.rows.finish()
    }
}

/// Values of a column with few values (statuses): counted each, up to [`MAX_LISTED_VALUES`];
/// any further value is counted under "(other values)", so a column of ids cannot fill the report.
fn count_value(counts: &mut std::collections::BTreeMap<String, u64>, value: &str) {
    if let Some(n) = counts.get_mut(value) {
        *n += 1;
    } else if counts.len() < MAX_LISTED_VALUES {
        counts.insert(value.to_string(), 1);
    } else {
        *counts.entry(OTHER_VALUES.to_string()).or_default() += 1;
    }
}

/// Distinct values a report lists by name (statuses).
const MAX_LISTED_VALUES: usize = 40;
const OTHER_VALUES: &str = "(other values)";

fn value_hash(batch: &Batch, value: &Value) -> u64 {
    match value {
        Value::Int(x) => xxh3_64(&x.to_le_bytes()),
        Value::Real(x) => xxh3_64(&x.to_le_bytes()),
        Value::Text { .. } => xxh3_64(batch.text_of(value).unwrap_or_default().as_bytes()),
        Value::Null => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nulls_duplicates_and_order_line_oddities() {
        let columns: Vec<String> =
            ["invoice", "stock_code", "quantity", "invoice_date", "unit_price", "customer_id", "cancelled", "import_id"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let mut tracker = QualityTracker::new(Target::OrderLines, columns);
        let mut duplicates = DuplicateRows::new(Target::OrderLines);
        let mut batch = Batch::new(8);
        type Line<'a> = (&'a str, i64, &'a str, f64, Option<&'a str>, i64);
        let rows: [Line; 4] = [
            ("1", 2, "2010-01-02 00:00:00", 1.0, Some("7"), 0),
            ("1", 2, "2010-01-02 00:00:00", 1.0, Some("7"), 0),
            ("C2", -1, "2009-12-01 00:00:00", 0.0, None, 1),
            ("C3", -1, "2011-01-01 00:00:00", 2.0, Some("8"), 1),
        ];
        for (invoice, qty, date, price, customer, cancelled) in rows {
            let from = batch.len();
            batch.push_text(invoice);
            batch.push_text("A");
            batch.push(Value::Int(qty));
            batch.push_text(date);
            batch.push(Value::Real(price));
            match customer {
                Some(c) => batch.push_text(c),
                None => batch.push(Value::Null),
            }
            batch.push(Value::Int(cancelled));
            batch.push(Value::Int(99));
            // One row of the file at a time, as the importer calls it.
            tracker.observe(&batch, from);
        }
        tracker.rejected("quantity: not a whole number");
        duplicates.observe(&batch);
        let r = tracker.finish(RepairCounts::default(), duplicates.finish());
        assert_eq!((r.rows_read, r.rows_loaded, r.rows_rejected), (5, 4, 1));
        assert_eq!(r.duplicate_rows, 1);
        assert_eq!(r.nulls_by_column, vec![("customer_id".to_string(), 1)]);
        assert_eq!(r.missing_customer_ids, Some(1));
        assert_eq!(r.distinct_customers, Some(2));
        assert_eq!(r.cancelled_lines, Some(2));
        assert_eq!(r.cancelled_invoices, Some(2));
        assert_eq!(r.negative_quantities, Some(2));
        assert_eq!(r.zero_prices, Some(1));
        assert_eq!(r.first_date.as_deref(), Some("2009-12-01 00:00:00"));
        assert_eq!(r.last_date.as_deref(), Some("2011-01-01 00:00:00"));
        assert!(r.to_string().contains("rows rejected"));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(100), "100");
    }
}
