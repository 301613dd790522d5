//! The command line: everything the app does, headless. Tests and benchmarks drive it too.

use crate::{errln, outln};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

mod customers;
mod events;
mod marketplace;
pub mod output;
mod pricing;
mod warehouse;

use crate::analytics::clv::ClvSettings;
use crate::analytics::Filters;
use crate::import::{self, ImportOptions, ImportOutcome};
use crate::jobs::{Job, JobError};
use crate::timestamp::Timestamp;
use crate::workspace::catalogue::Target;
use crate::workspace::{self, Workspace};

#[derive(Debug, Parser)]
#[command(
    name = "shoplens",
    version = crate::VERSION,
    about = "Analyse shop exports offline: import dumps into a SQLite workspace and explore them.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a command: workspaces (.shoplens) to open and data files to import, as the file
    /// manager passes them. The first workspace opens in the window (else the last one, else the
    /// demo), each further one in a window of its own; data files are imported into it.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the desktop app on a workspace (without a command: the last or the demo workspace).
    Open {
        workspace: PathBuf,
        /// Start live mode on this events CSV (or folder of them), as Funnel › Live mode does.
        #[arg(long)]
        watch: Option<PathBuf>,
        /// Open on this panel: overview, segments, customer_value, funnel, pricing, sellers,
        /// listings, data or sql.
        #[arg(long)]
        panel: Option<String>,
        /// Import this data file once the workspace is open, as dropping it on the window does
        /// (repeatable).
        #[arg(long = "import", value_name = "FILE")]
        imports: Vec<PathBuf>,
    },
    /// Build (or rebuild) the demo workspace: UCI Online Retail II 2009-2010 plus synthetic events.
    Demo {
        /// Where to write it (default: the demo workspace in the OS data folder).
        workspace: Option<PathBuf>,
    },
    /// Print the Overview: KPIs with change vs the previous period, then monthly figures as CSV.
    Overview {
        workspace: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
        #[command(flatten)]
        server: warehouse::ServerArgs,
    },
    /// What changed between the chosen period and the one before it, why, and how sure: ranked
    /// findings (drivers and detractors, concentration, unexpected days, trends, segment moves)
    /// as CSV: rank, kind, subject, metric, current, previous, change, share_of_change, evidence,
    /// text. Without --from/--to, the last full month of the data.
    Findings {
        workspace: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
        /// Write the findings here instead of printing them.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// RFM scores and named segments per customer, written as a campaign-ready CSV.
    Rfm {
        workspace: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
        /// Analysis date, YYYY-MM-DD (default: the day after the last purchase).
        #[arg(long, value_parser = parse_date_arg)]
        date: Option<chrono::NaiveDate>,
        /// Only customers of this segment (e.g. "At Risk").
        #[arg(long)]
        segment: Option<String>,
        /// Also fit the CLV model (defaults) and add CLV and P(alive) columns.
        #[arg(long)]
        clv: bool,
        /// Customer list (CSV); without it the per-segment table is printed.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        server: warehouse::ServerArgs,
    },
    /// Show or edit the workspace's segment map (R×F cell → segment) and marketing actions.
    Segments {
        workspace: PathBuf,
        /// Put a segment in a cell, e.g. --set "R5F1=Fresh Faces" (repeatable).
        #[arg(long)]
        set: Vec<String>,
        /// Rename a segment everywhere, e.g. --rename "At Risk=Slipping Away" (repeatable).
        #[arg(long)]
        rename: Vec<String>,
        /// Set a segment's recommended action, e.g. --action "Champions=Invite to the VIP day" (repeatable).
        #[arg(long)]
        action: Vec<String>,
        /// Go back to the standard map and actions first.
        #[arg(long)]
        reset: bool,
    },
    /// k-means clusters on standardised log R, F, M: elbow and silhouette per k, then profiles.
    Clusters {
        workspace: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
        /// Number of clusters (default: the best silhouette for k = 2..8).
        #[arg(long)]
        k: Option<usize>,
        /// Per-customer cluster assignments (CSV).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Monthly acquisition cohorts: % of customers retained by months since first purchase.
    Cohorts {
        workspace: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
        /// Revenue per acquired customer instead of % retained.
        #[arg(long)]
        revenue: bool,
        /// Write the table here instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Customer lifetime value: BG/NBD + Gamma-Gamma fits, then one row per customer.
    Clv {
        workspace: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
        /// Horizon in --period units.
        #[arg(long, default_value_t = 12)]
        horizon: u32,
        /// Time unit for the model, the horizon and the discount rate: day, week or month.
        #[arg(long, default_value = "month")]
        period: crate::analytics::clv::TimeUnit,
        /// Discount rate per period.
        #[arg(long, value_parser = parse_finite, default_value_t = 0.01)]
        discount: f64,
        /// L2 penalty on the parameters (0 = plain maximum likelihood).
        #[arg(long, value_parser = parse_finite, default_value_t = 0.0)]
        penalty: f64,
        /// Calibration/holdout split date for the check, YYYY-MM-DD (default: two thirds in).
        #[arg(long, value_parser = parse_date_arg)]
        split: Option<chrono::NaiveDate>,
        /// Per-customer predictions (CSV).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import files (CSV/TSV, gzip'd text, Parquet, Excel .xlsx, JSON lines) and print a quality report.
    /// With --source: a table (--table) or a query's result (--query) from a saved warehouse
    /// source, streamed in the same way.
    Import {
        #[arg(required_unless_present = "source")]
        files: Vec<PathBuf>,
        /// Import from this saved warehouse source (see `shoplens source`) instead of files.
        #[arg(long, conflicts_with = "files")]
        source: Option<String>,
        /// With --source: a query whose result to import.
        #[arg(long, requires = "source", conflicts_with = "table")]
        query: Option<String>,
        /// Workspace file (default: the default workspace in the OS data folder).
        #[arg(long, short)]
        workspace: Option<PathBuf>,
        /// Load into this table kind instead of detecting it: order_lines, events, products,
        /// our_prices, competitor_prices, named_prices, users, collection_items, listings,
        /// marketplace_orders, interactions or raw.
        #[arg(long)]
        kind: Option<String>,
        /// Column mapping for --kind: target=source pairs separated by commas.
        #[arg(long)]
        map: Option<String>,
        /// Excel sheet to read (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        /// With --source: the server table to import (schema.table). Otherwise the table name
        /// for raw imports (default: from the file name).
        #[arg(long)]
        table: Option<String>,
        /// Import even if the same file was imported before.
        #[arg(long)]
        force: bool,
        /// Order lines: what marks a cancelled line. invoice-prefix: an invoice C followed by
        /// its number (the UCI rule); status: the status column (--map status=COLUMN) holds a
        /// cancelled value; none. Default: decided from the layout and said in the report.
        #[arg(long, value_parser = ["invoice-prefix", "status", "none"])]
        cancelled_by: Option<String>,
        /// With a status column: the values that mean cancelled, comma-separated (default:
        /// canceled, cancelled, unavailable, voided, refunded).
        #[arg(long)]
        cancelled_values: Option<String>,
        /// Join FILE to the lines file on KEY (a column of the lines, or of a file joined
        /// before) = THEIR_KEY (FILE's column; default the same name): FILE:KEY or
        /// FILE:KEY=THEIR_KEY, repeated for each file (an orders file, then a customers file).
        /// Remembered: the same layouts given together later are joined without asking.
        /// Olist's items, orders and customers files are joined without it.
        #[arg(long, conflicts_with = "source")]
        join: Vec<String>,
        /// A competitor price feed's currency (e.g. GBP), where the file does not say.
        #[arg(long)]
        currency: Option<String>,
        /// A competitor feed's prices include tax.
        #[arg(long, conflicts_with = "prices_exclude_tax")]
        prices_include_tax: bool,
        /// A competitor feed's prices exclude tax.
        #[arg(long)]
        prices_exclude_tax: bool,
        /// Then print these figures from the copy the import built as it wrote the rows
        /// (an import into an empty table; else from the workspace's copy): rfm (the segment
        /// table, or with --out the customer table), overview or funnel (default settings).
        /// The process ends only after the import's commit, so what it printed is saved.
        #[arg(long, value_parser = ["rfm", "overview", "funnel"], conflicts_with = "source")]
        then: Option<String>,
        /// With --then: write the figures' table to this CSV file (rfm: one row per customer;
        /// overview: the monthly figures; funnel: the breakdown).
        #[arg(long, requires = "then")]
        out: Option<PathBuf>,
        /// Print the process's peak memory when done (used by `shoplens bench`).
        #[arg(long, hide = true)]
        print_peak_rss: bool,
    },
    /// Conversion funnel over events: each step's count and conversion.
    Funnel {
        workspace: PathBuf,
        #[command(flatten)]
        filters: DateArgs,
        /// Steps in order, comma-separated: view, cart, remove_from_cart, purchase.
        #[arg(long, default_value = "view,cart,purchase")]
        steps: String,
        /// Count users instead of sessions.
        #[arg(long)]
        users: bool,
        /// Conversion window: session, or hours/days such as 4h or 2d (from the first step).
        #[arg(long, default_value = "session")]
        window: String,
        /// Steps may happen in any order.
        #[arg(long)]
        any_order: bool,
        /// Breakdown written with --out: category, category-code, brand, product, price-band.
        #[arg(long, default_value = "category")]
        breakdown: String,
        /// The breakdown table (CSV).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Who dropped off after each step (CSV).
        #[arg(long)]
        dropped: Option<PathBuf>,
        #[command(flatten)]
        server: warehouse::ServerArgs,
    },
    /// Abandoned carts: the retargeting list (one row per cart, with user id and session).
    Abandoned {
        workspace: PathBuf,
        #[command(flatten)]
        filters: DateArgs,
        /// Minutes without events after which a session has ended.
        #[arg(long, value_parser = parse_finite, default_value_t = 30.0)]
        expiry: f64,
        /// Carts worth at least this get the coupon.
        #[arg(long, value_parser = parse_finite, default_value_t = 100.0)]
        coupon_threshold: f64,
        /// Smaller carts worth at least this get free shipping; below it, a reminder alone.
        #[arg(long, value_parser = parse_finite, default_value_t = 15.0)]
        free_shipping_min: f64,
        /// Coupon size in percent.
        #[arg(long, default_value_t = 10)]
        coupon: u32,
        /// Leave out users who bought later in another session.
        #[arg(long)]
        exclude_bought_later: bool,
        /// The moment to judge expiry at, "YYYY-MM-DD HH:MM:SS" UTC (default: the last event).
        #[arg(long, value_parser = parse_time_arg)]
        now: Option<Timestamp>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Demand forecast per product for the next 7 days, with its backtest against "same as last week".
    Forecast {
        workspace: PathBuf,
        #[command(flatten)]
        filters: DateArgs,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Live mode: follow a growing events CSV (or a folder of them), append new rows every few
    /// seconds and print the funnel, new sales and newly abandoned carts.
    Watch {
        workspace: PathBuf,
        file: PathBuf,
        /// Seconds between polls.
        #[arg(long, value_parser = parse_finite, default_value_t = 2.0)]
        interval: f64,
        /// Minutes without events after which a session has ended.
        #[arg(long, value_parser = parse_finite, default_value_t = 30.0)]
        expiry: f64,
        /// Stop after this many seconds (default: run until stopped).
        #[arg(long, value_parser = parse_finite)]
        seconds: Option<f64>,
    },
    /// Run a read-only SQL query and print the result as CSV.
    Query { workspace: PathBuf, sql: String },
    /// Listing health by brand or category: group, listed, sold, success_rate,
    /// median_days_to_sell, views, likes, orders, conversion (then supply columns).
    Listings {
        workspace: PathBuf,
        #[command(flatten)]
        filters: DateArgs,
        /// Group by `brand` or `category`.
        #[arg(long, default_value = "category")]
        by: String,
        /// Leave out groups with fewer listings than this.
        #[arg(long, default_value_t = 1)]
        min_listings: u64,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the 20 most active users here.
        #[arg(long)]
        users_out: Option<PathBuf>,
    },
    /// Marketplace users to invite to sell, best first: user_id, score, p_sell, match, country,
    /// purchases, collection_size, top_categories, reasons (every non-seller; --top N cuts).
    Sellers {
        workspace: PathBuf,
        /// Sales in 12 months that make an active seller.
        #[arg(long, default_value_t = 3)]
        active_min: u32,
        /// Judge as of this day (default: the data's last date).
        #[arg(long, value_parser = parse_date_arg)]
        date: Option<chrono::NaiveDate>,
        /// Short categories chosen by hand, comma-separated (default: the three shortest).
        #[arg(long)]
        categories: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        top: Option<usize>,
        /// Write the categories' supply and demand (shortest first) here.
        #[arg(long)]
        categories_out: Option<PathBuf>,
        /// Print the model report (AUC, precision@k, weights) instead of the candidates.
        #[arg(long)]
        report: bool,
    },
    /// Writes a story (its saved views, recomputed from the workspace) as a self-contained HTML
    /// file and/or a PDF with one page per view.
    Report {
        workspace: PathBuf,
        /// The story's name, as listed by `shoplens stories`.
        #[arg(long)]
        story: String,
        #[arg(long)]
        html: Option<PathBuf>,
        #[arg(long)]
        pdf: Option<PathBuf>,
    },
    /// Lists the workspace's stories and their views.
    Stories { workspace: PathBuf },
    /// Warehouse sources: PostgreSQL-protocol servers (see `shoplens source --help`).
    Source {
        #[command(subcommand)]
        command: warehouse::SourceCommand,
    },
    /// Pricing: competitor monitor and market signals (see `shoplens pricing --help`).
    Pricing {
        #[command(subcommand)]
        command: pricing::PricingCommand,
    },
    /// List a workspace's tables with row counts, and its import history.
    Info { workspace: PathBuf },
    /// Show the columnar cache kept beside a workspace (the in-memory copies saved for a fast
    /// reopen: whether each is current, and its size), or remove it with --clear.
    Cache {
        workspace: PathBuf,
        /// Remove the cache; the next command reads the workspace and saves a new one.
        #[arg(long)]
        clear: bool,
    },
    /// Copy whatever still reads from a damaged workspace file into a new one, table by table
    /// and around the unreadable pages, and report what was lost.
    Recover {
        damaged: PathBuf,
        /// The new workspace file (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Generate seeded synthetic data in the UCI (orders) or REES46 (events) layout.
    Gen {
        what: GenKind,
        out: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Measure import speed and memory against sqlite3's .import (see docs/PERFORMANCE.md).
    Bench {
        /// Folder for generated files and workspaces (large: ~6 GB for the full run).
        #[arg(long, default_value = "target/bench-data")]
        dir: PathBuf,
        /// Small sizes only, to check that the benchmark runs.
        #[arg(long)]
        quick: bool,
        /// Which benchmark: import, import-memory, overview, customers, clv, events, pricing,
        /// sellers, warehouse, report, findings, impact, instant, first-look, live or all.
        #[arg(long, default_value = "all")]
        what: String,
        /// With `--what instant` or `first-look`: run DuckDB and polars (Python, in a virtualenv
        /// made from bench/requirements.txt) on the same files in the same run.
        #[arg(long)]
        peers: bool,
        /// With `--what instant` or `first-look`: write the results into this Markdown file (the
        /// benchmark's section is replaced), e.g. docs/PERFORMANCE.md.
        #[arg(long)]
        doc: Option<PathBuf>,
    },
}

/// The global filters, as every analysis command takes them.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    #[command(flatten)]
    dates: DateArgs,
    /// Only this country's order lines.
    #[arg(long)]
    country: Option<String>,
    /// Only order lines in this currency (ISO code). Lines in several currencies are never
    /// summed together: without it, the currency with the most lines is used, and said.
    #[arg(long)]
    currency: Option<String>,
}

/// `--from` and `--to` alone, for analyses of rows that carry no country (events, listings):
/// a `--country` there would be accepted and ignored.
#[derive(Debug, Clone, clap::Args)]
pub struct DateArgs {
    /// First day, YYYY-MM-DD.
    #[arg(long, value_parser = parse_date_arg)]
    from: Option<chrono::NaiveDate>,
    /// Last day, YYYY-MM-DD.
    #[arg(long, value_parser = parse_date_arg)]
    to: Option<chrono::NaiveDate>,
}

impl From<DateArgs> for Filters {
    fn from(f: DateArgs) -> Self {
        Filters { from: f.from, to: f.to, ..Filters::default() }
    }
}

/// `--from`, `--to`, `--date`, `--split`: a real calendar date, read by the one date parser.
fn parse_date_arg(text: &str) -> Result<chrono::NaiveDate, crate::timestamp::InvalidDate> {
    crate::timestamp::parse_date(text)
}

/// Every numeric option: a finite number (`NaN`, `inf` and `1e309` would flow into models and
/// prices as values no one meant).
pub(crate) fn parse_finite(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| format!("'{text}' is not a number"))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("'{text}' is not a finite number"))
    }
}

/// `--now`: a time in any form the importer reads.
fn parse_time_arg(text: &str) -> Result<Timestamp, crate::timestamp::InvalidDate> {
    crate::timestamp::parse_time(text)
}

impl From<FilterArgs> for Filters {
    fn from(f: FilterArgs) -> Self {
        Filters { country: f.country, currency: f.currency, ..f.dates.into() }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GenKind {
    Orders,
    Events,
    /// A folder of pricing files: catalogue, our prices, competitor prices and orders
    /// (`--rows` is the number of products; 180 days).
    Pricing,
    /// A folder of marketplace files: users, collection items, listings, orders and
    /// interactions (`--rows` is the number of users; 2023–2024).
    Marketplace,
    /// A folder with an Olist-layout dump: order items, orders and customers (`--rows` orders).
    Olist,
    /// A Vestiaire-layout listing snapshot, without dates (`--rows` listings).
    Vestiaire,
}

/// Why a command failed, for one line on stderr. Not a `std::error::Error` itself, so any
/// error converts into it with `?`.
#[derive(Debug)]
pub enum CliError {
    /// The reader of our output went away (`shoplens query ... | head`): not a failure.
    OutputClosed,
    Failed(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::OutputClosed => f.write_str("the output was closed"),
            CliError::Failed(message) => f.write_str(message),
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for CliError {
    /// `OutputClosed` when a broken pipe is anywhere in the error's source chain (a CSV writer
    /// wraps the I/O error), by its `io::ErrorKind`, never by the message text.
    fn from(err: E) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let broken_pipe = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
        while let Some(e) = cause {
            // The csv crate keeps its I/O error as its kind, not as its source.
            let in_csv = e.downcast_ref::<csv::Error>().is_some_and(|c| matches!(c.kind(), csv::ErrorKind::Io(io) if broken_pipe(io)));
            if in_csv || e.downcast_ref::<std::io::Error>().is_some_and(broken_pipe) {
                return CliError::OutputClosed;
            }
            cause = e.source();
        }
        match crate::workspace::recover::damage_hint(&err) {
            Some(hint) => CliError::Failed(format!("{err}{hint}")),
            None => CliError::Failed(err.to_string()),
        }
    }
}

impl From<JobError> for CliError {
    fn from(err: JobError) -> Self {
        CliError::Failed(err.to_string())
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match run_command(cli) {
        Err(CliError::OutputClosed) => Ok(()),
        other => other,
    }
}

fn run_command(cli: Cli) -> Result<(), CliError> {
    // Headless commands answer Ctrl-C and SIGTERM as a cancel from their first step (opening
    // the workspace included), not only once a job is running; the app keeps the defaults.
    if !matches!(cli.command, None | Some(Command::Open { .. })) {
        stop_requested();
    }
    match cli.command {
        None => crate::ui::run(cli.files, None, None).map_err(CliError::Failed),
        Some(Command::Open { workspace, watch, panel, imports }) => {
            crate::ui::run(std::iter::once(workspace).chain(imports).collect(), watch, panel).map_err(CliError::Failed)
        }
        Some(Command::Demo { workspace }) => {
            let path = workspace.unwrap_or_else(crate::demo::demo_path);
            let job = Job::spawn("build demo workspace", move |ctx| {
                crate::demo::build(&path, ctx)?;
                Ok(path)
            });
            let path = wait_with_progress(job)?;
            outln!("demo workspace ready: {}", path.display())?;
            Ok(())
        }
        Some(Command::Overview { workspace, filters, server }) => overview(&workspace, filters.into(), &server, None, None),
        Some(Command::Findings { workspace, filters, out }) => customers::findings(&workspace, filters.into(), out.as_deref()),
        Some(Command::Rfm { workspace, filters, date, segment, clv, out, server }) => {
            let args = customers::RfmArgs { date, segment: segment.as_deref(), with_clv: clv, out: out.as_deref(), held: None };
            customers::rfm(&workspace, &filters.into(), args, &server)
        }
        Some(Command::Segments { workspace, set, rename, action, reset }) => customers::segments(&workspace, &set, &rename, &action, reset),
        Some(Command::Clusters { workspace, filters, k, out }) => customers::clusters(&workspace, &filters.into(), k, out.as_deref()),
        Some(Command::Cohorts { workspace, filters, revenue, out }) => {
            customers::cohorts(&workspace, &filters.into(), revenue, out.as_deref())
        }
        Some(Command::Clv { workspace, filters, horizon, period, discount, penalty, split, out }) => {
            let settings = ClvSettings { unit: period, horizon, discount_rate: discount, penalty, holdout_split: split };
            customers::clv(&workspace, &filters.into(), &settings, out.as_deref())
        }
        Some(Command::Import {
            files,
            source,
            query,
            workspace,
            kind,
            map,
            sheet,
            table,
            force,
            cancelled_by,
            cancelled_values,
            join,
            currency,
            prices_include_tax,
            prices_exclude_tax,
            then,
            out,
            print_peak_rss,
        }) => {
            let target = kind
                .map(|k| {
                    Target::parse(&k).ok_or_else(|| {
                        let kinds: Vec<&str> = Target::ALL.iter().map(|t| t.table()).collect();
                        CliError::Failed(format!("unknown --kind '{k}' (use {})", kinds.join(", ")))
                    })
                })
                .transpose()?;
            let cancellation = cancellation_rule(cancelled_by.as_deref(), cancelled_values.as_deref());
            let mapping = map.map(|m| import::kinds::parse_mapping_arg(&m)).transpose().map_err(CliError::Failed)?.unwrap_or_default();
            let price_feed = import::PriceFeed {
                currency: currency.map(|c| c.trim().to_uppercase()),
                prices_include_tax: (prices_include_tax || prices_exclude_tax).then_some(prices_include_tax),
            };
            let path = workspace.unwrap_or_else(workspace::default_path);
            let result = match source {
                Some(source) => {
                    let options = ImportOptions {
                        target,
                        mapping,
                        sheet,
                        force,
                        table: None,
                        price_feed,
                        cancellation,
                        keep_copy: false,
                        early_copy: None,
                    };
                    warehouse::import(&path, &source, table, query, options)
                        .and_then(|outcome| Ok(print_outcome(&mut output::stdout(), &outcome, &path)?))
                }
                None => {
                    let joins =
                        join.iter().map(|j| import::join::parse_join_arg(j)).collect::<Result<Vec<_>, _>>().map_err(CliError::Failed)?;
                    let options = ImportOptions {
                        target,
                        mapping,
                        sheet,
                        force,
                        table,
                        price_feed,
                        cancellation,
                        keep_copy: then.is_some(),
                        early_copy: None,
                    };
                    import_files(&path, &files, &joins, &options).and_then(|copies| match then.as_deref() {
                        // The copies are saved while the figures are computed from them: the
                        // figures need not wait for the cache, and the process ends after both.
                        Some(figures) => {
                            crate::jobs::join(
                                || save_imported_copies(&path, &copies),
                                || then_figures(&path, figures, &copies, out.as_deref()),
                            )
                            .1
                        }
                        None => Ok(()),
                    })
                }
            };
            if print_peak_rss {
                if let Some(kib) = peak_rss_kib() {
                    errln!("peak_rss_kib={kib}");
                }
            }
            result
        }
        Some(Command::Funnel { workspace, filters, steps, users, window, any_order, breakdown, out, dropped, server }) => {
            let args = events::FunnelArgs {
                steps: &steps,
                by_users: users,
                window: &window,
                any_order,
                breakdown: Some(breakdown.as_str()),
                out: out.as_deref(),
                dropped: dropped.as_deref(),
                held: None,
            };
            events::funnel(&workspace, &filters.into(), &args, &server)
        }
        Some(Command::Abandoned {
            workspace,
            filters,
            expiry,
            coupon_threshold,
            free_shipping_min,
            coupon,
            exclude_bought_later,
            now,
            out,
        }) => {
            let now = now.map(|t| t.epoch_seconds());
            let settings = crate::analytics::carts::CartSettings {
                expiry_minutes: expiry,
                coupon_threshold,
                coupon_percent: coupon,
                free_shipping_minimum: free_shipping_min,
                exclude_bought_later,
            };
            events::abandoned(&workspace, &filters.into(), &settings, now, &out)
        }
        Some(Command::Forecast { workspace, filters, out }) => events::forecast(&workspace, &filters.into(), out.as_deref()),
        Some(Command::Watch { workspace, file, interval, expiry, seconds }) => {
            events::watch(&workspace, &file, Duration::from_secs_f64(interval.max(0.1)), expiry, seconds.map(Duration::from_secs_f64))
        }
        Some(Command::Query { workspace, sql }) => {
            // In a job, so Ctrl-C and SIGTERM stop a statement that would run for ever.
            let job = Job::spawn("query", move |ctx| {
                let out = output::Inert::new(std::io::BufWriter::new(std::io::stdout()));
                match workspace::snapshot::query_to_csv(&workspace, &sql, out) {
                    // Interrupted by the cancel: a cancel, not a failure of the query.
                    Err(_) if ctx.is_cancelled() => Err(crate::jobs::Cancelled.into()),
                    // Typed, so a closed output pipe is told apart from a failure.
                    other => Ok(other),
                }
            });
            Ok(wait_with_progress(job)??)
        }
        Some(Command::Info { workspace }) => info(&workspace),
        Some(Command::Cache { workspace, clear }) => copy_cache(&workspace, clear),
        Some(Command::Pricing { command }) => pricing::run(command),
        Some(Command::Report { workspace, story, html, pdf }) => report(&workspace, &story, html, pdf),
        Some(Command::Stories { workspace }) => stories(&workspace),
        Some(Command::Source { command }) => warehouse::run(command),
        Some(Command::Sellers { workspace, active_min, date, categories, out, top, categories_out, report }) => {
            marketplace::sellers(&workspace, marketplace::SellersArgs { active_min, date, categories, out, top, categories_out, report })
        }
        Some(Command::Listings { workspace, filters, by, min_listings, out, users_out }) => {
            marketplace::listings(&workspace, filters, &by, min_listings, out, users_out)
        }
        Some(Command::Recover { damaged, to }) => recover(&damaged, &to),
        Some(Command::Gen { what, out, rows, seed }) => generate(what, &out, rows, seed),
        Some(Command::Bench { dir, quick, what, peers, doc }) => {
            crate::bench::run(&dir, quick, &what, &crate::bench::Options { peers, doc }).map_err(CliError::Failed)
        }
    }
}

/// `--cancelled-by` and `--cancelled-values` as a rule; `None` lets the layout decide.
fn cancellation_rule(by: Option<&str>, values: Option<&str>) -> Option<import::kinds::CancellationRule> {
    use import::kinds::{CancellationRule, CANCELLED_STATUSES};
    let listed = values.map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>());
    match (by, listed) {
        (Some("none"), _) => Some(CancellationRule::None),
        (Some("invoice-prefix"), _) => Some(CancellationRule::InvoicePrefix),
        (_, Some(values)) => Some(CancellationRule::Status(values)),
        (Some("status"), None) => Some(CancellationRule::Status(CANCELLED_STATUSES.iter().map(|s| s.to_string()).collect())),
        _ => None,
    }
}

/// Imports the files; returns the copies the imports built (with `ImportOptions::keep_copy`),
/// for the caller to save with [`save_imported_copies`].
fn import_files(
    workspace_path: &Path,
    files: &[PathBuf],
    joins: &[import::join::Related],
    options: &ImportOptions,
) -> Result<Vec<import::copy::ImportedCopy>, CliError> {
    use import::join::{self, JoinSpec};
    // What to import: with --join, the one lines file joined as told (and remembered); else
    // files that a known or remembered join puts together go as one import, the rest alone.
    let (joined, alone): (Vec<JoinSpec>, Vec<PathBuf>) = if joins.is_empty() {
        let recipes = join::recipes(workspace::open_read_only(workspace_path).ok().as_ref())?;
        join::group_files(files, &recipes)?
    } else {
        match files {
            [lines] => (vec![JoinSpec { lines: lines.clone(), related: joins.to_vec() }], Vec::new()),
            _ => {
                return Err(CliError::Failed(
                    "--join joins files to one lines file: give exactly one FILE before the --join options".into(),
                ))
            }
        }
    };
    let remember = !joins.is_empty();
    let inputs = joined.into_iter().map(Ok).chain(alone.into_iter().map(Err));
    let total = files.len();
    let mut failures = Vec::new();
    let mut copies = Vec::new();
    for input in inputs {
        let name = match &input {
            Ok(spec) => {
                let related: Vec<String> = spec.related.iter().map(|r| r.path.display().to_string()).collect();
                format!("{} joined to {}", spec.lines.display(), related.join(" and "))
            }
            Err(file) => file.display().to_string(),
        };
        let (ws_path, opts) = (workspace_path.to_path_buf(), options.clone());
        // The import's own error is reported per file (and the next file still imported).
        let job = Job::spawn(format!("import {name}"), move |ctx| {
            let result = Workspace::open(&ws_path).map_err(import::ImportError::from).and_then(|mut ws| match &input {
                Ok(spec) => {
                    let outcome = import::import_joined(&mut ws, spec, &opts, ctx)?;
                    if remember {
                        join::remember(ws.conn(), &join::Recipe::of(spec)?)?;
                    }
                    Ok(outcome)
                }
                Err(file) => import::import_file(&mut ws, file, &opts, ctx),
            });
            Ok(result)
        });
        let result = wait_with_progress(job)?;
        match result {
            Ok(outcome) => {
                print_outcome(&mut output::stdout(), &outcome, workspace_path)?;
                match outcome.copy {
                    Some(Ok(copy)) => copies.push(copy),
                    Some(Err(why)) => errln!("note: no copy was built during the import ({why})"),
                    None => {}
                }
            }
            Err(err) => {
                errln!("error: {err}");
                failures.push(name);
            }
        }
    }
    match failures.len() {
        0 => Ok(copies),
        // The data is untouched, but the attempt is in the import history: say both.
        1 if total == 1 || !joins.is_empty() => {
            Err(CliError::Failed("the import failed; no rows were loaded (the failed attempt is listed by `shoplens info`)".into()))
        }
        _ => Err(CliError::Failed(format!("{} imports failed: {}", failures.len(), failures.join(", ")))),
    }
}

/// Writes a table to `out`, saying how many rows (of `what`) it wrote, or as CSV on stdout.
fn emit(out: Option<&Path>, what: &str, (header, rows): crate::analytics::Table) -> Result<(), CliError> {
    match out {
        Some(path) => {
            let n = crate::analytics::write_csv(path, &header, rows)?;
            errln!("wrote {n} {what} to {}", path.display());
        }
        None => {
            crate::analytics::write_csv_to(output::stdout(), &header, rows)?;
        }
    }
    Ok(())
}

/// Set by the first Ctrl-C or SIGTERM: the running job is asked to stop (an import rolls back and
/// records itself as cancelled). A second signal ends the process at once.
fn stop_requested() -> &'static std::sync::atomic::AtomicBool {
    static FLAG: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // The shutdown goes first, so it only fires once the flag is already set.
            let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, flag.clone());
            let _ = signal_hook::flag::register(signal, flag.clone());
        }
        flag
    })
}

/// Shows a job's progress on stderr (when it is a terminal) until the job ends. Ctrl-C and
/// SIGTERM cancel the job; it then ends the way a cancel from the app does.
/// An in-memory copy of the workspace at `path`, with progress on the terminal: from the
/// workspace's cache when it is current, else read from the workspace and saved to the cache
/// before the command goes on (so the next command starts fast). A cache that cannot be saved
/// costs the next start its speed, not this command its result: said on stderr.
fn load_copy<F: Send + Sync + 'static>(
    path: &Path,
    name: &str,
    load: fn(&Path, &crate::jobs::JobContext) -> Result<workspace::cache::Loaded<F>, workspace::copies::CopyError>,
    save: fn(&workspace::cache::PendingSave, &F) -> Result<(), workspace::cache::CacheError>,
) -> Result<F, CliError> {
    let path = path.to_path_buf();
    let job = Job::spawn(name, move |ctx| {
        let (frame, pending) = load(&path, ctx)?.into_frame(&path);
        let saved = pending.map(|pending| {
            ctx.set_message("saving the copy for a faster next start");
            save(&pending, &frame)
        });
        Ok((frame, saved))
    });
    let (frame, saved) = wait_with_progress(job)?;
    if let Some(Err(e)) = saved {
        errln!("warning: could not save the copy for a faster next start: {e}");
    }
    Ok(frame)
}

