//! Writing batches into SQLite, fast: one prepared multi-row INSERT reused for every chunk of
//! rows, values bound by type, all inside the import's single transaction.
//!
//! The INSERTs are driven through SQLite's C API rather than rusqlite's `Statement`, for one
//! reason: rusqlite binds every text as `SQLITE_TRANSIENT`, which makes SQLite allocate and copy
//! each value before copying it again into the row's record. For 10M order lines that is 60M
//! allocations and frees on the writer thread, which is the import's bottleneck (a `perf` profile,
//! 2026-12-03: malloc, free and the copies were a fifth of the writer's time). Here texts are
//! bound `SQLITE_STATIC`, pointing into the batch, which outlives each call of
//! [`TableWriter::insert`]; the bindings are cleared before it returns, so the statement never
//! holds a pointer the batch no longer backs. The unsafe code is this file's `RawInsert` alone.

// The one exception to the crate's `deny(unsafe_code)`: see the module's notes.
#![allow(unsafe_code)]

use std::ffi::{c_int, CStr};
use std::marker::PhantomData;

use rusqlite::{ffi, Connection};

use super::batch::{Batch, Reject, Value};
use crate::workspace::quote_ident;

/// Rows per INSERT statement. SQLite's per-statement overhead dominates single-row inserts;
/// the gain flattens past a few hundred rows. A wide table gets fewer, so that a statement's
/// parameters stay within SQLite's limit (32,766): see [`rows_per_statement`].
const ROWS_PER_STATEMENT: usize = 256;

/// Rows per multi-row INSERT of `bound` parameters a row, within the connection's limit on a
/// statement's parameters.
fn rows_per_statement(conn: &Connection, bound: usize) -> usize {
    let limit = conn.limit(rusqlite::limits::Limit::SQLITE_LIMIT_VARIABLE_NUMBER).unwrap_or(32_766).max(1) as usize;
    (limit / bound.max(1)).clamp(1, ROWS_PER_STATEMENT)
}

pub struct TableWriter<'c> {
    width: usize,
    /// Rows per execution of `many`.
    rows_per_statement: usize,
    /// Values bound per row: `width`, or one less when the last column is a fixed import id.
    bound: usize,
    /// The import id written into the statements, if the last column is `import_id`.
    import_id: Option<i64>,
    many: RawInsert<'c>,
    one: RawInsert<'c>,
}

impl<'c> TableWriter<'c> {
    /// A writer of `columns` into `table`. With `import_id`, the last column must be
    /// `import_id` and every row's value in it this id: it is written into the statement once
    /// instead of bound for each row (a tenth of the binds of an order line).
    pub fn new(conn: &'c Connection, table: &str, columns: &[String], import_id: Option<i64>) -> rusqlite::Result<Self> {
        let width = columns.len();
        let import_id = import_id.filter(|_| columns.last().is_some_and(|c| c == "import_id"));
        let bound = width - import_id.is_some() as usize;
        let column_list = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
        let mut row = vec!["?".to_string(); bound];
        row.extend(import_id.map(|id| id.to_string()));
        let row = format!("({})", row.join(", "));
        // OR FAIL: a failing row ends the statement without undoing its earlier rows, so SQLite
        // keeps no statement journal (the import's transaction is rolled back on any error).
        // 7% of the writer's time at 10M order lines.
        let insert = |rows: usize| {
            format!("INSERT OR FAIL INTO {} ({column_list}) VALUES {}", quote_ident(table), vec![row.as_str(); rows].join(", "))
        };
        let rows_per_statement = rows_per_statement(conn, bound);
        Ok(Self {
            width,
            rows_per_statement,
            bound,
            import_id,
            many: RawInsert::prepare(conn, &insert(rows_per_statement))?,
            one: RawInsert::prepare(conn, &insert(1))?,
        })
    }

    pub fn insert(&mut self, batch: &Batch) -> rusqlite::Result<()> {
        debug_assert_eq!(batch.width(), self.width);
        debug_assert!(self.import_id.is_none_or(|id| batch.rows().all(|row| row[self.width - 1] == Value::Int(id))));
        let result = self.insert_rows(batch);
        // The statements point into `batch`, which the caller may free or refill next.
        self.many.clear_bindings();
        self.one.clear_bindings();
        result
    }

    fn insert_rows(&mut self, batch: &Batch) -> rusqlite::Result<()> {
        let (rows, per_statement) = (batch.len(), self.rows_per_statement);
        let full_chunks = rows / per_statement;
        for chunk in 0..full_chunks {
            for r in 0..per_statement {
                self.many.bind_row(&batch.row(chunk * per_statement + r)[..self.bound], batch, r * self.bound)?;
            }
            self.many.execute()?;
        }
        for r in full_chunks * per_statement..rows {
            self.one.bind_row(&batch.row(r)[..self.bound], batch, 0)?;
            self.one.execute()?;
        }
        Ok(())
    }
}

