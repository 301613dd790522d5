//! `shoplens bench --what instant [--peers] [--doc FILE]`: a 10-million-line workspace that
//! feels instant. Import, reopen to a visible Overview, the Overview and RFM recomputed in
//! memory, and reopen to a visible funnel on 20M events, each against DuckDB and polars
//! (Python) on the same generated files in the same run.
//!
//! Every command-line figure is a whole process (start-up included), run under `taskset` on
//! the same cores for shoplens and its peers, median of three. The in-process figures are the
//! functions the window runs after opening a workspace (read the copy, compute), without the
//! window's own start-up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{fresh, generated, median_ms, Options};
use crate::analytics::{funnel, overview, rfm, Filters};
use crate::jobs::JobContext;
use crate::workspace::cache;

/// Runs per command-line figure.
pub(super) const RUNS: usize = 3;

/// The cores every measured process is pinned to: the first two (or the only one).
pub(super) fn cores() -> Option<String> {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let found = Command::new("taskset").arg("--version").output().is_ok_and(|o| o.status.success());
    found.then(|| if available >= 2 { "0,1".to_string() } else { "0".to_string() })
}

/// A command pinned to the benchmark's cores.
pub(super) fn pinned(program: &Path, cores: Option<&str>) -> Command {
    match cores {
        Some(list) => {
            let mut command = Command::new("taskset");
            command.args(["-c", list]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Wall-clock seconds of a whole process, which must succeed; its stdout (a peer's one-line
/// summary) is returned too, with the `peak_rss_kib=` line shoplens prints on stderr (with
/// `--print-peak-rss`) added at its end.
pub(super) fn timed(mut command: Command) -> Result<(f64, String), String> {
    let started = Instant::now();
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let mut summary = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if let Some(rss) = String::from_utf8_lossy(&output.stderr).lines().find(|l| l.starts_with("peak_rss_kib=")) {
        summary.push('\n');
        summary.push_str(rss);
    }
    Ok((seconds, summary))
}

/// The median of `RUNS` runs of `run` (each after a `sync`), in seconds, and the last summary.
pub(super) fn median_of(run: impl FnMut() -> Result<(f64, String), String>) -> Result<(f64, String), String> {
    median_of_runs(RUNS, run)
}

/// [`median_of`] over `runs` runs (at least one).
pub(super) fn median_of_runs(runs: usize, mut run: impl FnMut() -> Result<(f64, String), String>) -> Result<(f64, String), String> {
    let runs = runs.max(1);
    let mut seconds = Vec::with_capacity(runs);
    let mut summary = String::new();
    for _ in 0..runs {
        let _ = Command::new("sync").status();
        let (s, text) = run()?;
        seconds.push(s);
        summary = text;
    }
    seconds.sort_by(f64::total_cmp);
    Ok((seconds[runs / 2], summary))
}

/// DuckDB and polars in a Python virtualenv made from `bench/requirements.txt` (once; remade
/// when the requirements change).
pub(super) struct Peers {
    python: PathBuf,
    script: PathBuf,
}

impl Peers {
    /// The peers, or why they were skipped.
    pub(super) fn prepare(dir: &Path) -> Result<Peers, String> {
        let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench");
        let requirements = std::fs::read_to_string(bench.join("requirements.txt"))
            .map_err(|e| format!("no {}: {e}", bench.join("requirements.txt").display()))?;
        let python = ["python3", "python"]
            .into_iter()
            .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
            .ok_or("no Python (python3) on this machine")?;
        let venv = dir.join("peers-venv");
        let stamp = venv.join("requirements.txt");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(requirements.as_str()) {
            eprintln!("making the peers' virtualenv in {} ...", venv.display());
            let _ = std::fs::remove_dir_all(&venv);
            let made = Command::new(python).args(["-m", "venv"]).arg(&venv).status().map_err(|e| e.to_string())?;
            if !made.success() {
                return Err("python3 -m venv failed (Debian: apt-get install python3-venv)".into());
            }
            let installed = Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "-r"])
                .arg(bench.join("requirements.txt"))
                .status()
                .map_err(|e| e.to_string())?;
            if !installed.success() {
                return Err("pip could not install bench/requirements.txt".into());
            }
            std::fs::write(&stamp, &requirements).map_err(|e| e.to_string())?;
        }
        Ok(Peers { python: venv.join("bin/python"), script: bench.join("peers.py") })
    }

    pub(super) fn command(&self, cores: Option<&str>, tool: &str, task: &str, args: &[&Path]) -> Command {
        let mut command = pinned(&self.python, cores);
        command.arg(&self.script).args([tool, task]).args(args);
        command
    }
}

/// One row of the results: shoplens's median and each peer's, in seconds.
struct Row {
    figure: String,
    shoplens: f64,
    duckdb: Option<f64>,
    polars: Option<f64>,
    target: &'static str,
}

impl Row {
    /// A figure with no peer to compare.
    fn ours(figure: impl Into<String>, shoplens: f64, target: &'static str) -> Row {
        Row { figure: figure.into(), shoplens, duckdb: None, polars: None, target }
    }
}

pub(super) fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn ratio(peer: Option<f64>, ours: f64) -> String {
    peer.map_or("–".into(), |p| format!("{} ({:.1}×)", seconds(p), p / ours))
}

/// What the instant and first-look benchmarks run on: our executable, the cores, the peers
/// (when asked and available) and the generated files at the benchmark's sizes.
pub(super) struct Setup {
    pub exe: std::path::PathBuf,
    pub order_rows: u64,
    pub event_rows: u64,
    pub cores: Option<String>,
    pub peers: Option<Peers>,
    pub orders: std::path::PathBuf,
    pub events: std::path::PathBuf,
}

pub(super) fn setup(dir: &Path, quick: bool, options: &Options) -> Result<Setup, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let (order_rows, event_rows) = if quick { (100_000u64, 100_000u64) } else { (10_000_000, 20_000_000) };
    let peers = if options.peers { Peers::prepare(dir) } else { Err("not asked for (--peers)".to_string()) };
    if let Err(why) = &peers {
        eprintln!("peers skipped: {why}");
    }
    let orders = generated(&exe, dir, "orders", order_rows)?;
    let events = generated(&exe, dir, "events", event_rows)?;
    Ok(Setup { exe, order_rows, event_rows, cores: cores(), peers: peers.ok(), orders, events })
}

pub fn run(dir: &Path, quick: bool, options: &Options) -> Result<(), String> {
    let Setup { exe, order_rows, event_rows, cores, peers, orders, events } = setup(dir, quick, options)?;
    let (cores, peers) = (cores.as_deref(), peers.as_ref());
    let ctx = JobContext::detached();
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // A peer's median time for a task on what its import kept.
    let peer_median = |tool: &str, task: &str, store: &Path| -> Result<Option<f64>, String> {
        let Some(peers) = peers else { return Ok(None) };
        let (s, summary) = median_of(|| timed(peers.command(cores, tool, task, &[store])))?;
        eprintln!("{tool} {task}: {summary}");
        Ok(Some(s))
    };

    // Import: each tool keeps the order lines its own way, from the same CSV.
    let workspace = dir.join(format!("instant-orders-{order_rows}.shoplens"));
    let import_once = || {
        let ws = fresh(dir, &format!("instant-orders-{order_rows}.shoplens"));
        cache::clear(&ws).map_err(|e| e.to_string())?;
        let mut command = pinned(&exe, cores);
        command.arg("import").arg(&orders).arg("--workspace").arg(&ws);
        timed(command)
    };
    let (import, _) = median_of(import_once)?;
    let duckdb_store = dir.join(format!("instant-orders-{order_rows}.duckdb"));
    let polars_store = dir.join(format!("instant-orders-{order_rows}.parquet"));
    let peer_import = |tool: &str, store: &Path| -> Result<Option<f64>, String> {
        let Some(peers) = peers else { return Ok(None) };
        let (s, summary) = median_of(|| {
            let _ = std::fs::remove_file(store);
            timed(peers.command(cores, tool, "import-orders", &[&orders, store]))
        })?;
        eprintln!("{tool} import: {summary}");
        Ok(Some(s))
    };
    rows.push(Row {
        figure: format!("import {} order lines (CSV → each tool's own store)", crate::import::report::group(order_rows)),
        shoplens: import,
        duckdb: peer_import("duckdb", &duckdb_store)?,
        polars: peer_import("polars", &polars_store)?,
        target: "no slower than DuckDB",
    });

    // Reopen to a visible Overview: the first command reads SQLite and writes the cache, the
    // next ones read the cache.
    let overview_command = || {
        let mut command = pinned(&exe, cores);
        command.arg("overview").arg(&workspace);
        command
    };
    cache::clear(&workspace).map_err(|e| e.to_string())?;
    let (cold, _) = timed(overview_command())?;
    let (warm, _) = median_of(|| timed(overview_command()))?;
    rows.push(Row {
        figure: "reopen → visible Overview: `shoplens overview W`, one process".into(),
        shoplens: warm,
        duckdb: peer_median("duckdb", "overview", &duckdb_store)?,
        polars: peer_median("polars", "overview", &polars_store)?,
        target: "≤ 1.5 s",
    });
    rows.push(Row::ours("the same, first time after the import (reads SQLite, writes the cache)", cold, ""));
    let frame = std::cell::RefCell::new(None);
    let reopen = median_ms(|| {
        let loaded = cache::load_order_lines(&workspace, &ctx).map_err(|e| e.to_string())?;
        if loaded.origin != cache::Origin::Cache {
            return Err("the order lines' cache was not used".into());
        }
        overview::compute(&loaded.frame, &Filters::default(), &ctx).map_err(|e| e.to_string())?;
        *frame.borrow_mut() = Some(loaded.frame);
        Ok(())
    })? / 1000.0;
    let frame = frame.into_inner().ok_or("no copy")?;
    match window_first_result(&exe, cores, &workspace, "overview", dir, None)? {
        Some(s) => {
            rows.push(Row::ours("reopen → visible Overview in the window (`shoplens open W`, until the figures are drawn)", s, "≤ 1.5 s"))
        }
        None => notes.push("the window was not measured: no display (run under Xvfb)".into()),
    }
    rows.push(Row::ours("reopen → Overview in the window's jobs: read the cached copy + compute", reopen, "≤ 1.5 s"));
    let recompute = median_ms(|| overview::compute(&frame, &Filters::default(), &ctx).map(|_| ()).map_err(|e| e.to_string()))? / 1000.0;
    rows.push(Row::ours("Overview recompute, all dates (in memory)", recompute, "≤ 200 ms"));
    let grid = rfm::SegmentGrid::default();
    let rfm_time = median_ms(|| rfm::compute(&frame, &Filters::default(), None, &grid).map(|_| ()).map_err(|e| e.to_string()))? / 1000.0;
    rows.push(Row::ours("RFM + segments (in memory)", rfm_time, "≤ 250 ms"));
    notes.push(format!("order lines' cache on disk: {:.0} MB", cache::size(&workspace) as f64 / 1e6));
    drop(frame);

    // Events: import once (the funnel's figures are about reopening), then reopen to a funnel.
    let event_workspace = fresh(dir, &format!("instant-events-{event_rows}.shoplens"));
    cache::clear(&event_workspace).map_err(|e| e.to_string())?;
    let mut command = pinned(&exe, cores);
    command.arg("import").arg(&events).arg("--workspace").arg(&event_workspace);
    let (event_import, _) = timed(command)?;
    let duckdb_events = dir.join(format!("instant-events-{event_rows}.duckdb"));
    let polars_events = dir.join(format!("instant-events-{event_rows}.parquet"));
    let peer_event_import = |tool: &str, store: &Path| -> Result<Option<f64>, String> {
        let Some(peers) = peers else { return Ok(None) };
        let _ = std::fs::remove_file(store);
        let (s, summary) = timed(peers.command(cores, tool, "import-events", &[&events, store]))?;
        eprintln!("{tool} import events: {summary}");
        Ok(Some(s))
    };
    rows.push(Row {
        figure: format!("import {} events (one run each)", crate::import::report::group(event_rows)),
        shoplens: event_import,
        duckdb: peer_event_import("duckdb", &duckdb_events)?,
        polars: peer_event_import("polars", &polars_events)?,
        target: "",
    });
    let funnel_command = || {
        let mut command = pinned(&exe, cores);
        command.arg("funnel").arg(&event_workspace);
        command
    };
    let (cold, _) = timed(funnel_command())?;
    let (warm, summary) = median_of(|| timed(funnel_command()))?;
    eprintln!("shoplens funnel: {}", summary.lines().take(4).collect::<Vec<_>>().join(" | "));
    rows.push(Row {
        figure: "reopen → visible funnel by top category: `shoplens funnel W`, one process".into(),
        shoplens: warm,
        duckdb: peer_median("duckdb", "funnel", &duckdb_events)?,
        polars: peer_median("polars", "funnel", &polars_events)?,
        target: "≤ 2 s",
    });
    rows.push(Row::ours("the same, first time after the import (reads SQLite, writes the cache)", cold, ""));
    let reopen = median_ms(|| {
        let loaded = cache::load_events(&event_workspace, &ctx).map_err(|e| e.to_string())?;
        if loaded.origin != cache::Origin::Cache {
            return Err("the events' cache was not used".into());
        }
        funnel::compute(&loaded.frame, &Filters::default(), &funnel::FunnelSettings::default(), &ctx).map_err(|e| e.to_string())?;
        Ok(())
    })? / 1000.0;
    rows.push(Row::ours("reopen → funnel in the window's jobs: read the cached copy + compute", reopen, "≤ 2 s"));
    if let Some(s) = window_first_result(&exe, cores, &event_workspace, "funnel", dir, None)? {
        rows.push(Row::ours("reopen → visible funnel in the window (`shoplens open W --panel funnel`)", s, "≤ 2 s"));
    }
    notes.push(format!("events' cache on disk: {:.0} MB", cache::size(&event_workspace) as f64 / 1e6));
    rows.push(live_append(dir, &events, &event_workspace, &ctx)?);

    let text = report(&rows, &notes, order_rows, event_rows, cores, peers.is_some(), options.peers);
    println!("{text}");
    if let Some(doc) = &options.doc {
        write_section(doc, "instant", &text)?;
        eprintln!("wrote the results into {}", doc.display());
    }
    Ok(())
}

/// The live-mode figure alone (`shoplens bench --what live`), on the events workspace the
/// instant benchmark left in `dir` (imported first when missing).
pub fn live_only(dir: &Path, quick: bool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let event_rows = if quick { 100_000u64 } else { 20_000_000 };
    let events = generated(&exe, dir, "events", event_rows)?;
    let workspace = dir.join(format!("instant-events-{event_rows}.shoplens"));
    if !workspace.exists() {
        let mut command = pinned(&exe, None);
        command.arg("import").arg(&events).arg("--workspace").arg(&workspace);
        timed(command)?;
    }
    let row = live_append(dir, &events, &workspace, &JobContext::detached())?;
    println!("{}: {}", row.figure, seconds(row.shoplens));
    Ok(())
}

/// Events appended in the live-mode figure.
const LIVE_EVENTS: usize = 5_000;

/// Live mode, as the window runs it: the funnel is on screen and live mode has made its spare
/// copy when the live-mode watcher appends [`LIVE_EVENTS`] events to the workspace (half of
/// them lines from the end of the events file again, which land in sessions the copy has; half
/// new sessions). Timed: the copy catching up ([`EventFrame::appended`], into the spare), the
/// funnel updated, the sales of the last 24 hours and the abandoned carts with their
/// retargeting list. Twice: the second append writes into the copy the first one left.
///
/// [`EventFrame::appended`]: crate::analytics::event_frame::EventFrame::appended
fn live_append(dir: &Path, events: &Path, workspace: &Path, ctx: &JobContext) -> Result<Row, String> {
    use std::io::{Read, Seek, Write};
    let error = |e: &dyn std::fmt::Display| e.to_string();
    let live = dir.join("instant-live.csv");
    let mut file = std::fs::File::open(events).map_err(|e| error(&e))?;
    let size = file.metadata().map_err(|e| error(&e))?.len();
    file.seek(std::io::SeekFrom::Start(size.saturating_sub(4 << 20))).map_err(|e| error(&e))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail).map_err(|e| error(&e))?;
    let known: Vec<&str> = tail.lines().skip(1).collect();
    let known = &known[known.len().saturating_sub(LIVE_EVENTS)..];
    let mut fresh = Vec::new();
    crate::generate::write_events(&mut fresh, LIVE_EVENTS as u64, 7).map_err(|e| error(&e))?;
    let fresh = String::from_utf8(fresh).map_err(|e| error(&e))?;
    let mut fresh = fresh.lines();
    let header = fresh.next().ok_or("no header")?;
    let fresh: Vec<&str> = fresh.collect();
    let half = |lines: &[&str], part: usize| lines[lines.len() * part / 2..lines.len() * (part + 1) / 2].join("\n");
    let _ = std::fs::remove_file(&live);

    let all = Filters::default();
    let copy = cache::load_events(workspace, ctx).map_err(|e| error(&e))?.frame;
    // On screen when the events arrive: the funnel, the sales and the carts of the copy.
    let mut shown = funnel::compute(&copy, &all, &funnel::FunnelSettings::default(), ctx).map_err(|e| error(&e))?;
    crate::analytics::forecast::sales_since(&copy, copy.time_span().map_or(0, |(_, last)| last - 86_400));
    crate::analytics::carts::compute(&copy, &all, &crate::analytics::carts::CartSettings::default(), None);
    let mut spare = Some(copy.spare());
    let mut copy = copy;
    let mut ws = crate::workspace::Workspace::open(workspace).map_err(|e| error(&e))?;
    let mut watcher = crate::import::watch::Watcher::new(&live);
    let mut times = Vec::new();
    for part in 0..2 {
        let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&live).map_err(|e| error(&e))?;
        if part == 0 {
            writeln!(out, "{header}").map_err(|e| error(&e))?;
        }
        writeln!(out, "{}\n{}", half(&fresh, part), half(known, part)).map_err(|e| error(&e))?;
        drop(out);
        let appended = watcher.poll(ws.conn_mut()).map_err(|e| error(&e))?;
        if appended.rows as usize != LIVE_EVENTS {
            return Err(format!("live mode appended {} events, not {LIVE_EVENTS}", appended.rows));
        }
        let conn = crate::workspace::open_read_only(workspace).map_err(|e| error(&e))?;
        let started = Instant::now();
        let mut stages = Vec::new();
        let mut stage = |name: &str, since: &mut Instant| {
            stages.push(format!("{name} {:.0} ms", since.elapsed().as_secs_f64() * 1000.0));
            *since = Instant::now();
        };
        let mut since = Instant::now();
        let (updated, changed) = crate::workspace::copies::extend_events(&copy, spare.take(), &conn, ctx)
            .map_err(|e| error(&e))?
            .ok_or("the copy has no rowid")?;
        stage("copy", &mut since);
        shown = funnel::update(&shown, &copy, &updated, &changed, &all, ctx).map_err(|e| error(&e))?.ok_or("the funnel was not updated")?;
        stage("funnel", &mut since);
        let last_day = updated.time_span().map_or(0, |(_, last)| last - 86_400);
        crate::analytics::forecast::sales_since(&updated, last_day);
        stage("sales", &mut since);
        crate::analytics::carts::compute(&updated, &all, &crate::analytics::carts::CartSettings::default(), None);
        stage("carts", &mut since);
        times.push((started.elapsed().as_secs_f64(), stages.join(", ")));
        spare = Some(std::mem::replace(&mut copy, updated));
    }
    watcher.finish(ws.conn()).map_err(|e| error(&e))?;
    let (slower, stages) = times.iter().cloned().fold((0.0, String::new()), |a, b| if b.0 > a.0 { b } else { a });
    let figure = format!(
        "live mode: {} events appended to the {}-event copy → copy, funnel, sales and retargeting list updated \
         (the slower of two appends, {}: {stages})",
        crate::import::report::group(LIVE_EVENTS as u64),
        crate::import::report::group(copy.len() as u64 - 2 * LIVE_EVENTS as u64),
        times.iter().map(|t| seconds(t.0)).collect::<Vec<_>>().join(" then ")
    );
    Ok(Row::ours(figure, slower, "≤ 500 ms"))
}

