//! Shopify's standard orders export (Admin › Orders › Export) → `order_lines`, without a
//! mapping.
//!
//! The export has one row per line item. Order-level fields (`Financial Status`, `Paid at`,
//! `Currency`, `Cancelled at`, `Billing Country`, `Shipping`, `Discount Amount`, `Refunded
//! Amount`, ...) are filled on the first row of each order only, so they are carried to every
//! line of their order (by `Name`). The rest follows Shopify's documented meanings:
//!
//! - invoice = `Name` (`#1001`); customer = `Email` (empty for orders without one: no customer);
//!   time = `Created at`, whose UTC offset (`2025-10-07 09:50:26 +0200`) makes it an instant,
//!   stored in UTC;
//! - product = `Lineitem sku`, or the line's name where the line has no SKU (counted in the
//!   report); quantity and unit price = `Lineitem quantity` and `Lineitem price`;
//! - cancelled = `Cancelled at` is set, or `Financial Status` is `voided` or `refunded`;
//! - the order's `Shipping` is its freight, on its first line only (never revenue);
//! - order-level discounts and partial refunds are not line prices: revenue is what the lines
//!   say, and the report gives their totals.

use std::collections::HashMap;

use csv::StringRecord;

use super::batch::{Batch, Value};
use super::convert::{Converter, RowError};
use super::numbers::NumberFormat;
use super::values::{self, SlashOrder};
use crate::workspace::catalogue::{normalize_header, Target};

/// Normalised names of the columns that make a file a Shopify orders export.
pub const SIGNATURE: &[&str] = &["name", "email", "financialstatus", "createdat", "lineitemquantity", "lineitemname", "lineitemprice"];

/// Financial statuses that mean the order did not stand.
const CANCELLED_STATUSES: &[&str] = &["voided", "refunded"];

/// The order-level fields carried from an order's first row to its other lines.
#[derive(Debug, Clone, Default)]
struct OrderFields {
    email: String,
    created_at: String,
    financial_status: String,
    cancelled_at: String,
    currency: String,
    country: String,
    shipping: String,
    discount: String,
    refunded: String,
}

/// Column positions (by normalised header name).
struct Columns {
    name: usize,
    email: usize,
    created_at: usize,
    financial_status: usize,
    cancelled_at: Option<usize>,
    currency: Option<usize>,
    billing_country: Option<usize>,
    shipping_country: Option<usize>,
    shipping: Option<usize>,
    discount: Option<usize>,
    refunded: Option<usize>,
    quantity: usize,
    line_name: usize,
    price: usize,
    sku: Option<usize>,
}

pub struct ShopifyConverter {
    columns: Columns,
    width: usize,
    import_id: i64,
    orders: HashMap<String, OrderFields>,
    /// What the report says.
    carried_lines: u64,
    lines_without_sku: u64,
    discounts: f64,
    refunded: f64,
    refunded_orders: u64,
}

impl ShopifyConverter {
    /// `None` when a signature column is missing (the caller checked [`SIGNATURE`]).
    pub fn new(headers: &[String], import_id: i64) -> Option<Self> {
        let names: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let columns = Columns {
            name: find("name")?,
            email: find("email")?,
            created_at: find("createdat")?,
            financial_status: find("financialstatus")?,
            cancelled_at: find("cancelledat"),
            currency: find("currency"),
            billing_country: find("billingcountry"),
            shipping_country: find("shippingcountry"),
            shipping: find("shipping"),
            discount: find("discountamount"),
            refunded: find("refundedamount"),
            quantity: find("lineitemquantity")?,
            line_name: find("lineitemname")?,
            price: find("lineitemprice")?,
            sku: find("lineitemsku"),
        };
        Some(Self {
            columns,
            width: headers.len(),
            import_id,
            orders: HashMap::new(),
            carried_lines: 0,
            lines_without_sku: 0,
            discounts: 0.0,
            refunded: 0.0,
            refunded_orders: 0,
        })
    }

