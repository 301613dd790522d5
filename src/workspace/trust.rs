//! A workspace file is untrusted input: it arrives by email and opens on a double-click, and
//! SQLite keeps code beside the data (triggers, views, the schema's own SQL). Two defences, on
//! every connection shoplens opens:
//!
//! - [`harden`]: SQLite's defensive mode (no `writable_schema`, no direct writes to the schema
//!   or shadow tables), an untrusted schema (functions with side effects and virtual tables may
//!   not be used from it), triggers and views off (shoplens makes neither, so none can fire or
//!   be read through), and no other database attached. Extension loading stays off: rusqlite is
//!   built without it, and SQLite's own default keeps the SQL function disabled.
//! - [`check`]: the file's schema must be what our migrations create for its version, plus the
//!   raw tables the import history lists, each exactly in the shape the importer makes them
//!   (columns of TEXT, INTEGER or REAL, nothing else). Anything else (a trigger, a view, a
//!   virtual table, an index or table we do not make, a stored definition changed) is refused
//!   by name, before any of it is read; `recover` then copies the data alone into a clean file.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::config::DbConfig;
use rusqlite::Connection;

use super::schema;

/// Sets the connection's defences (see the module's notes). Call before anything is read.
pub fn harden(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    Ok(())
}

/// One object of a schema, as `sqlite_schema` lists it.
#[derive(Debug, Clone, PartialEq)]
struct SchemaObject {
    kind: String,
    name: String,
    table: String,
    sql: Option<String>,
}

fn objects(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let rows = stmt.query_map([], |r| Ok(SchemaObject { kind: r.get(0)?, name: r.get(1)?, table: r.get(2)?, sql: r.get(3)? }))?;
    rows.collect()
}

/// Schema objects keyed by their name.
type SchemaByName = HashMap<String, SchemaObject>;

/// The objects our first `version` migrations create, by name: those migrations run on an
/// empty database, once per version.
fn expected(version: usize) -> Arc<SchemaByName> {
    static BY_VERSION: OnceLock<Mutex<HashMap<usize, Arc<SchemaByName>>>> = OnceLock::new();
    let cache = BY_VERSION.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&version).cloned()) {
        return found;
    }
    let built = (|| -> rusqlite::Result<SchemaByName> {
        let conn = Connection::open_in_memory()?;
        for sql in &schema::MIGRATIONS[..version.min(schema::MIGRATIONS.len())] {
            conn.execute_batch(sql)?;
        }
        Ok(objects(&conn)?.into_iter().map(|o| (o.name.clone(), o)).collect())
    })()
    .unwrap_or_default();
    let built = Arc::new(built);
    if let Ok(mut c) = cache.lock() {
        c.insert(version, built.clone());
    }
    built
}

