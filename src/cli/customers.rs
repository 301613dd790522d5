//! `shoplens rfm | clusters | cohorts | clv`: the Segments and Customer value panels, headless.

use crate::errln;
use std::io::Write;
use std::path::Path;

use super::output;
use super::{emit, wait_with_progress, CliError};
use crate::analytics::clv::{self, ClvSettings};
use crate::analytics::order_frame::OrderFrame;
use crate::analytics::rfm::{self, SegmentGrid, ValueColumns};
use crate::analytics::{clusters, cohorts, findings, write_csv, write_csv_to, Filters};
use crate::jobs::{Job, JobContext};
use crate::workspace;
use crate::workspace::catalogue::Target;

/// The workspace's order lines in memory, with progress on the terminal (see
/// [`super::load_copy`]).
pub fn load_frame(path: &Path) -> Result<OrderFrame, CliError> {
    super::load_copy(path, "load order lines", workspace::cache::load_order_lines, |save, frame| save.order_lines(frame))
}

/// What `rfm` prints, besides the filters.
pub struct RfmArgs<'a> {
    /// The analysis date (default: the day after the last purchase).
    pub date: Option<chrono::NaiveDate>,
    /// Only this segment's customers.
    pub segment: Option<&'a str>,
    /// Add the CLV columns.
    pub with_clv: bool,
    pub out: Option<&'a Path>,
    /// The copy `import --then rfm` built while importing (else the workspace's is read).
    pub held: Option<std::sync::Arc<OrderFrame>>,
}

pub fn rfm(path: &Path, filters: &Filters, args: RfmArgs<'_>, server: &super::warehouse::ServerArgs) -> Result<(), CliError> {
    let RfmArgs { date, segment, with_clv, out, held } = args;
    let grid = workspace::settings::load_segment_grid(&workspace::open_read_only(path)?)?;
    // Computed locally (the copy names the codes) or on a server (its result does).
    let (result, frame, server_result) = match server.target()? {
        Some(target) => {
            if with_clv {
                return Err(CliError::Failed("--clv runs on the workspace's copy: import the table first, or leave out --source".into()));
            }
            let (filters, grid) = (filters.clone(), grid.clone());
            let on_server = super::warehouse::on_server(path, target, Target::OrderLines, move |server, ctx, table| {
                crate::warehouse::pushdown::rfm(server, ctx, table, &filters, date, &grid)
            })?;
            (on_server.result.clone(), None, Some(on_server))
        }
        None => {
            // The copy `import --then rfm` built while importing, else the workspace's.
            let frame = match held {
                Some(frame) => frame,
                None => std::sync::Arc::new(load_frame(path)?),
            };
            (rfm::compute(&frame, filters, date, &grid)?, Some(frame), None)
        }
    };
    let segment_index = segment
        .map(|name| {
            result.segments.iter().position(|s| s.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
                let names: Vec<&str> = result.segments.iter().map(|s| s.name.as_str()).collect();
                CliError::Failed(format!("no segment '{name}'; the segments are: {}", names.join(", ")))
            })
        })
        .transpose()?;
    let value = if let (true, Some(frame)) = (with_clv, &frame) {
        let clv = clv::compute(frame, filters, &ClvSettings::default(), &JobContext::detached())?;
        for warning in &clv.warnings {
            errln!("warning: {warning}");
        }
        Some(ValueColumns::by_customer(&clv))
    } else {
        None
    };
    errln!("analysis date {}, {} customers", result.analysis_date, result.customers.len());
    for thin in &result.thin {
        errln!("warning: too little spread to score {thin}");
    }
    match out {
        Some(_) => {
            let names = match (&frame, &server_result) {
                (Some(frame), _) => rfm::CustomerNames::of(frame),
                (None, Some(on_server)) => on_server.names(),
                (None, None) => unreachable!("RFM is computed locally or on a server"),
            };
            emit(out, "rows", rfm::customer_table(&names, &result, segment_index, value.as_ref()))
        }
        None => {
            let means = value
                .as_ref()
                .map(|v| result.segment_means(&v.iter().map(|(&c, v)| (c, v.clv)).collect()))
                .unwrap_or_else(|| vec![None; result.segments.len()]);
            emit(None, "rows", rfm::segment_table(&result, &grid, &means))
        }
    }
}

