//! Warehouse sources: PostgreSQL-protocol servers (PostgreSQL, and engines that speak it such as
//! Citus or Greenplum) read over tokio-postgres.
//!
//! - [`server`]: a read-only session with a statement timeout; every call waits in a job and
//!   a cancel reaches the server as its cancel request.
//! - [`browse`]: schemas, tables with row estimates, columns and a preview.
//! - [`pull`]: a table or a query streamed (`COPY … TO STDOUT`) through the importer, with the
//!   same kinds, mappings, quality report and atomicity as a file.
//! - [`pushdown`]: the Overview, RFM and the funnel computed on the server by SQL generated
//!   from their definitions; only aggregates travel, and the shared analytics code assembles
//!   the same result types a local copy gives.
//!
//! Saved connections live in the workspace (`workspace::sources`), never with a password.

pub mod browse;
pub mod pull;
pub mod pushdown;
pub mod server;
pub mod trust;

pub use server::{find_password, PasswordSource, Server};

use crate::workspace::sources::SourceConfig;

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("cannot reach {address}: {message}")]
    Unreachable { address: String, message: String },
    #[error("cannot log in to {address}: {message}")]
    Connect { address: String, message: String },
    #[error("the server stopped the statement after the statement timeout ({seconds} s); narrow the dates or ask the server's owner")]
    Timeout { seconds: u64 },
    #[error("server error: {message}")]
    Server { message: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{name} ({address}) was not added or confirmed on this machine, so shoplens will not connect to it or send it a password: a workspace you received may name any server. If it is yours, confirm it with `shoplens source trust WORKSPACE {name}` (or Trust in the Data panel)")]
    NotConfirmed { name: String, address: String },
    #[error("{address} did not answer within {seconds} s (connect, TLS, login or the first answer); is it the right host and port? (`source add --timeout` waits longer)")]
    NoAnswer { address: String, seconds: u64 },
    #[error("{address} asked for a password, which shoplens does not send over a connection without TLS to another machine; use TLS (leave out --plain-text), or a login without password")]
    PasswordOverPlainText { address: String },
    #[error("{0}")]
    Mapping(String),
    #[error("cancelled")]
    Cancelled(#[from] crate::jobs::Cancelled),
    #[error(transparent)]
    Source(#[from] crate::workspace::sources::SourceError),
    /// An import from the server failed as a file's would (its cancel stays in the source chain).
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl WarehouseError {
    fn connect(source: &SourceConfig, err: tokio_postgres::Error) -> Self {
        WarehouseError::Connect { address: source.address(), message: describe(&err) }
    }

    fn server(err: tokio_postgres::Error) -> Self {
        if err.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
            // Not our cancel (that is checked first): the server's statement_timeout.
            return WarehouseError::Timeout { seconds: server::STATEMENT_TIMEOUT.as_secs() };
        }
        WarehouseError::Server { message: describe(&err) }
    }
}

/// The server's own words: message, detail and hint for a database error, else the error and
/// its causes (tokio-postgres' display alone says only "db error").
fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut text = db.message().to_string();
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// Quotes an identifier for SQL (`"Customer ID"`), doubling inner quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table name as the user wrote it (`orders`, `sales.orders`, `"Sales"."Orders"`), quoted
/// part by part. Unquoted parts are folded to lower case, as the server folds them.
pub fn quote_table(name: &str) -> Result<String, WarehouseError> {
    let mut parts = Vec::new();
    let mut rest = name.trim();
    while !rest.is_empty() {
        let (part, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut end = None;
            let bytes = quoted.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    end = Some(i);
                    break;
                }
                i += 1;
            }
            let end = end.ok_or_else(|| WarehouseError::Mapping(format!("table name {name} has an unclosed quote")))?;
            (quoted[..end].replace("\"\"", "\""), &quoted[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let part = rest[..end].trim();
            if !part.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                return Err(WarehouseError::Mapping(format!("table name '{name}': write \"{part}\" in double quotes")));
            }
            (part.to_lowercase(), &rest[end..])
        };
        if part.is_empty() {
            return Err(WarehouseError::Mapping(format!("table name '{name}' has an empty part")));
        }
        parts.push(quote_ident(&part));
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix('.') {
            rest = next.trim_start();
            if rest.is_empty() {
                return Err(WarehouseError::Mapping(format!("table name '{name}' ends with a dot")));
            }
        } else if !rest.is_empty() {
            return Err(WarehouseError::Mapping(format!("table name '{name}' is not schema.table")));
        }
    }
    match parts.len() {
        1 | 2 => Ok(parts.join(".")),
        _ => Err(WarehouseError::Mapping(format!("table name '{name}' is not table or schema.table"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_quoted_part_by_part() {
        assert_eq!(quote_table("orders").unwrap(), "\"orders\"");
        assert_eq!(quote_table("Sales.Orders").unwrap(), "\"sales\".\"orders\"");
        assert_eq!(quote_table("\"Sales\".\"Order \"\"Lines\"\"\"").unwrap(), "\"Sales\".\"Order \"\"Lines\"\"\"");
        assert_eq!(quote_table("public.\"Online Retail\"").unwrap(), "\"public\".\"Online Retail\"");
        for bad in ["", "a.", "a.b.c", "\"open", "a b"] {
            assert!(quote_table(bad).is_err(), "{bad}");
        }
    }
}
