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
    /// One row per order line, in month order ([`col::MONTH`] never decreases; lines of a month
    /// keep the workspace's order): the Overview counts distinct invoices and customers per
    /// month in one pass thanks to it.
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

    /// The frame, its lines put in month order (see [`OrderFrame::lines`]).
    pub fn finish(self) -> PolarsResult<OrderFrame> {
        let order = month_order(&self.month);
        fn permute<T: Copy>(values: Vec<T>, order: &Option<Vec<u32>>) -> Vec<T> {
            match order {
                Some(order) => order.iter().map(|&i| values[i as usize]).collect(),
                None => values,
            }
        }
        let lines = DataFrame::new(
            self.invoice.len(),
            vec![
                Column::new(col::INVOICE.into(), permute(self.invoice, &order)),
                Column::new(col::PRODUCT.into(), permute(self.product, &order)),
                Column::new(col::CUSTOMER.into(), permute(self.customer, &order)),
                Column::new(col::COUNTRY.into(), permute(self.country, &order)),
                Column::new(col::TIME.into(), permute(self.time, &order)),
                Column::new(col::MONTH.into(), permute(self.month, &order)),
                Column::new(col::QUANTITY.into(), permute(self.quantity, &order)),
                Column::new(col::VALUE.into(), permute(self.value, &order)),
                Column::new(col::CANCELLED.into(), permute(self.cancelled, &order)),
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

/// The rows in month order, lines of a month in their original order (a counting sort on the
/// month); `None` when they are in month order already (exports usually are).
fn month_order(month: &[i32]) -> Option<Vec<u32>> {
    if month.windows(2).all(|w| w[0] <= w[1]) {
        return None;
    }
    let (low, high) = (month.iter().copied().min()?, month.iter().copied().max()?);
    let mut starts = vec![0u32; (high - low) as usize + 2];
    for &m in month {
        starts[(m - low) as usize + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut order = vec![0u32; month.len()];
    for (row, &m) in month.iter().enumerate() {
        let next = &mut starts[(m - low) as usize];
        order[*next as usize] = row as u32;
        *next += 1;
    }
    Some(order)
}

impl OrderFrameBuilder {
    /// A builder holding every line of `frame`, ready for more (a cached copy catching up with
    /// lines imported since): same codes, dictionaries rebuilt.
    pub fn from_frame(frame: &OrderFrame) -> PolarsResult<Self> {
        let lines = &frame.lines;
        let values = |name: &str| -> PolarsResult<Vec<u32>> { Ok(lines.column(name)?.u32()?.into_no_null_iter().collect()) };
        let mut builder = Self {
            invoice: values(col::INVOICE)?,
            product: values(col::PRODUCT)?,
            customer: lines.column(col::CUSTOMER)?.u32()?.iter().collect(),
            country: values(col::COUNTRY)?,
            time: lines.column(col::TIME)?.i64()?.into_no_null_iter().collect(),
            month: lines.column(col::MONTH)?.i32()?.into_no_null_iter().collect(),
            quantity: lines.column(col::QUANTITY)?.i64()?.into_no_null_iter().collect(),
            value: lines.column(col::VALUE)?.f64()?.into_no_null_iter().collect(),
            cancelled: lines.column(col::CANCELLED)?.bool()?.iter().map(|c| c.unwrap_or(false)).collect(),
            ..Default::default()
        };
        for invoice in &frame.invoices {
            builder.invoices.code(invoice);
        }
        for (code, description) in &frame.products {
            builder.products.code(code);
            builder.descriptions.push(description.clone());
        }
        for customer in &frame.customers {
            builder.customers.code(customer);
        }
        for country in &frame.countries {
            builder.countries.code(country);
        }
        Ok(builder)
    }
}

impl OrderFrame {
    /// Checks that a frame read back from elsewhere (the workspace's copy cache) fits together:
    /// the columns this module names with their types, one chunk each (the analyses read the
    /// buffers directly), and every code inside its dictionary.
    pub fn check(&self) -> PolarsResult<()> {
        let lines = &self.lines;
        let codes = [
            (col::INVOICE, self.invoices.len()),
            (col::PRODUCT, self.products.len()),
            (col::CUSTOMER, self.customers.len()),
            (col::COUNTRY, self.countries.len()),
        ];
        for (name, len) in codes {
            let column = lines.column(name)?.u32()?;
            polars_ensure!(column.max().is_none_or(|m| (m as usize) < len), ComputeError: "column '{name}' has a code outside its dictionary");
        }
        lines.column(col::TIME)?.i64()?;
        let months = lines.column(col::MONTH)?.i32()?;
        let in_order = months.downcast_iter().flat_map(|a| a.values().windows(2)).all(|w| w[0] <= w[1]);
        polars_ensure!(in_order, ComputeError: "the order lines are not in month order");
        lines.column(col::QUANTITY)?.i64()?;
        lines.column(col::VALUE)?.f64()?;
        lines.column(col::CANCELLED)?.bool()?;
        for column in lines.columns() {
            polars_ensure!(column.n_chunks() == 1, ComputeError: "column '{}' is not in one piece", column.name());
            polars_ensure!(
                column.null_count() == 0 || column.name().as_str() == col::CUSTOMER,
                ComputeError: "column '{}' has missing values", column.name()
            );
        }
        Ok(())
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
