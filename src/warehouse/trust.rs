//! Where a password may go. A workspace names its sources, but a workspace arrives by email:
//! a source in it may have been planted, or its host changed, to collect the password that
//! `PGPASSWORD` or `~/.pgpass` would hand any connection. So the sources a user added or
//! confirmed on this machine are recorded outside every workspace, in the user's own settings
//! (`trusted_sources.json` in the configuration folder, or `SHOPLENS_CONFIG_DIR`), as the whole
//! connection: host, port, database, user, TLS, CA file. Connecting to a source not recorded
//! there is refused until the user confirms it (`shoplens source trust`, or Trust in the Data
//! panel), before any password is looked up or sent.

use std::path::PathBuf;

use crate::workspace::sources::SourceConfig;

/// A connection as the user confirmed it (no name: the same server is the same whatever a
/// workspace calls it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Endpoint {
    host: String,
    port: u16,
    database: String,
    user: String,
    tls: bool,
    plain_text: bool,
    ca_file: Option<String>,
}

impl Endpoint {
    fn of(source: &SourceConfig) -> Self {
        Self {
            host: source.host.clone(),
            port: source.port,
            database: source.database.clone(),
            user: source.user.clone(),
            tls: source.tls,
            plain_text: source.plain_text,
            ca_file: source.ca_file.clone(),
        }
    }
}

/// The user's own configuration folder (`~/.config/shoplens` on Linux), or `SHOPLENS_CONFIG_DIR`.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SHOPLENS_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "shoplens").map(|d| d.config_dir().to_path_buf()).unwrap_or_else(|| PathBuf::from("."))
}

fn store_path() -> PathBuf {
    config_dir().join("trusted_sources.json")
}

fn load() -> Vec<Endpoint> {
    std::fs::read(store_path()).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

/// Whether the user added or confirmed this connection on this machine.
pub fn is_trusted(source: &SourceConfig) -> bool {
    load().contains(&Endpoint::of(source))
}

/// Records `source` as one the user added or confirmed.
pub fn trust(source: &SourceConfig) -> std::io::Result<()> {
    let mut endpoints = load();
    let endpoint = Endpoint::of(source);
    if endpoints.contains(&endpoint) {
        return Ok(());
    }
    endpoints.push(endpoint);
    let path = store_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written whole, then moved into place: a reader never sees half a file.
    let staging = path.with_extension("json.writing");
    std::fs::write(&staging, serde_json::to_vec_pretty(&endpoints).map_err(std::io::Error::other)?)?;
    std::fs::rename(&staging, &path)
}

/// Whether `host` is this machine: a Unix socket folder, `localhost`, or a loopback address.
/// Only there may a connection go without TLS unless the user says so in so many words.
pub fn is_local(host: &str) -> bool {
    let host = host.trim();
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How a connection travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// No encryption: this machine only, or a remote host the user asked for in so many words
    /// (then no password is sent over it).
    Plain,
    /// TLS, the server's certificate checked against the system's roots or `ca_file`.
    Tls { ca_file: Option<String> },
}

/// The transport for `source`: TLS for every host but this machine's, unless the source says
/// plain text in so many words; TLS on this machine when asked for.
pub fn transport(source: &SourceConfig) -> Transport {
    let tls = Transport::Tls { ca_file: source.ca_file.clone() };
    if is_local(&source.host) {
        if source.tls || source.ca_file.is_some() {
            tls
        } else {
            Transport::Plain
        }
    } else if source.plain_text {
        Transport::Plain
    } else {
        tls
    }
}

/// Whether a password may be sent over this source's connection: not over plain text to another
/// machine (anyone on the way could read it, or a server asking for it in clear text).
pub fn password_allowed(source: &SourceConfig) -> bool {
    is_local(&source.host) || transport(source) != Transport::Plain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(host: &str) -> SourceConfig {
        SourceConfig {
            name: "s".into(),
            host: host.into(),
            port: 5432,
            database: "shop".into(),
            user: "analyst".into(),
            ..Default::default()
        }
    }

    #[test]
    fn only_this_machine_goes_without_tls_unless_asked_in_so_many_words() {
        for local in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "/var/run/postgresql"] {
            assert!(is_local(local), "{local}");
            assert_eq!(transport(&source(local)), Transport::Plain, "{local}");
        }
        for remote in ["db.internal.example", "10.0.0.5", "192.168.1.20", "warehouse"] {
            assert!(!is_local(remote), "{remote}");
            assert_eq!(transport(&source(remote)), Transport::Tls { ca_file: None }, "{remote}");
            assert!(password_allowed(&source(remote)));
            let plain = SourceConfig { plain_text: true, ..source(remote) };
            assert_eq!(transport(&plain), Transport::Plain);
            assert!(!password_allowed(&plain), "no password over plain text to {remote}");
        }
        let with_ca = SourceConfig { ca_file: Some("/etc/ssl/corp.pem".into()), ..source("localhost") };
        assert_eq!(transport(&with_ca), Transport::Tls { ca_file: Some("/etc/ssl/corp.pem".into()) });
    }
}