/// Seconds from starting `shoplens open W --panel PANEL` to the panel's first result on
/// screen, as the window itself reports it ([`crate::ui::REPORT_FIRST_RESULT`]); in its own
/// data folders, so no remembered state interferes. With `import`, W is made anew each run and
/// the file is imported as if dropped on it (`--import`): the first look at a new export.
/// `None` without a display.
pub(super) fn window_first_result(
    exe: &Path,
    cores: Option<&str>,
    workspace: &Path,
    panel: &str,
    dir: &Path,
    import: Option<&Path>,
) -> Result<Option<f64>, String> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Ok(None);
    }
    let home = dir.join("window-home");
    let (seconds, _) = median_of(|| {
        let _ = std::fs::remove_dir_all(&home);
        let mut command = pinned(exe, cores);
        command.arg("open").arg(workspace).args(["--panel", panel]);
        if let Some(file) = import {
            let workspace = super::fresh(dir, &workspace.file_name().unwrap_or_default().to_string_lossy());
            let _ = crate::workspace::cache::clear(&workspace);
            command.arg("--import").arg(file);
        }
        command
            .env(crate::ui::REPORT_FIRST_RESULT, "1")
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"));
        let (_, stdout) = timed(command)?;
        let ms = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("first_result panel={panel} ms=")))
            .and_then(|ms| ms.trim().parse::<f64>().ok())
            .ok_or_else(|| format!("the window did not report its first {panel} result: {stdout}"))?;
        Ok((ms / 1000.0, stdout))
    })?;
    Ok(Some(seconds))
}

