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
    /// Code into [`super::OrderFrame::currencies`]; only present when the lines are in more than
    /// one currency (with one, every line is in it).
    pub const CURRENCY: &str = "currency";
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
    /// The currencies of the lines' money (ISO codes; `""`: not stated), most lines first.
    pub currencies: Vec<String>,
    /// Lines per currency, as `currencies`.
    pub currency_lines: Vec<u64>,
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
    /// ISO code of the line's money; `""` when the import did not say.
    pub currency: &'a str,
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
    currency: Vec<u32>,
    invoices: Dictionary,
    products: Dictionary,
    currencies: Dictionary,
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
            currency: Vec::with_capacity(lines),
            ..Default::default()
        }
    }

    pub fn push(&mut self, line: OrderLine<'_>) {
        // An invoice's lines come together and repeat its number, customer, country and
        // currency: each is compared with the line before's before it is looked up.
        let invoice = self.invoices.code_or_likely(self.invoice.last().copied(), line.invoice);
        self.invoice.push(invoice);
        let product = self.products.code(line.stock_code);
        if product as usize == self.descriptions.len() {
            self.descriptions.push(line.description.trim().to_string());
        }
        self.product.push(product);
        self.time.push(line.invoice_date.epoch_seconds());
        self.month.push(month_index(line.invoice_date.year, line.invoice_date.month));
        self.quantity.push(line.quantity);
        self.value.push(line.quantity as f64 * line.unit_price);
        let customer = line.customer_id.map(|c| self.customers.code_or_likely(self.customer.last().copied().flatten(), c));
        self.customer.push(customer);
        let country = self.countries.code_or_likely(self.country.last().copied(), line.country);
        self.country.push(country);
        self.cancelled.push(line.cancelled);
        let currency = self.currencies.code_or_likely(self.currency.last().copied(), line.currency);
        self.currency.push(currency);
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
        // Currencies most lines first, so code 0 is the main one.
        let names = self.currencies.into_values();
        let mut counts = vec![0u64; names.len()];
        for &c in &self.currency {
            counts[c as usize] += 1;
        }
        let mut ranked: Vec<usize> = (0..names.len()).collect();
        ranked.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(names[a].cmp(&names[b])));
        let mut recode = vec![0u32; names.len()];
        for (new, &old) in ranked.iter().enumerate() {
            recode[old] = new as u32;
        }
        let currencies: Vec<String> = ranked.iter().map(|&c| names[c].clone()).collect();
        let currency_lines: Vec<u64> = ranked.iter().map(|&c| counts[c]).collect();
        let mut columns = vec![
            Column::new(col::INVOICE.into(), permute(self.invoice, &order)),
            Column::new(col::PRODUCT.into(), permute(self.product, &order)),
            Column::new(col::CUSTOMER.into(), permute(self.customer, &order)),
            Column::new(col::COUNTRY.into(), permute(self.country, &order)),
            Column::new(col::TIME.into(), permute(self.time, &order)),
            Column::new(col::MONTH.into(), permute(self.month, &order)),
            Column::new(col::QUANTITY.into(), permute(self.quantity, &order)),
            Column::new(col::VALUE.into(), permute(self.value, &order)),
            Column::new(col::CANCELLED.into(), permute(self.cancelled, &order)),
        ];
        if currencies.len() > 1 {
            let codes: Vec<u32> = self.currency.iter().map(|&c| recode[c as usize]).collect();
            columns.push(Column::new(col::CURRENCY.into(), permute(codes, &order)));
        }
        let lines = DataFrame::new(columns[0].len(), columns)?;
        Ok(OrderFrame {
            lines,
            invoices: self.invoices.into_values(),
            products: self.products.into_values().into_iter().zip(self.descriptions).collect(),
            customers: self.customers.into_values(),
            countries: self.countries.into_values(),
            currencies,
            currency_lines,
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
            // One currency: no column, every line has code 0.
            currency: match lines.column(col::CURRENCY) {
                Ok(column) => column.u32()?.into_no_null_iter().collect(),
                Err(_) => vec![0; lines.height()],
            },
            ..Default::default()
        };
        for currency in &frame.currencies {
            builder.currencies.code(currency);
        }
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
        polars_ensure!(
            self.currencies.len() == self.currency_lines.len() && (self.currencies.len() <= 1 || lines.column(col::CURRENCY).is_ok()),
            ComputeError: "the copy's currencies do not fit together"
        );
        if let Ok(currency) = lines.column(col::CURRENCY) {
            let max = currency.u32()?.max();
            polars_ensure!(max.is_none_or(|m| (m as usize) < self.currencies.len()), ComputeError: "column 'currency' has a code outside its dictionary");
        }
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

    /// The code of the currency the analyses of `filters` sum, when the lines are in more than
    /// one: the chosen one (an unknown one matches no line), else the one with the most lines.
    /// `None`: one currency (or none stated), nothing to leave out.
    pub fn currency_code(&self, filters: &super::Filters) -> Option<u32> {
        if self.currencies.len() <= 1 {
            return None;
        }
        Some(match filters.currency.as_deref() {
            Some(name) => self.currencies.iter().position(|c| c.eq_ignore_ascii_case(name)).map_or(u32::MAX, |i| i as u32),
            None => 0,
        })
    }

    /// The currency the figures for `filters` are in (`None`: not stated), and the lines left out
    /// because they are in others.
    pub fn money_currency(&self, filters: &super::Filters) -> (Option<String>, u64) {
        let stated = |name: Option<&String>| name.filter(|c| !c.is_empty()).cloned();
        match self.currency_code(filters) {
            None => (stated(self.currencies.first()), 0),
            Some(code) => {
                let others: u64 = self.currency_lines.iter().enumerate().filter(|(i, _)| *i as u32 != code).map(|(_, n)| n).sum();
                (stated(self.currencies.get(code as usize)).or_else(|| filters.currency.clone()), others)
            }
        }
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