fn wait_with_progress<T: Send + 'static>(mut job: Job<T>) -> Result<T, CliError> {
    let stop = stop_requested();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:40!} [{bar:30}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) && !job.context().is_cancelled() {
            job.cancel();
        }
        if let Some(result) = job.try_take() {
            bar.finish_and_clear();
            return Ok(result?);
        }
        let progress = job.progress();
        bar.set_length(progress.total.max(1));
        bar.set_position(progress.done);
        bar.set_message(progress.message);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn print_outcome(out: &mut impl Write, outcome: &ImportOutcome, workspace: &Path) -> std::io::Result<()> {
    writeln!(
        out,
        "imported {} into {} as {} (import #{}, {}, {})",
        outcome.file.display(),
        workspace.display(),
        outcome.table,
        outcome.import_id,
        outcome.kind,
        outcome.format
    )?;
    if outcome.encoding != "UTF-8" {
        writeln!(out, "  encoding       {} (converted to UTF-8)", outcome.encoding)?;
    }
    write!(out, "{}", outcome.report)
}

/// Saves the copies the imports built as the workspace's cached copies, once the imports'
/// handles are closed and under the workspace's stamp as it now is: the next start reads a
/// copy instead of every row. A copy not saved costs only that, so it is a warning.
fn save_imported_copies(path: &Path, copies: &[import::copy::ImportedCopy]) {
    for copy in copies {
        let saved = match copy {
            import::copy::ImportedCopy::OrderLines(frame) => workspace::cache::save_order_lines_as_current(path, frame),
            import::copy::ImportedCopy::Events(frame) => workspace::cache::save_events_as_current(path, frame),
        };
        if let Err(e) = saved {
            errln!("warning: could not save the copy for a faster next start: {e}");
        }
    }
}