/// The results as Markdown.
fn report(rows: &[Row], notes: &[String], orders: u64, events: u64, cores: Option<&str>, ran_peers: bool, asked: bool) -> String {
    let build = if cfg!(debug_assertions) { "a debug-assertions (dev) build: not the figures to publish" } else { "release build" };
    let mut text = format!(
        "Date: {}. `shoplens bench --what instant{}`, {build}. Data: the generators' seeded files, {} order lines \
         (UCI layout) and {} events (REES46 layout). {}\n\n",
        chrono::Local::now().format("%Y-%m-%d"),
        if asked { " --peers" } else { "" },
        crate::import::report::group(orders),
        crate::import::report::group(events),
        match cores {
            Some(list) =>
                format!("Every process pinned to cores {list} (`taskset`); command-line figures are whole processes, median of {RUNS}."),
            None => format!("No `taskset` here: processes were not pinned. Command-line figures are whole processes, median of {RUNS}."),
        }
    );
    if !ran_peers {
        text.push_str("**Peers skipped** (DuckDB and polars need Python; see stderr for why). Run with `--peers`.\n\n");
    }
    text.push_str("| figure | shoplens | DuckDB (÷ shoplens) | polars (÷ shoplens) | target | met |\n|---|---|---|---|---|---|\n");
    for row in rows {
        let met = match row.target {
            "" => String::new(),
            "no slower than DuckDB" => row.duckdb.map_or("–".into(), |d| if row.shoplens <= d { "yes".into() } else { "**no**".into() }),
            target => {
                let limit = parse_target(target);
                limit.map_or(String::new(), |l| if row.shoplens <= l { "yes".into() } else { "**no**".into() })
            }
        };
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {met} |\n",
            row.figure,
            seconds(row.shoplens),
            ratio(row.duckdb, row.shoplens),
            ratio(row.polars, row.shoplens),
            row.target
        ));
    }
    for note in notes {
        text.push_str(&format!("\n- {note}"));
    }
    text.push('\n');
    text
}