    /// The order's fields: this row's where it has them, else those its order's first row had.
    /// The first row of an order records them.
    fn order_fields(&mut self, fields: &StringRecord) -> (OrderFields, bool) {
        let c = &self.columns;
        let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).unwrap_or("").trim().to_string();
        let country = {
            let billing = get(c.billing_country);
            if billing.is_empty() {
                get(c.shipping_country)
            } else {
                billing
            }
        };
        let row = OrderFields {
            email: get(Some(c.email)),
            created_at: get(Some(c.created_at)),
            financial_status: get(Some(c.financial_status)),
            cancelled_at: get(c.cancelled_at),
            currency: get(c.currency),
            country,
            shipping: get(c.shipping),
            discount: get(c.discount),
            refunded: get(c.refunded),
        };
        let name = get(Some(c.name));
        match self.orders.get(&name) {
            None => {
                self.orders.insert(name, row.clone());
                (row, true)
            }
            Some(first) => {
                let carry = |own: String, first: &str| if own.is_empty() { first.to_string() } else { own };
                let carried = row.financial_status.is_empty() && !first.financial_status.is_empty();
                let merged = OrderFields {
                    email: carry(row.email, &first.email),
                    created_at: carry(row.created_at, &first.created_at),
                    financial_status: carry(row.financial_status, &first.financial_status),
                    cancelled_at: carry(row.cancelled_at, &first.cancelled_at),
                    currency: carry(row.currency, &first.currency),
                    country: carry(row.country, &first.country),
                    // Order totals belong to the order once: its first line.
                    shipping: String::new(),
                    discount: String::new(),
                    refunded: String::new(),
                };
                self.carried_lines += carried as u64;
                (merged, false)
            }
        }
    }
}

/// A money amount as Shopify writes it (a decimal point, no grouping).
fn amount(column: &str, raw: &str) -> Result<Option<f64>, RowError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NumberFormat::POINT.parse(raw).map(Some).map_err(|why| RowError::bad_value(column, why.reason(), raw))
}

impl Converter for ShopifyConverter {
    fn output_columns(&self) -> Vec<String> {
        Target::OrderLines.stored_column_names().into_iter().map(String::from).collect()
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        super::convert::check_width(fields, self.width)?;
        let (order, first_line) = self.order_fields(fields);
        let c = &self.columns;
        let field = |i: usize| fields.get(i).unwrap_or("");
        let invoice = field(c.name);
        if invoice.trim().is_empty() {
            return Err(RowError::missing("Name"));
        }
        if order.created_at.is_empty() {
            return Err(RowError::missing("Created at"));
        }
        let time = values::parse_datetime(&order.created_at, SlashOrder::MonthFirst)
            .ok_or_else(|| RowError::bad_value("Created at", "not a date", &order.created_at))?;
        let quantity_raw = field(c.quantity);
        let quantity =
            values::parse_int(quantity_raw).ok_or_else(|| RowError::bad_value("Lineitem quantity", "not a whole number", quantity_raw))?;
        let price = amount("Lineitem price", field(c.price))?.ok_or_else(|| RowError::missing("Lineitem price"))?;
        let shipping = amount("Shipping", &order.shipping)?;
        let (discount, refunded) = (amount("Discount Amount", &order.discount)?, amount("Refunded Amount", &order.refunded)?);
        let name = field(c.line_name);
        let sku = c.sku.map(field).unwrap_or("");
        let cancelled =
            !order.cancelled_at.is_empty() || CANCELLED_STATUSES.iter().any(|s| s.eq_ignore_ascii_case(order.financial_status.trim()));

        // Everything is read: only now is anything written or counted.
        batch.push_text(invoice);
        if sku.trim().is_empty() {
            self.lines_without_sku += 1;
            batch.push_text(name);
        } else {
            batch.push_text(sku);
        }
        batch.push_text_or_null(name);
        batch.push(Value::Int(quantity));
        batch.push_text(&time);
        batch.push(Value::Real(price));
        batch.push_text_or_null(&order.email);
        batch.push_text_or_null(&order.country);
        batch.push_text_or_null(&order.financial_status);
        batch.push(shipping.map_or(Value::Null, Value::Real));
        batch.push_text_or_null(&order.currency.to_uppercase());
        batch.push(Value::Int(cancelled as i64));
        batch.push(Value::Int(self.import_id));
        if first_line {
            self.discounts += discount.unwrap_or(0.0);
            if !cancelled {
                if let Some(r) = refunded.filter(|r| *r > 0.0) {
                    self.refunded += r;
                    self.refunded_orders += 1;
                }
            }
        }
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec!["Shopify orders export: Created at's UTC offsets make each time an instant, stored in UTC".to_string()];
        if self.carried_lines > 0 {
            notes.push(format!(
                "order-level fields (status, currency, country, cancelled at) were carried from each order's first row to its {} later lines",
                self.carried_lines
            ));
        }
        if self.lines_without_sku > 0 {
            notes.push(format!("{} lines have no Lineitem sku: their product is their Lineitem name", self.lines_without_sku));
        }
        if self.discounts != 0.0 {
            notes.push(format!(
                "order discounts (Discount Amount, {:.2} in all) are not subtracted: revenue is Lineitem price × quantity",
                self.discounts
            ));
        }
        if self.refunded_orders > 0 {
            notes.push(format!(
                "{} orders not voided or refunded in full have refunds ({:.2} in all, Refunded Amount): they count as placed, their refunds are not subtracted from revenue",
                self.refunded_orders, self.refunded
            ));
        }
        notes
    }
}