/// Splits `"left=right"`.
fn pair<'a>(text: &'a str, what: &str) -> Result<(&'a str, &'a str), CliError> {
    text.split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| CliError::Failed(format!("{what} '{text}' is not NAME=VALUE")))
}

/// Edits the saved segment map, then prints it with the actions.
pub fn segments(path: &Path, set: &[String], rename: &[String], action: &[String], reset: bool) -> Result<(), CliError> {
    let mut ws = workspace::Workspace::open(path)?;
    let mut grid = if reset { SegmentGrid::default() } else { workspace::settings::load_segment_grid(ws.conn())? };
    for cell in set {
        let (at, name) = pair(cell, "--set")?;
        let bad = || CliError::Failed(format!("--set cell '{at}' is not like R5F1"));
        let at = at.to_ascii_uppercase();
        let (r, f) = at.strip_prefix('R').and_then(|rest| rest.split_once('F')).ok_or_else(bad)?;
        let (r, f): (usize, usize) = (r.parse().map_err(|_| bad())?, f.parse().map_err(|_| bad())?);
        if !(1..=5).contains(&r) || !(1..=5).contains(&f) {
            return Err(bad());
        }
        grid.cells[r - 1][f - 1] = name.to_string();
    }
    for entry in rename {
        let (from, to) = pair(entry, "--rename")?;
        if !grid.names().iter().any(|n| n == from) {
            return Err(CliError::Failed(format!("no segment '{from}' to rename; the segments are: {}", grid.names().join(", "))));
        }
        grid.rename(from, to);
    }
    for entry in action {
        let (segment, text) = pair(entry, "--action")?;
        grid.set_action(segment, text.to_string());
    }
    if reset || !set.is_empty() || !rename.is_empty() || !action.is_empty() {
        workspace::settings::save_segment_grid(ws.conn_mut(), &grid)?;
    }
    let mut out = output::stdout();
    writeln!(out, "      F1 .. F5")?;
    for r in (1..=5u8).rev() {
        let row: Vec<&str> = (1..=5u8).map(|f| grid.segment(r, f)).collect();
        writeln!(out, "R{r}  {}", row.join(" | "))?;
    }
    writeln!(out)?;
    for name in grid.names() {
        writeln!(out, "{name}: {}", grid.action(&name))?;
    }
    Ok(())
}

pub fn clusters(path: &Path, filters: &Filters, k: Option<usize>, out: Option<&Path>) -> Result<(), CliError> {
    let grid = workspace::settings::load_segment_grid(&workspace::open_read_only(path)?)?;
    let frame = load_frame(path)?;
    let rfm_result = rfm::compute(&frame, filters, None, &grid)?;
    let result = clusters::compute(&rfm_result, k, &JobContext::detached())?;
    let mut stdout = output::stdout();
    writeln!(stdout, "k  inertia  silhouette")?;
    for c in &result.candidates {
        let mark = if c.k == result.suggested_k { "  <- suggested" } else { "" };
        writeln!(stdout, "{}  {:.4}  {:.4}{mark}", c.k, c.inertia, c.silhouette)?;
    }
    writeln!(stdout)?;
    let (header, rows) = clusters::profile_table(&result);
    write_csv_to(&mut stdout, &header, rows)?;
    if let Some(path) = out {
        let header = ["customer_id", "cluster", "segment"].map(String::from);
        let rows = rfm_result.customers.iter().zip(&result.assignment).map(|(c, cluster)| {
            vec![frame.customers[c.customer as usize].clone(), cluster.to_string(), rfm_result.segments[c.segment].name.clone()]
        });
        let n = write_csv(path, &header, rows)?;
        errln!("wrote {n} rows to {}", path.display());
    }
    Ok(())
}