/// SQL compared by its tokens: case, quotes and spacing do not matter, anything else does.
fn normalized(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut space = false;
    for c in sql.chars() {
        if c == '"' || c == '`' || c == '[' || c == ']' {
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !matches!(c, '(' | ')' | ',') && !out.ends_with(['(', ',']) {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// SQLite's own tables that may appear in a workspace: the statistics ANALYZE keeps, and the
/// indexes that back a PRIMARY KEY or UNIQUE of our tables (listed by our schema too).
fn is_sqlite_internal(object: &SchemaObject) -> bool {
    matches!(object.name.as_str(), "sqlite_sequence" | "sqlite_stat1" | "sqlite_stat2" | "sqlite_stat3" | "sqlite_stat4")
        && object.kind == "table"
}

/// The raw table `name` has exactly the shape the importer makes: plain columns of TEXT,
/// INTEGER or REAL (no defaults, constraints, generated columns or anything else in its SQL).
fn is_raw_shape(conn: &Connection, name: &str, sql: Option<&str>) -> rusqlite::Result<bool> {
    let Some(sql) = sql else { return Ok(false) };
    let mut stmt = conn.prepare(&format!("PRAGMA table_xinfo({})", super::quote_ident(name)))?;
    let columns: Vec<(String, String, i64)> = stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(6)?)))?.collect::<Result<_, _>>()?;
    if columns.is_empty() || columns.iter().any(|(_, ty, hidden)| *hidden != 0 || !matches!(ty.as_str(), "TEXT" | "INTEGER" | "REAL")) {
        return Ok(false);
    }
    // The columns its import recorded (workspaces from before migration 11 have none).
    let has_record: bool = conn
        .query_row("SELECT count(*) > 0 FROM pragma_table_info('raw_tables') WHERE name = 'columns'", [], |r| r.get(0))
        .unwrap_or(false);
    if has_record {
        let recorded: Option<String> =
            conn.query_row("SELECT columns FROM raw_tables WHERE name = ?1", [name], |r| r.get(0)).unwrap_or(None);
        if let Some(recorded) = recorded {
            let recorded: Vec<(String, String)> = serde_json::from_str(&recorded).unwrap_or_default();
            let actual: Vec<(String, String)> = columns.iter().map(|(c, ty, _)| (c.clone(), ty.clone())).collect();
            if recorded != actual {
                return Ok(false);
            }
        }
    }
    let defs: Vec<String> = columns.iter().map(|(c, ty, _)| format!("{} {ty}", super::quote_ident(c))).collect();
    Ok(normalized(sql) == normalized(&format!("CREATE TABLE {} ({})", super::quote_ident(name), defs.join(", "))))
}

/// Why a workspace file cannot be trusted: the objects in it shoplens does not make, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted(pub Vec<String>);

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<&str> = self.0.iter().take(6).map(String::as_str).collect();
        let more = if self.0.len() > 6 { format!(" and {} more", self.0.len() - 6) } else { String::new() };
        write!(f, "{}{more}", shown.join("; "))
    }
}

/// Checks the schema of the workspace open on `conn` (see the module's notes). `Ok(None)`: it
/// is ours; `Ok(Some(...))`: what in it is not.
pub fn check(conn: &Connection) -> rusqlite::Result<Option<Untrusted>> {
    // One snapshot: another connection may be migrating the file between two reads.
    let in_transaction = !conn.is_autocommit();
    if !in_transaction {
        conn.execute_batch("BEGIN")?;
    }
    let checked = check_snapshot(conn);
    if !in_transaction {
        // A read transaction: ending it changes nothing.
        let _ = conn.execute_batch("COMMIT");
    }
    checked
}

fn check_snapshot(conn: &Connection) -> rusqlite::Result<Option<Untrusted>> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > schema::current_version() {
        // A newer shoplens's schema: the migration step refuses the file as too new.
        return Ok(None);
    }
    let expected = expected(version.max(0) as usize);
    let found = objects(conn)?;
    let raw_tables: HashSet<String> = if found.iter().any(|o| o.name == "raw_tables" && o.kind == "table") {
        let mut stmt = conn.prepare("SELECT name FROM raw_tables")?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?;
        names
    } else {
        HashSet::new()
    };
    let mut problems = Vec::new();
    for object in &found {
        let ours = expected.get(&object.name);
        let same = ours.is_some_and(|o| {
            o.kind == object.kind && o.table == object.table && o.sql.as_deref().map(normalized) == object.sql.as_deref().map(normalized)
        });
        if same || is_sqlite_internal(object) {
            continue;
        }
        if ours.is_none()
            && object.kind == "table"
            && raw_tables.contains(&object.name)
            && is_raw_shape(conn, &object.name, object.sql.as_deref())?
        {
            continue;
        }
        let what = match object.kind.as_str() {
            "trigger" => format!("a trigger '{}' on {}", object.name, object.table),
            "view" => format!("a view '{}'", object.name),
            "index" => format!("an index '{}' on {}", object.name, object.table),
            _ if object.sql.as_deref().is_some_and(|s| normalized(s).starts_with("create virtual table")) => {
                format!("a virtual table '{}'", object.name)
            }
            kind => format!("a {kind} '{}'", object.name),
        };
        problems.push(if ours.is_some() { format!("{what} whose stored definition was changed") } else { what });
    }
    Ok((!problems.is_empty()).then_some(Untrusted(problems)))
}

