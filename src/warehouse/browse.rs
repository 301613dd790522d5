//! What a server holds: schemas, tables and views with row estimates, a table's columns, and a
//! preview of a table or a query. All from the catalogue (`pg_class.reltuples` is the planner's
//! estimate: instant on a billion rows, where `count(*)` would scan them).

use super::{quote_table, Server, WarehouseError};
use crate::jobs::JobContext;

/// A table or view on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTable {
    pub schema: String,
    pub name: String,
    /// `table`, `view`, `materialized view`, `partitioned table` or `foreign table`.
    pub kind: String,
    /// The planner's row estimate; `None` when the table was never analysed (or is a view).
    pub rows_estimate: Option<i64>,
}

impl ServerTable {
    /// `schema.table`, quoted where needed, as `--table` takes it.
    pub fn qualified(&self) -> String {
        let part = |p: &str| {
            if p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') && !p.is_empty() {
                p.to_string()
            } else {
                super::quote_ident(p)
            }
        };
        format!("{}.{}", part(&self.schema), part(&self.name))
    }
}

/// A column of a server table: its name and the server's type name.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerColumn {
    pub name: String,
    pub type_name: String,
}

/// Rows shown as text, as the server prints them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Preview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// Tables, views and the like the user may read, outside the system schemas.
pub fn tables(server: &Server, ctx: &JobContext) -> Result<Vec<ServerTable>, WarehouseError> {
    let rows = server.query(
        ctx,
        "SELECT n.nspname, c.relname,
                CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                               WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' END,
                CASE WHEN c.reltuples >= 0 AND c.relkind IN ('r', 'm', 'p', 'f') THEN c.reltuples::int8 END
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            AND n.nspname NOT LIKE 'pg_temp%' AND has_table_privilege(c.oid, 'SELECT')
          ORDER BY 1, 2",
        &[],
    )?;
    Ok(rows.iter().map(|r| ServerTable { schema: r.get(0), name: r.get(1), kind: r.get(2), rows_estimate: r.get(3) }).collect())
}

/// The columns of `table` (as the user writes it: `orders` or `schema.orders`), in order.
pub fn columns(server: &Server, ctx: &JobContext, table: &str) -> Result<Vec<ServerColumn>, WarehouseError> {
    let quoted = quote_table(table)?;
    let rows = server.query(
        ctx,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a
          WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum",
        &[&quoted],
    )?;
    if rows.is_empty() {
        return Err(WarehouseError::Mapping(format!("table {table} has no columns")));
    }
    Ok(rows.iter().map(|r| ServerColumn { name: r.get(0), type_name: r.get(1) }).collect())
}

/// The first `limit` rows of a table, or of a query's result, every value as the server's text.
pub fn preview(server: &Server, ctx: &JobContext, relation: &Relation, limit: u32) -> Result<Preview, WarehouseError> {
    let sql = format!("SELECT * FROM {} LIMIT {limit}", relation.from_clause()?);
    // The simple protocol returns every value as text, whatever its type.
    let messages = server.wait(ctx, server.client().simple_query(&sql))?;
    let mut preview = Preview::default();
    for message in messages {
        match message {
            tokio_postgres::SimpleQueryMessage::RowDescription(columns) => {
                preview.columns = columns.iter().map(|c| c.name().to_string()).collect();
            }
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                preview.rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
            }
            _ => {}
        }
    }
    Ok(preview)
}

/// What to read from a server: a table, or the result of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    Table(String),
    Query(String),
}

impl Relation {
    /// The relation as a FROM item.
    pub fn from_clause(&self) -> Result<String, WarehouseError> {
        match self {
            Relation::Table(table) => quote_table(table),
            Relation::Query(sql) => {
                let sql = sql.trim().trim_end_matches(';').trim();
                if sql.is_empty() {
                    return Err(WarehouseError::Mapping("the query is empty".into()));
                }
                Ok(format!("({sql}) AS shoplens_query"))
            }
        }
    }

    /// How the import history names it: `table orders` or `query SELECT …`.
    pub fn describe(&self) -> String {
        match self {
            Relation::Table(table) => format!("table {table}"),
            Relation::Query(sql) => format!("query {}", sql.split_whitespace().collect::<Vec<_>>().join(" ")),
        }
    }
}
