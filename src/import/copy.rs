//! The in-memory copy of a table, built from the batches the import writes to SQLite, so the
//! first figures after an import do not read every row back out of the workspace.
//!
//! Fed on a thread of its own with each batch on its way to the SQLite writer (a batch whose
//! write fails fails the import, and the copy is dropped with its transaction). The copy equals what
//! `workspace::copies` reads from the table afterwards because it is built from the very values
//! bound to SQLite, through the same builders and the same timestamp parser (`tests/import.rs`
//! compares the two). It covers this import's rows only, so it is kept only when the table was
//! empty before the import (else the copy is the cache's, caught up as before).

use std::sync::Arc;

use super::batch::{Batch, Value};
use crate::analytics::event_frame::{EventColumns, EventFrame, EventFrameBuilder, EventKind};
use crate::analytics::order_frame::{OrderFrame, OrderFrameBuilder, OrderLine};
use crate::timestamp::{SlashOrder, Timestamp};
use crate::workspace::catalogue::Target;

/// A copy the import built: the whole table, as `workspace::copies` would read it.
#[derive(Clone)]
pub enum ImportedCopy {
    OrderLines(Arc<OrderFrame>),
    Events(Arc<EventFrame>),
}

impl ImportedCopy {
    /// Whether `other` is this very copy (not an equal one): how the window matches a copy it
    /// showed early with the one the import's outcome carries.
    pub fn is(&self, other: &ImportedCopy) -> bool {
        match (self, other) {
            (ImportedCopy::OrderLines(a), ImportedCopy::OrderLines(b)) => Arc::ptr_eq(a, b),
            (ImportedCopy::Events(a), ImportedCopy::Events(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for ImportedCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportedCopy::OrderLines(frame) => write!(f, "ImportedCopy::OrderLines({} lines)", frame.lines.height()),
            ImportedCopy::Events(frame) => write!(f, "ImportedCopy::Events({} events)", frame.len()),
        }
    }
}

/// Why the copy could not be built from the batches: said, and the copy is read from the
/// workspace as before.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoCopy {
    #[error("the {0} table is not one the panels keep in memory")]
    NotCopied(&'static str),
    #[error("the {0} table held rows before this import: the copy is the cache's, caught up with the new rows")]
    TableNotEmpty(&'static str),
    #[error("the product table fills the events' categories and brands: the copy is read from the workspace")]
    JoinsProducts,
    #[error("a stored value could not be read back: {0}")]
    Unreadable(String),
    #[error("building the columnar copy: {0}")]
    Polars(String),
}

/// Builds the copy batch by batch.
pub enum CopyBuilder {
    OrderLines { builder: Box<OrderFrameBuilder>, columns: OrderColumns },
    Events { builder: Box<EventFrameBuilder>, columns: EventColumns },
}

/// Where each order-line field is in a batch row.
pub struct OrderColumns {
    invoice: usize,
    stock_code: usize,
    description: usize,
    quantity: usize,
    invoice_date: usize,
    unit_price: usize,
    customer_id: usize,
    country: usize,
    cancelled: usize,
    currency: usize,
}

impl CopyBuilder {
    /// A builder for `target`'s copy, given the batches' column names.
    pub fn new(target: Target, columns: &[String]) -> Result<Self, NoCopy> {
        let at = |name: &str| columns.iter().position(|c| c == name).ok_or_else(|| NoCopy::Unreadable(format!("no column {name}")));
        match target {
            Target::OrderLines => Ok(CopyBuilder::OrderLines {
                builder: Box::default(),
                columns: OrderColumns {
                    invoice: at("invoice")?,
                    stock_code: at("stock_code")?,
                    description: at("description")?,
                    quantity: at("quantity")?,
                    invoice_date: at("invoice_date")?,
                    unit_price: at("unit_price")?,
                    customer_id: at("customer_id")?,
                    country: at("country")?,
                    cancelled: at("cancelled")?,
                    currency: at("currency")?,
                },
            }),
            Target::Events => Ok(CopyBuilder::Events {
                builder: Box::new(EventFrameBuilder::new()),
                columns: EventColumns {
                    time: at("event_time")?,
                    kind: at("event_type")?,
                    product: at("product_id")?,
                    category: at("category_code")?,
                    brand: at("brand")?,
                    price: at("price")?,
                    user: at("user_id")?,
                    session: at("user_session")?,
                    quantity: Some(at("quantity")?),
                },
            }),
            other => Err(NoCopy::NotCopied(other.table())),
        }
    }

    /// Adds a batch's rows (after they were inserted).
    pub fn observe(&mut self, batch: &Batch) -> Result<(), NoCopy> {
        let text = |row: &[Value], i: usize| -> Result<Option<&str>, NoCopy> {
            match row[i] {
                Value::Null => Ok(None),
                ref value @ Value::Text { .. } => Ok(batch.text_of(value)),
                other => Err(NoCopy::Unreadable(format!("{other:?} where text was stored"))),
            }
        };
        let int = |row: &[Value], i: usize| -> Result<Option<i64>, NoCopy> {
            match row[i] {
                Value::Null => Ok(None),
                Value::Int(n) => Ok(Some(n)),
                other => Err(NoCopy::Unreadable(format!("{other:?} where a whole number was stored"))),
            }
        };
        // A REAL column stores a whole number as a real: both read back as f64.
        let real = |row: &[Value], i: usize| -> Result<Option<f64>, NoCopy> {
            match row[i] {
                Value::Null => Ok(None),
                Value::Int(n) => Ok(Some(n as f64)),
                Value::Real(x) => Ok(Some(x)),
                other => Err(NoCopy::Unreadable(format!("{other:?} where a number was stored"))),
            }
        };
        let time = |text: Option<&str>| -> Result<Timestamp, NoCopy> {
            let text = text.unwrap_or("");
            Timestamp::parse(text, SlashOrder::MonthFirst).ok_or_else(|| NoCopy::Unreadable(format!("the time '{text}'")))
        };
        let missing = |what: &str| NoCopy::Unreadable(format!("an empty {what}"));
        match self {
            CopyBuilder::OrderLines { builder, columns: c } => {
                for row in batch.rows() {
                    builder.push(OrderLine {
                        invoice: text(row, c.invoice)?.unwrap_or(""),
                        stock_code: text(row, c.stock_code)?.unwrap_or(""),
                        description: text(row, c.description)?.unwrap_or(""),
                        quantity: int(row, c.quantity)?.ok_or_else(|| missing("quantity"))?,
                        invoice_date: time(text(row, c.invoice_date)?)?,
                        unit_price: real(row, c.unit_price)?.ok_or_else(|| missing("unit price"))?,
                        customer_id: text(row, c.customer_id)?,
                        country: text(row, c.country)?.unwrap_or("Unspecified"),
                        cancelled: int(row, c.cancelled)?.unwrap_or(0) != 0,
                        currency: text(row, c.currency)?.unwrap_or(""),
                    });
                }
            }
            CopyBuilder::Events { builder, columns: c } => {
                for row in batch.rows() {
                    builder.push(
                        time(text(row, c.time)?)?.epoch_seconds(),
                        EventKind::parse(text(row, c.kind)?.unwrap_or("").as_bytes()),
                        int(row, c.product)?.ok_or_else(|| missing("product id"))?,
                        text(row, c.category)?.unwrap_or(""),
                        text(row, c.brand)?.unwrap_or(""),
                        real(row, c.price)?.unwrap_or(0.0),
                        int(row, c.user)?.ok_or_else(|| missing("user id"))?,
                        text(row, c.session)?.unwrap_or(""),
                    );
                    if let Some(units) = c.quantity.map(|i| int(row, i)).transpose()?.flatten() {
                        let units = u32::try_from(units).map_err(|_| NoCopy::Unreadable(format!("the quantity {units}")))?;
                        builder.set_last_quantity(units);
                    }
                }
            }
        }
        Ok(())
    }

    /// The copy, built as far as the rows go: ordered and encoded, with only the table's last
    /// rowid left to add ([`BuiltCopy::ending_at_rowid`]). This is the heavy part, so it runs on
    /// the copy's own thread while the writer flushes its pages.
    pub fn finish(self) -> Result<BuiltCopy, NoCopy> {
        match self {
            CopyBuilder::OrderLines { builder, .. } => {
                Ok(BuiltCopy::OrderLines(Box::new(builder.finish().map_err(|e| NoCopy::Polars(e.to_string()))?)))
            }
            CopyBuilder::Events { builder, .. } => Ok(BuiltCopy::Events(Box::new(builder.finish()))),
        }
    }
}

/// A finished copy waiting for the table's last rowid, known once the writer is done.
pub enum BuiltCopy {
    OrderLines(Box<OrderFrame>),
    Events(Box<EventFrame>),
}

impl BuiltCopy {
    /// The copy, `last_rowid` being the table's highest rowid after the import (live mode and
    /// the cache read on from it).
    pub fn ending_at_rowid(self, last_rowid: i64) -> ImportedCopy {
        match self {
            BuiltCopy::OrderLines(frame) => ImportedCopy::OrderLines(Arc::from(frame)),
            BuiltCopy::Events(mut frame) => {
                frame.workspace_rowid = Some(last_rowid);
                ImportedCopy::Events(Arc::from(frame))
            }
        }
    }
}