/// `shoplens findings`: the ranked findings as CSV, then (on stderr) the period, how many were
/// tested and passed, and what could not be looked at. Without dates: the last full month.
pub fn findings(path: &Path, mut filters: Filters, out: Option<&Path>) -> Result<(), CliError> {
    let frame = std::sync::Arc::new(load_frame(path)?);
    filters = findings::period_filters(&filters, frame.date_span());
    let (job_frame, workspace) = (frame.clone(), path.to_path_buf());
    let job = Job::spawn("find what changed", move |ctx| {
        // The funnel's changes and the market's moves, where the workspace has events and prices.
        let conn = workspace::open_read_only(&workspace)?;
        let events = std::sync::Arc::new(workspace::copies::load_events(&conn, ctx)?);
        let inputs = workspace::copies::load_findings_inputs(&conn, Some(events), ctx)?;
        Ok(findings::compute_with(&job_frame, inputs.sources(), &filters, &inputs.settings(), ctx)?)
    });
    let result = wait_with_progress(job)?;
    if let (Some((from, to)), previous) = (result.period, result.previous_period) {
        let before = previous.map_or("no period before it in the data".to_string(), |(f, t)| format!("compared with {f} to {t}"));
        errln!("period {from} to {to}, {before}");
    }
    for figure in result.current.figures(result.previous.as_ref()) {
        let value = if figure.is_money {
            crate::text::money_in(figure.value, result.currency.as_deref())
        } else {
            crate::text::number(figure.value, 0)
        };
        let change = figure.change_pct.map_or(String::new(), |c| format!(" ({c:+.1}% vs the period before)"));
        errln!("{}: {value}{change}", figure.label.to_lowercase());
    }
    errln!("{} findings tested, {} passed", result.tested, result.passed);
    if result.findings.is_empty() {
        errln!("nothing changed beyond what chance explains");
    }
    for note in &result.notes {
        errln!("note: {note}");
    }
    emit(out, "findings", findings::table(&result))
}

pub fn cohorts(path: &Path, filters: &Filters, revenue: bool, out: Option<&Path>) -> Result<(), CliError> {
    let frame = load_frame(path)?;
    let result = cohorts::compute(&frame, filters)?;
    emit(out, "rows", cohorts::table(&result, revenue))
}

pub fn clv(path: &Path, filters: &Filters, settings: &ClvSettings, out: Option<&Path>) -> Result<(), CliError> {
    let frame = load_frame(path)?;
    let (filters_owned, settings_owned, frame) = (filters.clone(), settings.clone(), std::sync::Arc::new(frame));
    let job_frame = frame.clone();
    let job = Job::spawn("fit CLV models", move |ctx| Ok(clv::compute(&job_frame, &filters_owned, &settings_owned, ctx)?));
    let result = wait_with_progress(job)?;
    let mut stdout = output::stdout();
    for line in clv::describe_fits(&result) {
        writeln!(stdout, "{line}")?;
    }
    for warning in &result.warnings {
        writeln!(stdout, "warning: {warning}")?;
    }
    match &result.holdout {
        Ok(h) => writeln!(
            stdout,
            "holdout check: fitted to {}, {:.1} {} to {}: predicted {:.0} purchases, actual {:.0}",
            h.split,
            h.length,
            settings.unit.plural(),
            h.end,
            h.total_predicted,
            h.total_actual
        )?,
        Err(e) => writeln!(stdout, "holdout check: {e}")?,
    }
    drop(stdout);
    match out {
        Some(_) => emit(out, "rows", clv::customer_table(&frame, &result, usize::MAX)),
        None => Ok(()),
    }
}
