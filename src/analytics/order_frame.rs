//! The in-memory columnar copy of `order_lines` that analyses run on.
//!
//! Text ids (invoices, customers, products, countries) are dictionary-encoded as `u32` codes:
//! group-bys and distinct counts on integers are what makes filter changes on millions of lines
//! answer in milliseconds. The dictionaries keep the original text for display.

use polars::prelude::*;

use super::dictionary::Dictionary;
use crate::timestamp::Timestamp;

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

/// Months since year 0 for a `YYYY-MM-DD ...` timestamp.
pub fn month_index(year: i32, month: u32) -> i32 {
    year * 12 + month as i32 - 1
}

/// The first day of a month index, for labels and axes.
pub fn month_start(index: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap_or_default()
}

/// One order line as the workspace stores it (see `order_lines` in the schema).
pub struct OrderLine<'a> {
    pub invoice: &'a str,
    pub stock_code: &'a str,
    pub description: &'a str,
    pub quantity: i64,
    pub invoice_date: Timestamp,
    pub unit_price: f64,
    pub customer_id: Option<&'a str>,
    pub country: &'a str,
    pub cancelled: bool,
}

/// Builds an [`OrderFrame`] one line at a time (the workspace layer reads the lines).
#[derive(Default)]
pub struct OrderFrameBuilder {
    invoice: Vec<u32>,
    product: Vec<u32>,
    customer: Vec<Option<u32>>,
    country: Vec<u32>,
    time: Vec<i64>,
    month: Vec<i32>,
    quantity: Vec<i64>,
    value: Vec<f64>,
    cancelled: Vec<bool>,
    invoices: Dictionary,
    products: Dictionary,
    /// The first description seen for each product code.
    descriptions: Vec<String>,
    customers: Dictionary,
    countries: Dictionary,
}

impl OrderFrameBuilder {
    pub fn with_capacity(lines: usize) -> Self {
        Self {
            invoice: Vec::with_capacity(lines),
            product: Vec::with_capacity(lines),
            customer: Vec::with_capacity(lines),
            country: Vec::with_capacity(lines),
            time: Vec::with_capacity(lines),
            month: Vec::with_capacity(lines),
            quantity: Vec::with_capacity(lines),
            value: Vec::with_capacity(lines),
            cancelled: Vec::with_capacity(lines),
            ..Default::default()
        }
    }

    pub fn push(&mut self, line: OrderLine<'_>) {
        self.invoice.push(self.invoices.code(line.invoice));
        let product = self.products.code(line.stock_code);
        if product as usize == self.descriptions.len() {
            self.descriptions.push(line.description.trim().to_string());
        }
        self.product.push(product);
        self.time.push(line.invoice_date.epoch_seconds());
        self.month.push(month_index(line.invoice_date.year, line.invoice_date.month));
        self.quantity.push(line.quantity);
        self.value.push(line.quantity as f64 * line.unit_price);
        self.customer.push(line.customer_id.map(|c| self.customers.code(c)));
        self.country.push(self.countries.code(line.country));
        self.cancelled.push(line.cancelled);
    }

    pub fn finish(self) -> PolarsResult<OrderFrame> {
        let lines = DataFrame::new(
            self.invoice.len(),
            vec![
                Column::new(col::INVOICE.into(), self.invoice),
                Column::new(col::PRODUCT.into(), self.product),
                Column::new(col::CUSTOMER.into(), self.customer),
                Column::new(col::COUNTRY.into(), self.country),
                Column::new(col::TIME.into(), self.time),
                Column::new(col::MONTH.into(), self.month),
                Column::new(col::QUANTITY.into(), self.quantity),
                Column::new(col::VALUE.into(), self.value),
                Column::new(col::CANCELLED.into(), self.cancelled),
            ],
        )?;
        Ok(OrderFrame {
            lines,
            invoices: self.invoices.into_values(),
            products: self.products.into_values().into_iter().zip(self.descriptions).collect(),
            customers: self.customers.into_values(),
            countries: self.countries.into_values(),
        })
    }
}

impl OrderFrame {
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
