//! Loading the in-memory copies the analyses run on: `order_lines` into an [`OrderFrame`] and
//! `events` into an [`EventFrame`]. The frames know nothing of SQLite; this module reads the
//! rows and hands them to the frames' builders.

use rusqlite::Connection;

use crate::analytics::event_frame::{EventFrame, EventFrameBuilder, EventKind};
use crate::analytics::order_frame::{OrderFrame, OrderFrameBuilder, OrderLine};
use crate::jobs::{Cancelled, JobContext};
use crate::timestamp::{SlashOrder, Timestamp};

/// Why a copy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("reading {table}: {source}")]
    Sqlite { table: &'static str, source: rusqlite::Error },
    #[error("building the columnar copy: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("{table} holds an invalid time '{text}'")]
    BadTime { table: &'static str, text: String },
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

/// Rows between progress reports and cancel checks.
const REPORT_EVERY: u64 = 65_536;

fn sqlite(table: &'static str) -> impl Fn(rusqlite::Error) -> CopyError {
    move |source| CopyError::Sqlite { table, source }
}

/// A stored time, read with the one timestamp parser.
fn time(table: &'static str, text: &str) -> Result<Timestamp, CopyError> {
    Timestamp::parse(text, SlashOrder::MonthFirst).ok_or_else(|| CopyError::BadTime { table, text: text.to_string() })
}

/// Reads every order line. Progress is reported in rows.
pub fn load_order_lines(conn: &Connection, ctx: &JobContext) -> Result<OrderFrame, CopyError> {
    let err = sqlite("order lines");
    let total: i64 = conn.query_row("SELECT count(*) FROM order_lines", [], |r| r.get(0)).map_err(&err)?;
    ctx.set_total(total as u64);
    ctx.set_message("loading order lines");
    let mut builder = OrderFrameBuilder::with_capacity(total as usize);
    let mut stmt = conn
        .prepare(
            "SELECT invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country, cancelled FROM order_lines",
        )
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    let mut n = 0u64;
    while let Some(row) = rows.next().map_err(&err)? {
        n += 1;
        if n.is_multiple_of(REPORT_EVERY) {
            ctx.check()?;
            ctx.set_done(n);
        }
        let text = |i: usize| -> Result<Option<&str>, CopyError> { row.get_ref(i).and_then(|v| Ok(v.as_str_or_null()?)).map_err(&err) };
        builder.push(OrderLine {
            invoice: text(0)?.unwrap_or(""),
            stock_code: text(1)?.unwrap_or(""),
            description: text(2)?.unwrap_or(""),
            quantity: row.get(3).map_err(&err)?,
            invoice_date: time("order lines", text(4)?.unwrap_or(""))?,
            unit_price: row.get(5).map_err(&err)?,
            customer_id: text(6)?,
            country: text(7)?.unwrap_or("Unspecified"),
            cancelled: row.get::<_, i64>(8).map_err(&err)? != 0,
        });
    }
    ctx.set_done(n);
    Ok(builder.finish()?)
}

/// Reads every event. Progress is reported in rows.
pub fn load_events(conn: &Connection, ctx: &JobContext) -> Result<EventFrame, CopyError> {
    let total: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).map_err(sqlite("events"))?;
    ctx.set_total(total as u64);
    ctx.set_message("loading events");
    let mut builder = EventFrameBuilder::new();
    let rowid = read_events(conn, 0, &mut builder, ctx)?;
    ctx.set_message("ordering events by session");
    let mut frame = builder.finish();
    frame.workspace_rowid = Some(rowid);
    Ok(frame)
}

/// `frame` plus the events added to the workspace since it was read (live mode): only the new
/// rows are read. `None` when `frame` did not come from the workspace.
pub fn extend_events(frame: &EventFrame, conn: &Connection, ctx: &JobContext) -> Result<Option<EventFrame>, CopyError> {
    let Some(since) = frame.workspace_rowid else { return Ok(None) };
    ctx.set_message("adding new events");
    let mut builder = EventFrameBuilder::from_frame(frame);
    let rowid = read_events(conn, since, &mut builder, ctx)?.max(since);
    let mut extended = builder.finish();
    extended.workspace_rowid = Some(rowid);
    Ok(Some(extended))
}

/// Adds the events with a rowid above `after` to `builder`; returns the highest rowid read
/// (or `after`).
fn read_events(conn: &Connection, after: i64, builder: &mut EventFrameBuilder, ctx: &JobContext) -> Result<i64, CopyError> {
    let err = sqlite("events");
    let mut stmt = conn
        .prepare(
            "SELECT event_time, event_type, product_id, category_code, brand, price, user_id, user_session, rowid FROM events WHERE rowid > ?1",
        )
        .map_err(&err)?;
    let mut rows = stmt.query([after]).map_err(&err)?;
    let (mut n, mut last) = (0u64, after);
    while let Some(row) = rows.next().map_err(&err)? {
        n += 1;
        if n.is_multiple_of(REPORT_EVERY) {
            ctx.check()?;
            ctx.set_done(n);
        }
        let text = |i: usize| -> Result<Option<&str>, CopyError> { row.get_ref(i).and_then(|v| Ok(v.as_str_or_null()?)).map_err(&err) };
        builder.push(
            time("events", text(0)?.unwrap_or(""))?.epoch_seconds(),
            EventKind::parse(text(1)?.unwrap_or("").as_bytes()),
            row.get(2).map_err(&err)?,
            text(3)?.unwrap_or(""),
            text(4)?.unwrap_or(""),
            row.get::<_, Option<f64>>(5).map_err(&err)?.unwrap_or(0.0),
            row.get(6).map_err(&err)?,
            text(7)?.unwrap_or(""),
        );
        last = last.max(row.get(8).map_err(&err)?);
    }
    ctx.set_done(n);
    Ok(last)
}
