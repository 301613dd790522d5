//! A connection to a PostgreSQL-protocol server, used from jobs only.
//!
//! Every session is read-only (`default_transaction_read_only`), has a `statement_timeout`,
//! runs in UTC with ISO dates, and every call waits through [`jobs::block_on`]: a cancel sends
//! the server's cancel request, so the server stops too. The socket is wrapped to count the
//! bytes that cross it, which is how push-down and pulling a table are compared.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::NoTls;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::{trust, WarehouseError};
use crate::jobs::{self, Cancelled, JobContext};
use crate::workspace::sources::SourceConfig;

/// How long a statement may run on the server before it stops it: long enough for a year of
/// clickstream aggregated on a warehouse, short enough that a forgotten query does not run all
/// night.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a password comes from, for messages ("password from ~/.pgpass").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    Given,
    Environment,
    PgPass,
    None,
}

/// The password for `source`: given (a prompt), else `PGPASSWORD`, else the first matching
/// line of `~/.pgpass` (or `PGPASSFILE`), else none (trust, peer or certificate login).
pub fn find_password(source: &SourceConfig, given: Option<String>) -> (Option<String>, PasswordSource) {
    if let Some(password) = given {
        return (Some(password), PasswordSource::Given);
    }
    if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return (Some(password), PasswordSource::Environment);
    }
    let from_file = postgres_secrets::PgPass::load().ok().and_then(|pgpass| {
        let query = pgpass
            .query()
            .hostname(&source.host)
            .and_then(|q| q.port(source.port))
            .and_then(|q| q.database(&source.database))
            .and_then(|q| q.username(&source.user))
            .ok()?;
        query.find().ok().flatten().map(|credentials| credentials.password)
    });
    match from_file {
        Some(password) => (Some(password), PasswordSource::PgPass),
        None => (None, PasswordSource::None),
    }
}

/// An open, read-only session on a server.
pub struct Server {
    client: Client,
    cancel: tokio_postgres::CancelToken,
    source: SourceConfig,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    bytes: Arc<AtomicU64>,
}

impl Server {
    /// Connects and prepares the session; waits in `ctx`'s job, cancellable. Only to a source
    /// the user added or confirmed on this machine (`trust`), over TLS to any other machine
    /// unless the source says plain text (then without a password), and within the source's
    /// bound on waiting for the connection, TLS, login and the first answer.
    pub fn connect(source: &SourceConfig, password: Option<&str>, ctx: &JobContext) -> Result<Self, WarehouseError> {
        if !trust::is_trusted(source) {
            return Err(WarehouseError::NotConfirmed { name: source.name.clone(), address: source.address() });
        }
        let tls = match trust::transport(source) {
            trust::Transport::Tls { ca_file } => Some(tls_connector(ca_file.as_deref())?),
            trust::Transport::Plain => None,
        };
        let password = password.filter(|_| trust::password_allowed(source));
        let wait = Duration::from_secs(u64::from(source.connect_timeout.unwrap_or(CONNECT_TIMEOUT.as_secs() as u32).max(1)));
        let mut config = tokio_postgres::Config::new();
        config.user(&source.user).dbname(&source.database).application_name("shoplens").connect_timeout(wait);
        if let Some(password) = password {
            config.password(password);
        }
        config.ssl_mode(if tls.is_some() { tokio_postgres::config::SslMode::Require } else { tokio_postgres::config::SslMode::Disable });
        let bytes = Arc::new(AtomicU64::new(0));
        let no_answer = || WarehouseError::NoAnswer { address: source.address(), seconds: wait.as_secs() };
        let connecting = {
            let (source, tls, bytes) = (source.clone(), tls.clone(), bytes.clone());
            async move {
                let stream = open_stream(&source).await?;
                let stream = Counted { inner: stream, bytes };
                let client = match tls {
                    Some(mut make) => {
                        let tls = tokio_postgres::tls::MakeTlsConnect::<Counted>::make_tls_connect(&mut make, &source.host)
                            .unwrap_or_else(|never| match never {});
                        let (client, connection) =
                            config.connect_raw(stream, tls).await.map_err(|e| WarehouseError::connect(&source, e))?;
                        jobs::runtime().spawn(connection);
                        client
                    }
                    None => {
                        let (client, connection) =
                            config.connect_raw(stream, NoTls).await.map_err(|e| WarehouseError::connect(&source, e))?;
                        jobs::runtime().spawn(connection);
                        client
                    }
                };
                Ok::<Client, WarehouseError>(client)
            }
        };
        // A server that accepts the connection and never answers must not hold the job for ever.
        let bounded = async move { tokio::time::timeout(wait, connecting).await };
        let client = match jobs::block_on(ctx, bounded, async {})? {
            Ok(connected) => connected.map_err(|e| match e {
                WarehouseError::Connect { message, .. }
                    if password.is_none() && !trust::password_allowed(source) && message.contains("password missing") =>
                {
                    WarehouseError::PasswordOverPlainText { address: source.address() }
                }
                other => other,
            })?,
            Err(_) => return Err(no_answer()),
        };
        let cancel = client.cancel_token();
        let server = Server { client, cancel, source: source.clone(), tls, bytes };
        let settings = format!(
            "SET default_transaction_read_only = on; SET statement_timeout = {}; SET TimeZone = 'UTC'; \
             SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; SET extra_float_digits = 3",
            STATEMENT_TIMEOUT.as_millis()
        );
        // The first answer is bounded too.
        let first = async { tokio::time::timeout(wait, server.client.batch_execute(&settings)).await };
        match jobs::block_on(ctx, first, async {})? {
            Ok(done) => done.map_err(WarehouseError::server)?,
            Err(_) => return Err(no_answer()),
        }
        Ok(server)
    }