/// A prepared statement on `conn`'s handle, finalized on drop. Borrowing the connection keeps
/// the handle open for as long as the statement lives.
struct RawInsert<'c> {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    _conn: PhantomData<&'c Connection>,
}

impl<'c> RawInsert<'c> {
    fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<Self> {
        // SAFETY: the handle belongs to `conn`, which the returned value borrows; the statement is
        // prepared on this thread and used only through `&mut self`.
        unsafe {
            let db = conn.handle();
            let mut stmt = std::ptr::null_mut();
            let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast(), sql.len() as c_int, &mut stmt, std::ptr::null_mut());
            if rc != ffi::SQLITE_OK {
                return Err(error(db, rc));
            }
            Ok(Self { db, stmt, _conn: PhantomData })
        }
    }

    /// Binds `values`, part of a row of `batch`, to the parameters after `offset`. Texts are
    /// bound without a copy: the caller clears the bindings before `batch` can change (see
    /// [`TableWriter::insert`]).
    fn bind_row(&mut self, values: &[Value], batch: &Batch, offset: usize) -> rusqlite::Result<()> {
        for (i, value) in values.iter().enumerate() {
            let index = (offset + i + 1) as c_int;
            // SAFETY: `stmt` is a live statement; a text points into `batch`, borrowed for the
            // whole `TableWriter::insert` call, whose end clears the bindings.
            let rc = unsafe {
                match value {
                    Value::Null => ffi::sqlite3_bind_null(self.stmt, index),
                    Value::Int(x) => ffi::sqlite3_bind_int64(self.stmt, index, *x),
                    Value::Real(x) => ffi::sqlite3_bind_double(self.stmt, index, *x),
                    Value::Text { .. } => {
                        let text = batch.text_of(value).unwrap_or_default();
                        ffi::sqlite3_bind_text64(
                            self.stmt,
                            index,
                            text.as_ptr().cast(),
                            text.len() as u64,
                            ffi::SQLITE_STATIC(),
                            ffi::SQLITE_UTF8 as u8,
                        )
                    }
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(self.error(rc));
            }
        }
        Ok(())
    }

    fn execute(&mut self) -> rusqlite::Result<()> {
        // SAFETY: `stmt` is live; the reset leaves it ready for the next rows.
        let rc = unsafe { ffi::sqlite3_step(self.stmt) };
        // A failed step's error is the one to report; reset then returns the same code.
        // SAFETY: `stmt` is live (finalized only on drop).
        let reset = unsafe { ffi::sqlite3_reset(self.stmt) };
        match rc {
            ffi::SQLITE_DONE if reset == ffi::SQLITE_OK => Ok(()),
            ffi::SQLITE_DONE => Err(self.error(reset)),
            _ => Err(self.error(rc)),
        }
    }

    fn clear_bindings(&mut self) {
        // SAFETY: `stmt` is live. Clearing cannot fail.
        unsafe { ffi::sqlite3_clear_bindings(self.stmt) };
    }

    fn error(&self, rc: c_int) -> rusqlite::Error {
        error(self.db, rc)
    }
}

impl Drop for RawInsert<'_> {
    fn drop(&mut self) {
        // SAFETY: `stmt` came from `sqlite3_prepare_v2` and is finalized once.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

/// The connection's error for `rc`, as rusqlite reports errors.
fn error(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Error {
    // SAFETY: `db` is a live handle; the message is copied before any other call on it.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }.to_string_lossy().into_owned();
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(message))
}

pub fn insert_rejects(conn: &Connection, import_id: i64, rejects: &[Reject]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("INSERT INTO rejects (import_id, line, raw, reason) VALUES (?1, ?2, ?3, ?4)")?;
    for reject in rejects {
        stmt.execute(rusqlite::params![import_id, reject.line as i64, reject.raw, reject.reason])?;
    }
    Ok(())
}

/// A table name not yet used in the workspace, derived from `wanted`.
pub fn unused_table_name(conn: &Connection, wanted: &str) -> rusqlite::Result<String> {
    let base = super::convert::sanitize_column_names(&[wanted.to_string()]).remove(0);
    let base = if base.starts_with(|c: char| c.is_ascii_digit()) { format!("t_{base}") } else { base };
    let exists = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE", [name], |r| r.get::<_, i64>(0)).map(|n| n > 0)
    };
    let mut name = base.clone();
    let mut n = 2;
    while exists(&name)? {
        name = format!("{base}_{n}");
        n += 1;
    }
    Ok(name)
}