/// `≤ 1.5 s` or `≤ 200 ms` → seconds.
fn parse_target(target: &str) -> Option<f64> {
    let rest = target.strip_prefix("≤ ")?;
    if let Some(ms) = rest.strip_suffix(" ms") {
        return ms.parse::<f64>().ok().map(|v| v / 1000.0);
    }
    rest.strip_suffix(" s")?.parse().ok()
}

/// Replaces benchmark `what`'s section of `doc` (between its markers), or adds it at the end.
pub(super) fn write_section(doc: &Path, what: &str, text: &str) -> Result<(), String> {
    let (begin_marker, end_marker) =
        (format!("<!-- shoplens bench --what {what}: begin -->"), format!("<!-- shoplens bench --what {what}: end -->"));
    let old = std::fs::read_to_string(doc).unwrap_or_default();
    let section = format!("{begin_marker}\n{text}{end_marker}");
    let new = match (old.find(&begin_marker), old.find(&end_marker)) {
        (Some(begin), Some(end)) if begin < end => format!("{}{section}{}", &old[..begin], &old[end + end_marker.len()..]),
        _ => format!("{}\n{section}\n", old.trim_end()),
    };
    std::fs::write(doc, new).map_err(|e| format!("writing {}: {e}", doc.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_seconds() {
        assert_eq!(parse_target("≤ 1.5 s"), Some(1.5));
        assert_eq!(parse_target("≤ 200 ms"), Some(0.2));
        assert_eq!(parse_target("no slower than DuckDB"), None);
    }

    #[test]
    fn the_section_is_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("PERF.md");
        std::fs::write(&doc, "# Perf\n\nbefore\n").unwrap();
        write_section(&doc, "instant", "first\n").unwrap();
        std::fs::write(&doc, std::fs::read_to_string(&doc).unwrap() + "\nafter\n").unwrap();
        write_section(&doc, "instant", "second\n").unwrap();
        let text = std::fs::read_to_string(&doc).unwrap();
        assert!(text.starts_with("# Perf\n\nbefore\n") && text.contains("second\n") && !text.contains("first"), "{text}");
        assert!(text.trim_end().ends_with("after"), "{text}");
    }
}