/// `import --then FIGURES`: the figures from the copies the import built (the workspace's copy
/// where it built none).
fn then_figures(path: &Path, figures: &str, copies: &[import::copy::ImportedCopy], out: Option<&Path>) -> Result<(), CliError> {
    use import::copy::ImportedCopy;
    let orders = copies.iter().find_map(|c| match c {
        ImportedCopy::OrderLines(frame) => Some(frame.clone()),
        ImportedCopy::Events(_) => None,
    });
    let events = copies.iter().find_map(|c| match c {
        ImportedCopy::Events(frame) => Some(frame.clone()),
        ImportedCopy::OrderLines(_) => None,
    });
    let local = warehouse::ServerArgs::default();
    match figures {
        "rfm" => {
            let args = customers::RfmArgs { date: None, segment: None, with_clv: false, out, held: orders };
            customers::rfm(path, &Filters::default(), args, &local)
        }
        "overview" => overview(path, Filters::default(), &local, orders, out),
        "funnel" => {
            let args = events::FunnelArgs {
                steps: "view,cart,purchase",
                by_users: false,
                window: "session",
                any_order: false,
                breakdown: Some("category"),
                out,
                dropped: None,
                held: events,
            };
            events::funnel(path, &Filters::default(), &args, &local)
        }
        other => Err(CliError::Failed(format!("unknown --then '{other}' (use rfm, overview or funnel)"))),
    }
}

