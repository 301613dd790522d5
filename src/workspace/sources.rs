//! Saved warehouse connections (migration 9) and how their tables map to ours.
//!
//! A connection is host, port, database, user and whether to use TLS. Never a password: the
//! warehouse layer finds one in `PGPASSWORD`, `~/.pgpass` or asks for it, every time.

use rusqlite::{params, Connection, OptionalExtension};

/// One saved connection to a PostgreSQL-protocol server.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// TLS on this machine too (it is always on for other hosts, unless `plain_text`), with the
    /// server's certificate checked against the system's roots or `ca_file`.
    pub tls: bool,
    /// The user asked for a connection without TLS to another machine, in so many words; no
    /// password is ever sent over it (migration 11).
    #[serde(default)]
    pub plain_text: bool,
    /// A private certificate authority's certificate (PEM) to check the server's against.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Seconds to wait for the connection, TLS, login and the first answer (default 15).
    #[serde(default)]
    pub connect_timeout: Option<u32>,
}

impl SourceConfig {
    /// `user@host:port/database`, for lists and messages (no password, ever).
    pub fn address(&self) -> String {
        let how = if self.plain_text {
            " (plain text)"
        } else if self.tls || self.ca_file.is_some() {
            " (TLS)"
        } else {
            ""
        };
        format!("{}@{}:{}/{}{how}", self.user, self.host, self.port, self.database)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("no source named '{0}' in this workspace (add it with `shoplens source add`)")]
    Unknown(String),
    #[error("a source named '{0}' is already saved; remove it first or pick another name")]
    Exists(String),
    #[error("a source name must not be empty")]
    EmptyName,
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

pub fn add(conn: &Connection, source: &SourceConfig) -> Result<(), SourceError> {
    if source.name.trim().is_empty() {
        return Err(SourceError::EmptyName);
    }
    if get(conn, &source.name).is_ok() {
        return Err(SourceError::Exists(source.name.clone()));
    }
    conn.execute(
        "INSERT INTO sources (name, host, port, database, user_name, tls, added_at, plain_text, ca_file, connect_timeout)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            source.name,
            source.host,
            source.port,
            source.database,
            source.user,
            source.tls,
            super::now_utc(),
            source.plain_text,
            source.ca_file,
            source.connect_timeout
        ],
    )?;
    Ok(())
}

pub fn remove(conn: &Connection, name: &str) -> Result<(), SourceError> {
    conn.execute("DELETE FROM source_tables WHERE source = ?1", [name])?;
    match conn.execute("DELETE FROM sources WHERE name = ?1", [name])? {
        0 => Err(SourceError::Unknown(name.to_string())),
        _ => Ok(()),
    }
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SourceConfig> {
    Ok(SourceConfig {
        name: row.get(0)?,
        host: row.get(1)?,
        port: row.get(2)?,
        database: row.get(3)?,
        user: row.get(4)?,
        tls: row.get(5)?,
        plain_text: row.get::<_, Option<bool>>(6)?.unwrap_or(false),
        ca_file: row.get(7)?,
        connect_timeout: row.get(8)?,
    })
}

const COLUMNS: &str = "name, host, port, database, user_name, tls, plain_text, ca_file, connect_timeout";

/// Every saved source, by name.
pub fn list(conn: &Connection) -> Result<Vec<SourceConfig>, SourceError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM sources ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, name: &str) -> Result<SourceConfig, SourceError> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM sources WHERE name = ?1"), [name], from_row)
        .optional()?
        .ok_or_else(|| SourceError::Unknown(name.to_string()))
}

/// The mapping (target column → server column) saved for a server table, if any.
pub fn table_mapping(conn: &Connection, source: &str, table: &str, target: &str) -> Result<Option<Vec<(String, String)>>, SourceError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT mapping FROM source_tables WHERE source = ?1 AND server_table = ?2 AND target = ?3",
            params![source, table, target],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Remembers how a server table maps to a target, so later runs need no `--map`.
pub fn save_table_mapping(
    conn: &Connection,
    source: &str,
    table: &str,
    target: &str,
    mapping: &[(String, String)],
) -> Result<(), SourceError> {
    conn.execute(
        "INSERT OR REPLACE INTO source_tables (source, server_table, target, mapping, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![source, table, target, serde_json::to_string(mapping).unwrap_or_default(), super::now_utc()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_saved_listed_and_removed_without_a_password_column() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::workspace::schema::migrate(&mut conn).unwrap();
        let shop = SourceConfig {
            name: "shop".into(),
            host: "db.example".into(),
            port: 5433,
            database: "sales".into(),
            user: "analyst".into(),
            tls: true,
            ca_file: Some("/etc/ssl/corp.pem".into()),
            ..Default::default()
        };
        add(&conn, &shop).unwrap();
        assert!(matches!(add(&conn, &shop), Err(SourceError::Exists(_))));
        assert_eq!(list(&conn).unwrap(), vec![shop.clone()]);
        assert_eq!(shop.address(), "analyst@db.example:5433/sales (TLS)");
        // No column could hold a password.
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('sources')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(columns.iter().all(|c| !c.contains("pass")), "{columns:?}");
        let mapping = vec![("customer_id".to_string(), "client".to_string())];
        save_table_mapping(&conn, "shop", "public.orders", "order_lines", &mapping).unwrap();
        assert_eq!(table_mapping(&conn, "shop", "public.orders", "order_lines").unwrap(), Some(mapping));
        remove(&conn, "shop").unwrap();
        assert!(matches!(get(&conn, "shop"), Err(SourceError::Unknown(_))));
        assert_eq!(table_mapping(&conn, "shop", "public.orders", "order_lines").unwrap(), None);
    }
}
