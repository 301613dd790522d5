//! The in-memory columnar copy of `order_lines` that analyses run on.
//!
//! Text ids (invoices, customers, products, countries) are dictionary-encoded as `u32` codes:
//! group-bys and distinct counts on integers are what makes filter changes on millions of lines
//! answer in milliseconds. The dictionaries keep the original text for display.

use chrono::NaiveDateTime;
use polars::prelude::*;
use rusqlite::Connection;

use crate::jobs::{Cancelled, JobContext};

/// Column names of [`OrderFrame::lines`].
pub mod col {
    pub const INVOICE: &str = "invoice";
    pub const PRODUCT: &str = "product";
    pub const CUSTOMER: &str = "customer";
    pub const COUNTRY: &str = "country";
    /// Seconds since 1970-01-01 of the invoice's local time.
    pub const TIME: &str = "time";
    /// Months since year 0 (`year * 12 + month - 1`): cheap to group and to compare.
    pub const MONTH: &str = "month";
    pub const QUANTITY: &str = "quantity";
    /// quantity × unit price.
    pub const VALUE: &str = "value";
    pub const CANCELLED: &str = "cancelled";
}

pub struct OrderFrame {
    pub lines: DataFrame,
    pub invoices: Vec<String>,
    /// Product code and the first description seen for it.
    pub products: Vec<(String, String)>,
    pub customers: Vec<String>,
    pub countries: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("reading order lines: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("reading order lines: {0}")]
    Value(#[from] rusqlite::types::FromSqlError),
    #[error("building the columnar copy: {0}")]
    Polars(#[from] PolarsError),
    #[error("order line with invalid date '{0}'")]
    BadDate(String),
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for FrameError {
    fn from(_: Cancelled) -> Self {
        FrameError::Cancelled
    }
}

/// Assigns consecutive codes to distinct strings.
#[derive(Default)]
struct Dictionary {
    codes: std::collections::HashMap<String, u32>,
    values: Vec<String>,
}

impl Dictionary {
    fn code(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value) {
            return code;
        }
        let code = self.values.len() as u32;
        self.values.push(value.to_string());
        self.codes.insert(value.to_string(), code);
        code
    }
}

/// Months since year 0 for a `YYYY-MM-DD ...` timestamp.
pub fn month_index(year: i32, month: u32) -> i32 {
    year * 12 + month as i32 - 1
}

/// The first day of a month index, for labels and axes.
pub fn month_start(index: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap_or_default()
}

impl OrderFrame {
    /// Reads every order line from the workspace. Progress is reported in rows.
    pub fn load(conn: &Connection, ctx: &JobContext) -> Result<Self, FrameError> {
        let total: i64 = conn.query_row("SELECT count(*) FROM order_lines", [], |r| r.get(0))?;
        ctx.set_total(total as u64);
        ctx.set_message("loading order lines");
        let capacity = total as usize;
        let (mut invoice, mut product, mut customer, mut country) =
            (Vec::with_capacity(capacity), Vec::with_capacity(capacity), Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        let (mut time, mut month, mut quantity, mut value, mut cancelled) = (
            Vec::with_capacity(capacity),
            Vec::with_capacity(capacity),
            Vec::with_capacity(capacity),
            Vec::with_capacity(capacity),
            Vec::with_capacity(capacity),
        );
        let (mut invoices, mut products, mut customers, mut countries) =
            (Dictionary::default(), Dictionary::default(), Dictionary::default(), Dictionary::default());
        let mut descriptions: Vec<String> = Vec::new();

        let mut stmt = conn.prepare(
            "SELECT invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country, cancelled FROM order_lines",
        )?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        while let Some(row) = rows.next()? {
            n += 1;
            if n.is_multiple_of(65_536) {
                ctx.check()?;
                ctx.set_done(n);
            }
            invoice.push(invoices.code(row.get_ref(0)?.as_str()?));
            let code = row.get_ref(1)?.as_str_or_null()?.unwrap_or("");
            let product_code = products.code(code);
            if product_code as usize == descriptions.len() {
                descriptions.push(row.get_ref(2)?.as_str_or_null()?.unwrap_or("").trim().to_string());
            }
            product.push(product_code);
            let q: i64 = row.get(3)?;
            let date_text = row.get_ref(4)?.as_str()?;
            let dt =
                NaiveDateTime::parse_from_str(date_text, "%Y-%m-%d %H:%M:%S").map_err(|_| FrameError::BadDate(date_text.to_string()))?;
            time.push(dt.and_utc().timestamp());
            month.push(month_index(chrono::Datelike::year(&dt), chrono::Datelike::month(&dt)));
            let price: f64 = row.get(5)?;
            quantity.push(q);
            value.push(q as f64 * price);
            customer.push(row.get_ref(6)?.as_str_or_null()?.map(|c| customers.code(c)));
            country.push(countries.code(row.get_ref(7)?.as_str_or_null()?.unwrap_or("Unspecified")));
            cancelled.push(row.get::<_, i64>(8)? != 0);
        }
        ctx.set_done(n);
        let height = invoice.len();
        let lines = DataFrame::new(
            height,
            vec![
                Column::new(col::INVOICE.into(), invoice),
                Column::new(col::PRODUCT.into(), product),
                Column::new(col::CUSTOMER.into(), customer),
                Column::new(col::COUNTRY.into(), country),
                Column::new(col::TIME.into(), time),
                Column::new(col::MONTH.into(), month),
                Column::new(col::QUANTITY.into(), quantity),
                Column::new(col::VALUE.into(), value),
                Column::new(col::CANCELLED.into(), cancelled),
            ],
        )?;
        Ok(Self {
            lines,
            invoices: invoices.values,
            products: products.values.into_iter().zip(descriptions).collect(),
            customers: customers.values,
            countries: countries.values,
        })
    }

    /// The code of a country; an unknown country gets a code no line has, so a filter on it
    /// matches nothing rather than everything.
    pub fn country_code(&self, name: &str) -> u32 {
        self.countries.iter().position(|c| c == name).map_or(u32::MAX, |i| i as u32)
    }

    /// Countries by name, for the filter bar.
    pub fn country_names(&self) -> Vec<String> {
        let mut names = self.countries.clone();
        names.sort();
        names
    }

    /// First and last invoice day in the data.
    pub fn date_span(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        let time = self.lines.column(col::TIME).ok()?.i64().ok()?;
        let day = |t: i64| chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive());
        Some((day(time.min()?)?, day(time.max()?)?))
    }
}