fn overview(
    path: &Path,
    filters: Filters,
    server: &warehouse::ServerArgs,
    held: Option<std::sync::Arc<crate::analytics::order_frame::OrderFrame>>,
    out_file: Option<&Path>,
) -> Result<(), CliError> {
    use crate::analytics::overview;
    let result = match server.target()? {
        Some(target) => {
            let filters = filters.clone();
            warehouse::on_server(path, target, Target::OrderLines, move |server, ctx, table| {
                crate::warehouse::pushdown::overview(server, ctx, table, &filters, false)
            })?
        }
        None => {
            // The copy `import --then overview` built while importing, else the workspace's.
            let frame = match held {
                Some(frame) => frame,
                None => std::sync::Arc::new(customers::load_frame(path)?),
            };
            if frame.lines.height() == 0 {
                return Err(CliError::Failed(format!(
                    "{} has no order lines: import an orders export first (shoplens import FILE --workspace {})",
                    path.display(),
                    path.display()
                )));
            }
            overview::compute(&frame, &filters, &crate::jobs::JobContext::detached())?
        }
    };
    let mut out = output::stdout();
    match result.period {
        Some((from, to)) => writeln!(out, "period {from} to {to}")?,
        None => return Err(CliError::Failed("no order lines in the chosen dates and country".into())),
    }
    let compared = crate::present::format::compared_with(&result).unwrap_or_else(|| "no earlier data".into());
    writeln!(out, "compared with {compared}")?;
    let k = &result.kpis;
    for (name, kpi) in [
        ("revenue", k.revenue),
        ("orders", k.orders),
        ("customers", k.customers),
        ("average_order_value", k.average_order_value),
        ("cancellation_rate_pct", k.cancellation_rate),
    ] {
        let change = kpi.change_pct().map_or("n/a".to_string(), |c| format!("{c:+.1}%"));
        writeln!(out, "{name:<22} {:>14.2}  change vs previous period: {change}", kpi.current)?;
    }
    if let Some(note) = crate::present::format::adjustments_note(&result.adjustments, |v| format!("{v:.2}")) {
        writeln!(out, "note: {note}")?;
    }
    match crate::present::format::other_currencies_note(result.currency.as_deref(), result.lines_in_other_currencies) {
        Some(note) => writeln!(out, "note: {note}")?,
        None => {
            if let Some(currency) = &result.currency {
                writeln!(out, "note: money in {currency}")?;
            }
        }
    }
    let (header, rows) = overview::months_table(&result);
    match out_file {
        Some(file) => {
            let n = crate::analytics::write_csv(file, &header, rows)?;
            errln!("wrote {n} months to {}", file.display());
        }
        None => {
            writeln!(out)?;
            crate::analytics::write_csv_to(out, &header, rows)?;
        }
    }
    Ok(())
}