/// Whether `name` is a table of our schema (at the current version) or a raw table the import
/// history lists in the shape the importer makes: what `recover` copies.
pub fn copyable_table(conn: &Connection, name: &str, sql: Option<&str>) -> rusqlite::Result<bool> {
    let expected = expected(schema::MIGRATIONS.len());
    if expected.get(name).is_some_and(|o| o.kind == "table") {
        return Ok(true);
    }
    let listed: bool = conn.query_row("SELECT count(*) > 0 FROM raw_tables WHERE name = ?1", [name], |r| r.get(0)).unwrap_or(false);
    Ok(listed && is_raw_shape(conn, name, sql)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn our_own_schema_and_raw_tables_pass() {
        let conn = fresh();
        assert_eq!(check(&conn).unwrap(), None);
        conn.execute_batch(
            r#"CREATE TABLE "x__retype" ("a" INTEGER, "b b" TEXT); ALTER TABLE "x__retype" RENAME TO "x";
               INSERT INTO imports (id, file, file_size, file_hash, fingerprint, format, encoding, kind, target_table, rows_read,
                   rows_loaded, rows_rejected, report, started_at, finished_at, status)
               VALUES (1, 'x.csv', 1, '', '', 'csv', 'UTF-8', 'raw', 'x', 1, 1, 0, '{}', '', '', 'loaded');
               INSERT INTO raw_tables (name, import_id) VALUES ('x', 1);"#,
        )
        .unwrap();
        assert_eq!(check(&conn).unwrap(), None);
    }

    #[test]
    fn planted_code_is_named() {
        let conn = fresh();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             CREATE TRIGGER t AFTER INSERT ON order_lines BEGIN UPDATE order_lines SET unit_price = unit_price * 10 WHERE rowid = NEW.rowid; END;
             CREATE VIEW v AS SELECT 1;
             CREATE TABLE unlisted (a TEXT);
             CREATE TABLE listed (a TEXT DEFAULT (random()));
             INSERT INTO raw_tables (name, import_id) VALUES ('listed', 0);",
        )
        .unwrap();
        let Untrusted(found) = check(&conn).unwrap().unwrap();
        for named in ["a trigger 't' on order_lines", "a view 'v'", "a table 'unlisted'", "a table 'listed'"] {
            assert!(found.iter().any(|f| f == named), "{named}: {found:?}");
        }
    }

    #[test]
    fn tokens_not_spacing_or_quotes_make_sql_differ() {
        assert_eq!(normalized("CREATE TABLE \"x\" (\n  a TEXT ,b  INTEGER)"), normalized("create table x (a text, b integer)"));
        assert_ne!(normalized("CREATE TABLE x (a TEXT)"), normalized("CREATE TABLE x (a TEXT DEFAULT 1)"));
    }

    #[test]
    fn a_hardened_connection_fires_no_trigger_and_reads_no_view() {
        let conn = fresh();
        conn.execute_batch(
            "CREATE TABLE log (n INTEGER); CREATE TRIGGER t AFTER INSERT ON saved_queries BEGIN INSERT INTO log VALUES (1); END;
             CREATE VIEW v AS SELECT 1;",
        )
        .unwrap();
        harden(&conn).unwrap();
        conn.execute("INSERT INTO saved_queries (name, sql) VALUES ('q', 'SELECT 1')", []).unwrap();
        assert_eq!(conn.query_row("SELECT count(*) FROM log", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
        assert!(conn.query_row("SELECT * FROM v", [], |r| r.get::<_, i64>(0)).is_err());
        assert!(conn.execute_batch("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'x'").is_err());
        assert!(conn.execute_batch("ATTACH 'elsewhere.db' AS e").is_err());
    }
}