/// The most columns a table of this connection can have (SQLite's `SQLITE_MAX_COLUMN`, 2,000).
pub fn max_columns(conn: &Connection) -> usize {
    conn.limit(rusqlite::limits::Limit::SQLITE_LIMIT_COLUMN).unwrap_or(2000).max(1) as usize
}

pub fn create_text_table(conn: &Connection, table: &str, columns: &[String]) -> rusqlite::Result<()> {
    let defs: Vec<String> = columns.iter().map(|c| format!("{} TEXT", quote_ident(c))).collect();
    conn.execute_batch(&format!("CREATE TABLE {} ({})", quote_ident(table), defs.join(", ")))
}

/// Gives columns whose every value parsed as a number a numeric type, by rebuilding the table.
/// Runs inside the import transaction, so a failure leaves nothing half-converted.
pub fn retype_columns(conn: &Connection, table: &str, columns: &[String], types: &[&str]) -> rusqlite::Result<()> {
    if types.iter().all(|t| *t == "TEXT") {
        return Ok(());
    }
    let staging = format!("{table}__retype");
    let defs: Vec<String> = columns.iter().zip(types).map(|(c, t)| format!("{} {t}", quote_ident(c))).collect();
    let selects: Vec<String> = columns
        .iter()
        .zip(types)
        .map(|(c, t)| if *t == "TEXT" { quote_ident(c) } else { format!("CAST({0} AS {t})", quote_ident(c)) })
        .collect();
    conn.execute_batch(&format!(
        "CREATE TABLE {staging_q} ({defs});
         INSERT INTO {staging_q} SELECT {selects} FROM {table_q};
         DROP TABLE {table_q};
         ALTER TABLE {staging_q} RENAME TO {table_q};",
        staging_q = quote_ident(&staging),
        table_q = quote_ident(table),
        defs = defs.join(", "),
        selects = selects.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the rows read back with SQL are the rows put in, across a batch refilled in
    /// place (texts are bound without a copy) and a batch that is not a whole number of
    /// statements; the import id comes from the statement, not the batch.
    #[test]
    fn rows_read_back_as_written_across_a_refilled_batch() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (name TEXT, n INTEGER, x REAL, import_id INTEGER NOT NULL)").unwrap();
        let columns: Vec<String> = ["name", "n", "x", "import_id"].map(String::from).to_vec();
        let mut writer = TableWriter::new(&conn, "t", &columns, Some(7)).unwrap();
        let mut batch = Batch::new(4);
        let mut expected = Vec::new();
        for round in 0..2 {
            batch.clear();
            for i in 0..ROWS_PER_STATEMENT + 3 {
                let name = format!("row {round}-{i} é");
                batch.push_text(&name);
                batch.push(if i % 5 == 0 { Value::Null } else { Value::Int(i as i64) });
                batch.push(Value::Real(i as f64 / 4.0));
                batch.push(Value::Int(7));
                expected.push((name, (i % 5 != 0).then_some(i as i64), i as f64 / 4.0, 7));
            }
            writer.insert(&batch).unwrap();
        }
        drop(writer);
        let mut statement = conn.prepare("SELECT name, n, x, import_id FROM t ORDER BY rowid").unwrap();
        let rows: Vec<(String, Option<i64>, f64, i64)> =
            statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
        assert_eq!(rows, expected);
    }

    /// Reference: a 300-column table (more parameters a row than 256 rows of them fit in a
    /// statement) reads back as written, every row and column.
    #[test]
    fn wide_rows_fit_in_a_statement() {
        let conn = Connection::open_in_memory().unwrap();
        let columns: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
        create_text_table(&conn, "wide", &columns).unwrap();
        let mut writer = TableWriter::new(&conn, "wide", &columns, None).unwrap();
        assert_eq!(writer.rows_per_statement, 32_766 / 300);
        let mut batch = Batch::new(300);
        for row in 0..250 {
            for column in 0..300 {
                batch.push_text(&format!("{row}:{column}"));
            }
        }
        writer.insert(&batch).unwrap();
        drop(writer);
        let count: i64 = conn.query_row("SELECT count(*) FROM wide", [], |r| r.get(0)).unwrap();
        let corner: String = conn.query_row("SELECT c299 FROM wide WHERE c0 = '249:0'", [], |r| r.get(0)).unwrap();
        assert_eq!((count, corner.as_str()), (250, "249:299"));
        assert_eq!(max_columns(&conn), 2000);
    }

    #[test]
    fn a_failing_row_is_an_error_not_a_crash() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (name TEXT NOT NULL)").unwrap();
        let mut writer = TableWriter::new(&conn, "t", &["name".to_string()], None).unwrap();
        let mut batch = Batch::new(1);
        batch.push(Value::Null);
        let err = writer.insert(&batch).unwrap_err();
        assert!(err.to_string().contains("NOT NULL"), "{err}");
    }
}