fn report(path: &Path, story: &str, html: Option<PathBuf>, pdf: Option<PathBuf>) -> Result<(), CliError> {
    if html.is_none() && pdf.is_none() {
        return Err(CliError::Failed("say where to write the report: --html FILE and/or --pdf FILE".into()));
    }
    let targets = crate::present::ReportTargets { html, pdf };
    let (path, story) = (path.to_path_buf(), story.to_string());
    let job = Job::spawn("write report", move |ctx| Ok(crate::present::report(&path, &story, &targets, ctx)?));
    for file in wait_with_progress(job)? {
        writeln!(output::stdout(), "wrote {}", file.display())?;
    }
    Ok(())
}

fn stories(path: &Path) -> Result<(), CliError> {
    let conn = workspace::open_read_only(path)?;
    let mut out = output::stdout();
    for story in workspace::views::stories(&conn)? {
        writeln!(out, "{story}")?;
        for saved in workspace::views::views(&conn, &story)? {
            let v = &saved.view;
            writeln!(out, "  {}. {} [{}] dates {}", saved.position + 1, v.title, v.panel, v.dates.describe(None))?;
        }
    }
    Ok(())
}

fn recover(damaged: &Path, to: &Path) -> Result<(), CliError> {
    let (damaged, to) = (damaged.to_path_buf(), to.to_path_buf());
    let job = Job::spawn("recover workspace", move |ctx| Ok(workspace::recover::recover(&damaged, &to, ctx)?));
    let recovery = wait_with_progress(job)?;
    write!(output::stdout(), "{recovery}")?;
    if !recovery.complete() {
        errln!("some rows could not be read; the copy holds everything else");
    }
    Ok(())
}