    /// The server's `version()`, for `source test` and the Data panel's Test (a round trip
    /// no other run needs).
    pub fn version(&self, ctx: &JobContext) -> Result<String, WarehouseError> {
        Ok(self.query(ctx, "SELECT version()", &[])?.first().map(|r| r.get::<_, String>(0)).unwrap_or_default())
    }

    pub fn source(&self) -> &SourceConfig {
        &self.source
    }

    /// Bytes sent and received on this connection so far (protocol and TLS included).
    pub fn bytes_transferred(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Waits for `work` in the job; a cancel asks the server to stop the running statement.
    pub(super) fn wait<T>(
        &self,
        ctx: &JobContext,
        work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, WarehouseError> {
        let (cancel, source, tls) = (self.cancel.clone(), self.source.clone(), self.tls.clone());
        let stop = async move { send_cancel(&cancel, &source, tls).await };
        match jobs::block_on(ctx, work, stop)? {
            Ok(value) => Ok(value),
            // A statement stopped by our own cancel request surfaces as an error; it is a cancel.
            Err(_) if ctx.is_cancelled() => Err(Cancelled.into()),
            Err(err) => Err(WarehouseError::server(err)),
        }
    }

    /// Runs statements that return nothing (settings, BEGIN, COMMIT).
    pub fn execute(&self, ctx: &JobContext, sql: &str) -> Result<(), WarehouseError> {
        self.wait(ctx, self.client.batch_execute(sql))
    }

    pub fn query(&self, ctx: &JobContext, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, WarehouseError> {
        self.wait(ctx, self.client.query(sql, params))
    }

    /// Runs `work` inside one read-only, repeatable-read transaction: every query of a push-down
    /// run sees the same snapshot, so the Overview's totals and its months cannot disagree
    /// because rows arrived between two queries.
    pub fn snapshot<T>(&self, ctx: &JobContext, work: impl FnOnce(&Server) -> Result<T, WarehouseError>) -> Result<T, WarehouseError> {
        self.execute(ctx, "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        let result = work(self);
        // Read-only: ending it either way changes nothing on the server.
        let _ = self.execute(&JobContext::detached(), "ROLLBACK");
        result
    }

    /// The raw client for streaming (COPY) inside this module.
    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// Sends the cancel request for the running statement when called (from any thread), for a
    /// stream dropped mid-way.
    pub(super) fn cancel_request(&self) -> impl FnOnce() + Send + 'static {
        let (cancel, source, tls) = (self.cancel.clone(), self.source.clone(), self.tls.clone());
        move || {
            jobs::runtime().spawn(async move { send_cancel(&cancel, &source, tls).await });
        }
    }
}

async fn send_cancel(cancel: &tokio_postgres::CancelToken, source: &SourceConfig, tls: Option<tokio_postgres_rustls::MakeRustlsConnect>) {
    // The cancel request travels on a new connection of its own.
    let Ok(stream) = open_stream(source).await else { return };
    let _ = match tls {
        Some(mut make) => {
            let tls = tokio_postgres::tls::MakeTlsConnect::<Stream>::make_tls_connect(&mut make, &source.host)
                .unwrap_or_else(|never| match never {});
            cancel.cancel_query_raw(stream, tls).await
        }
        None => cancel.cancel_query_raw(stream, NoTls).await,
    };
}

/// rustls checking the server's certificate against the system's root certificates, or against
/// a private certificate authority's (`ca_file`, PEM) when the source names one.
fn tls_connector(ca_file: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, WarehouseError> {
    let Some(ca_file) = ca_file else {
        return tokio_postgres_rustls::MakeRustlsConnect::with_native_certs().map(|(connector, _unreadable)| connector).map_err(|errors| {
            let why = errors.first().map_or("none were found".to_string(), ToString::to_string);
            WarehouseError::Tls(format!("cannot load the system's trusted root certificates: {why}"))
        });
    };
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certificates = rustls::pki_types::CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| WarehouseError::Tls(format!("cannot read the CA certificate {ca_file}: {e}")))?;
    for certificate in certificates {
        let certificate = certificate.map_err(|e| WarehouseError::Tls(format!("{ca_file}: {e}")))?;
        roots.add(certificate).map_err(|e| WarehouseError::Tls(format!("{ca_file}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(WarehouseError::Tls(format!("{ca_file} holds no certificate")));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| WarehouseError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A TCP connection, or a Unix socket when the host is a directory (as libpq reads `host`).
pub(super) enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn open_stream(source: &SourceConfig) -> Result<Stream, WarehouseError> {
    let failed = |e: std::io::Error| WarehouseError::Unreachable { address: source.address(), message: e.to_string() };
    #[cfg(unix)]
    if source.host.starts_with('/') {
        let path = std::path::Path::new(&source.host).join(format!(".s.PGSQL.{}", source.port));
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::UnixStream::connect(path)).await;
        return Ok(Stream::Unix(stream.map_err(|_| failed(std::io::ErrorKind::TimedOut.into()))?.map_err(failed)?));
    }
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((source.host.as_str(), source.port))).await;
    let stream = stream.map_err(|_| failed(std::io::ErrorKind::TimedOut.into()))?.map_err(failed)?;
    let _ = stream.set_nodelay(true);
    Ok(Stream::Tcp(stream))
}

macro_rules! each_stream {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Tcp($s) => $e,
            #[cfg(unix)]
            Stream::Unix($s) => $e,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        each_stream!(self, s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// A stream that counts the bytes crossing it.
pub(super) struct Counted {
    inner: Stream,
    bytes: Arc<AtomicU64>,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.bytes.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.bytes.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
