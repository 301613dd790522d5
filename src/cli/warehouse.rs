//! `shoplens source add | list | test | tables | preview | remove`, `import --source`, and
//! `--source/--table/--map` on `overview`, `rfm` and `funnel`: warehouse sources, headless.

use crate::{errln, outln};
use std::io::{IsTerminal, Write};
use std::path::Path;

use super::output;
use super::{wait_with_progress, CliError};
use crate::import::kinds;
use crate::import::{ImportOptions, ImportOutcome};
use crate::jobs::{Job, JobContext};
use crate::warehouse::browse::{self, Relation};
use crate::warehouse::pushdown::{self, MappedTable};
use crate::warehouse::{self, PasswordSource, Server, WarehouseError};
use crate::workspace::catalogue::Target;
use crate::workspace::sources::{self, SourceConfig};
use crate::workspace::{self, Workspace};

#[derive(Debug, clap::Subcommand)]
pub enum SourceCommand {
    /// Save a connection in the workspace (never its password: that comes from PGPASSWORD,
    /// ~/.pgpass or a prompt).
    Add {
        workspace: std::path::PathBuf,
        name: String,
        #[arg(long, default_value = "localhost")]
        host: String,
        #[arg(long, default_value_t = 5432)]
        port: u16,
        #[arg(long)]
        database: String,
        #[arg(long)]
        user: String,
        /// TLS on this machine too (every other host always gets TLS, the server's certificate
        /// checked against the system's roots or --ca).
        #[arg(long)]
        tls: bool,
        /// A private certificate authority's certificate (PEM) to check the server's against.
        #[arg(long)]
        ca: Option<std::path::PathBuf>,
        /// Connect to another machine WITHOUT encryption. Nothing sent is private on the way, so
        /// no password is ever sent over such a connection (a login without password only).
        #[arg(long, conflicts_with_all = ["tls", "ca"])]
        plain_text_without_encryption: bool,
        /// Seconds to wait for the connection, TLS, login and the first answer.
        #[arg(long, default_value_t = 15)]
        timeout: u32,
    },
    /// Confirm a source a workspace names (one you received, or whose host changed) as yours:
    /// only then does shoplens connect to it and send it a password.
    Trust { workspace: std::path::PathBuf, name: String },
    /// List the saved connections.
    List { workspace: std::path::PathBuf },
    /// Connect, and say what the server is and how many tables it shows.
    Test { workspace: std::path::PathBuf, name: String },
    /// The server's tables and views with the planner's row estimates.
    Tables { workspace: std::path::PathBuf, name: String },
    /// The first rows of a table or a query, as CSV.
    Preview {
        workspace: std::path::PathBuf,
        name: String,
        #[arg(long, conflicts_with = "query", required_unless_present = "query")]
        table: Option<String>,
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value_t = 10)]
        rows: u32,
    },
    /// Forget a saved connection.
    Remove { workspace: std::path::PathBuf, name: String },
}

/// Where an analysis runs: on a saved source's table instead of the workspace's copy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Run on this saved warehouse source (see `shoplens source`), over --table.
    #[arg(long, requires = "table")]
    pub source: Option<String>,
    /// The server table to run on (schema.table); its columns are recognised by name as in a
    /// file import, or mapped with --map (the mapping is remembered).
    #[arg(long, requires = "source")]
    pub table: Option<String>,
    /// target=column pairs for the server table, e.g. customer_id=client,unit_price=price_eur.
    #[arg(long, requires = "source")]
    pub map: Option<String>,
}

/// A server table to run on: the saved source, the table, and `--map`'s pairs.
pub struct ServerTable {
    source: String,
    table: String,
    map: Vec<(String, String)>,
}

impl ServerArgs {
    /// The source, table and mapping, when the command should run on a server.
    pub fn target(&self) -> Result<Option<ServerTable>, CliError> {
        match (&self.source, &self.table) {
            (Some(source), Some(table)) => {
                let map = self.map.as_deref().map(kinds::parse_mapping_arg).transpose().map_err(CliError::Failed)?.unwrap_or_default();
                Ok(Some(ServerTable { source: source.clone(), table: table.clone(), map }))
            }
            _ => Ok(None),
        }
    }
}