fn info(path: &Path) -> Result<(), CliError> {
    let conn = workspace::open_read_only(path)?;
    let mut out = output::stdout();
    writeln!(out, "workspace {}", path.display())?;
    writeln!(out, "tables:")?;
    for (name, count) in workspace::table_counts(&conn)? {
        writeln!(out, "  {name:<24} {:>12}", import::report::group(count as u64))?;
    }
    let mut stmt =
        conn.prepare("SELECT id, file, kind, target_table, rows_loaded, rows_rejected, status, finished_at FROM imports ORDER BY id")?;
    let imports = stmt.query_map([], |r| {
        Ok(format!(
            "  #{:<4} {:<10} {:>10} loaded {:>8} rejected  {} -> {} ({}) {}",
            r.get::<_, i64>(0)?,
            r.get::<_, String>(6)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(7)?
        ))
    })?;
    writeln!(out, "imports:")?;
    for line in imports {
        writeln!(out, "{}", line?)?;
    }
    Ok(())
}

fn copy_cache(path: &Path, clear: bool) -> Result<(), CliError> {
    use workspace::cache::Freshness;
    let mut out = output::stdout();
    if clear {
        let freed = workspace::cache::clear(path)?;
        writeln!(out, "removed {} ({:.1} MB)", workspace::cache::cache_dir(path).display(), freed as f64 / 1e6)?;
        return Ok(());
    }
    writeln!(out, "cache {}", workspace::cache::cache_dir(path).display())?;
    for copy in workspace::cache::status(path)? {
        let state = match copy.freshness {
            Freshness::Current => "current",
            Freshness::Behind => "behind (the rows added since are read from the workspace, then it is saved again)",
            Freshness::Stale => "stale (the next command reads the workspace and saves a new one)",
            Freshness::Missing => "none yet (the first command that needs it saves it)",
        };
        writeln!(out, "  {:<12} {:>9.1} MB  {state}", copy.table.table(), copy.bytes as f64 / 1e6)?;
    }
    Ok(())
}

fn generate(what: GenKind, out: &Path, rows: u64, seed: u64) -> Result<(), CliError> {
    match what {
        GenKind::Orders => crate::generate::write_order_lines(generated_file(out)?, rows, seed)?,
        GenKind::Events => crate::generate::write_events(generated_file(out)?, rows, seed)?,
        GenKind::Pricing => {
            std::fs::create_dir_all(out).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", out.display())))?;
            let planted = crate::generate::write_pricing(out, rows as usize, 180, seed)?;
            errln!("wrote {} products' pricing files to {} ({} planted competitor drops)", rows, out.display(), planted.drops.len());
        }
        GenKind::Marketplace => {
            std::fs::create_dir_all(out).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", out.display())))?;
            let planted = crate::generate::write_marketplace(out, rows as usize, crate::generate::MARKET_INTERACTIONS_PER_USER, seed)?;
            errln!("wrote a marketplace of {rows} users to {} (short categories: {})", out.display(), planted.short_categories.join(", "));
        }
        GenKind::Olist => {
            std::fs::create_dir_all(out).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", out.display())))?;
            let files = crate::generate::exports::write_olist(out, rows as usize, seed)?;
            errln!(
                "wrote {rows} orders in Olist's layout: {}, {}, {}",
                files.items.display(),
                files.orders.display(),
                files.customers.display()
            );
        }
        GenKind::Vestiaire => crate::generate::exports::write_vestiaire(out, rows as usize, seed)?,
    }
    Ok(())
}

/// The file a generator writes to, gzip'd when its name ends in `.gz`.
fn generated_file(out: &Path) -> Result<Box<dyn Write>, CliError> {
    let file = std::fs::File::create(out).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", out.display())))?;
    let file = std::io::BufWriter::with_capacity(1 << 20, file);
    let gzip = out.extension().is_some_and(|e| e == "gz");
    Ok(if gzip { Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast())) } else { Box::new(file) })
}

/// Peak resident memory of this process (Linux), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