pub fn run(command: SourceCommand) -> Result<(), CliError> {
    match command {
        SourceCommand::Add { workspace, name, host, port, database, user, tls, ca, plain_text_without_encryption, timeout } => {
            let ca_file = ca.map(|path| std::path::absolute(&path).unwrap_or(path).display().to_string());
            let source = SourceConfig {
                name,
                host,
                port,
                database,
                user,
                tls,
                plain_text: plain_text_without_encryption,
                ca_file,
                connect_timeout: Some(timeout),
            };
            sources::add(Workspace::open(&workspace)?.conn(), &source)?;
            // Added here by the user: a connection a password may go to.
            crate::warehouse::trust::trust(&source)?;
            outln!(
                "saved source {} ({}); its password is not saved: shoplens reads PGPASSWORD or ~/.pgpass, or asks",
                source.name,
                source.address()
            )?;
            Ok(())
        }
        SourceCommand::List { workspace } => {
            let conn = workspace::open_read_only(&workspace)?;
            let mut out = output::stdout();
            for source in sources::list(&conn)? {
                writeln!(out, "{:<20} {}", source.name, source.address())?;
            }
            Ok(())
        }
        SourceCommand::Test { workspace, name } => {
            let (source, password, from) = prepare(&workspace, &name)?;
            let started = std::time::Instant::now();
            let (version, tables) = wait_with_progress(Job::spawn("test connection", move |ctx| {
                let server = Server::connect(&source, password.as_deref(), ctx)?;
                let tables = browse::tables(&server, ctx)?.len();
                Ok((server.version(ctx)?, tables))
            }))?;
            let from = match from {
                PasswordSource::Given => "typed at the prompt",
                PasswordSource::Environment => "from PGPASSWORD",
                PasswordSource::PgPass => "from ~/.pgpass",
                PasswordSource::None => "none",
            };
            outln!("connected to {name} in {:.0} ms (password: {from}; read-only session)", started.elapsed().as_secs_f64() * 1000.0)?;
            outln!("{version}")?;
            outln!("{tables} tables and views readable")?;
            Ok(())
        }
        SourceCommand::Tables { workspace, name } => {
            let (source, password, _) = prepare(&workspace, &name)?;
            let tables = wait_with_progress(Job::spawn("list tables", move |ctx| {
                let server = Server::connect(&source, password.as_deref(), ctx)?;
                Ok(browse::tables(&server, ctx)?)
            }))?;
            let header = ["table", "kind", "rows_estimate"].map(String::from);
            let rows = tables.into_iter().map(|t| vec![t.qualified(), t.kind, t.rows_estimate.map_or(String::new(), |n| n.to_string())]);
            crate::analytics::write_csv_to(output::stdout(), &header, rows)?;
            Ok(())
        }
        SourceCommand::Preview { workspace, name, table, query, rows } => {
            let relation = relation(table, query)?;
            let (source, password, _) = prepare(&workspace, &name)?;
            let preview = wait_with_progress(Job::spawn("preview", move |ctx| {
                let server = Server::connect(&source, password.as_deref(), ctx)?;
                Ok(browse::preview(&server, ctx, &relation, rows)?)
            }))?;
            let rows = preview.rows.into_iter().map(|row| row.into_iter().map(Option::unwrap_or_default).collect());
            crate::analytics::write_csv_to(output::stdout(), &preview.columns, rows)?;
            Ok(())
        }
        SourceCommand::Trust { workspace, name } => {
            let source = sources::get(&workspace::open_read_only(&workspace)?, &name)?;
            crate::warehouse::trust::trust(&source)?;
            outln!("{name} ({}) is confirmed: shoplens may connect to it and send it a password", source.address())?;
            Ok(())
        }
        SourceCommand::Remove { workspace, name } => {
            sources::remove(Workspace::open(&workspace)?.conn(), &name)?;
            outln!("removed source {name}")?;
            Ok(())
        }
    }
}

fn relation(table: Option<String>, query: Option<String>) -> Result<Relation, CliError> {
    match (table, query) {
        (Some(table), None) => Ok(Relation::Table(table)),
        (None, Some(query)) => Ok(Relation::Query(query)),
        _ => Err(CliError::Failed("say what to read: --table T or --query SQL".into())),
    }
}

/// The saved source and its password, asked for on the terminal (before any job starts) when
/// neither PGPASSWORD nor ~/.pgpass has one; Enter alone means none.
fn prepare(workspace: &Path, name: &str) -> Result<(SourceConfig, Option<String>, PasswordSource), CliError> {
    let source = sources::get(&workspace::open_read_only(workspace)?, name)?;
    // Before any password is looked up or asked for.
    if !crate::warehouse::trust::is_trusted(&source) {
        return Err(WarehouseError::NotConfirmed { name: source.name.clone(), address: source.address() }.into());
    }
    let (password, from) = warehouse::find_password(&source, None);
    if password.is_none() && std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("password for {} (Enter for none): ", source.address()))?;
        if !typed.is_empty() {
            return Ok((source, Some(typed), PasswordSource::Given));
        }
    }
    Ok((source, password, from))
}

/// `shoplens import --source NAME (--table T | --query SQL)`.
pub fn import(
    workspace_path: &Path,
    name: &str,
    table: Option<String>,
    query: Option<String>,
    options: ImportOptions,
) -> Result<ImportOutcome, CliError> {
    let relation = relation(table, query)?;
    let (source, password, _) = prepare(workspace_path, name)?;
    let path = workspace_path.to_path_buf();
    wait_with_progress(Job::spawn(format!("import from {name}"), move |ctx| {
        let mut ws = Workspace::open(&path)?;
        let server = Server::connect(&source, password.as_deref(), ctx)?;
        Ok(warehouse::pull::import(&mut ws, &server, &relation, &options, ctx)?)
    }))
}

/// Connects and maps `table` to `target` (saved mapping, then `map`), saving the mapping when
/// `map` changed it, then runs `work` on the server in the job.
pub fn on_server<T: Send + 'static>(
    workspace_path: &Path,
    ServerTable { source: name, table, map }: ServerTable,
    target: Target,
    work: impl FnOnce(&Server, &JobContext, &MappedTable) -> Result<T, WarehouseError> + Send + 'static,
) -> Result<T, CliError> {
    let (source, password, _) = prepare(workspace_path, &name)?;
    let path = workspace_path.to_path_buf();
    let result = wait_with_progress(Job::spawn(format!("run on {name}"), move |ctx| {
        let run = pushdown::TableRun { workspace: &path, source: &source, password: password.as_deref(), table: &table, target, map: &map };
        Ok(pushdown::on_table(run, ctx, work)?)
    }))?;
    errln!("computed on the server ({} transferred)", crate::present::format::bytes(result.1));
    Ok(result.0)
}
