//! `shoplens bench`: import speed and memory, side by side with sqlite3's own `.import`.
//!
//! Each case generates its file once (seeded, reused on later runs), then imports it into a fresh
//! workspace in a child process (so peak memory is the import's alone) and times
//! `sqlite3 DB '.mode csv' '.import FILE t'` on the same file. Results print as a Markdown table
//! for docs/PERFORMANCE.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod first_look;
mod instant;

/// What `shoplens bench` was asked for beyond the benchmark's name.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also run DuckDB and polars (Python) on the same files (`--what instant`, `first-look`).
    pub peers: bool,
    /// Write the results into this Markdown file's section for the benchmark (`--what instant`,
    /// `first-look`).
    pub doc: Option<PathBuf>,
}

struct Case {
    name: &'static str,
    kind: &'static str,
    rows: u64,
}

const FULL: &[Case] = &[
    Case { name: "order lines 1M", kind: "orders", rows: 1_000_000 },
    Case { name: "order lines 10M", kind: "orders", rows: 10_000_000 },
    Case { name: "events 20M", kind: "events", rows: 20_000_000 },
];
const QUICK: &[Case] =
    &[Case { name: "order lines 100k", kind: "orders", rows: 100_000 }, Case { name: "events 100k", kind: "events", rows: 100_000 }];

struct Measured {
    seconds: f64,
    peak_rss_mib: Option<f64>,
}

pub fn run(dir: &Path, quick: bool, what: &str, options: &Options) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    match what {
        "instant" => instant::run(dir, quick, options),
        "first-look" => first_look::run(dir, quick, options),
        "live" => instant::live_only(dir, quick),
        "import" => import(dir, quick),
        "overview" => overview(dir, quick),
        "customers" => customers(dir, quick),
        "clv" => clv_fits(quick),
        "import-memory" => import_memory(dir, quick),
        "events" => events(dir, quick),
        "pricing" => pricing(dir, quick),
        "sellers" => sellers(dir, quick),
        "warehouse" => warehouse(dir, quick),
        "report" => report(dir),
        "findings" => findings(dir),
        "impact" => impact(dir, quick),
        "all" => import(dir, quick).and_then(|_| overview(dir, quick)).and_then(|_| customers(dir, quick)).and_then(|_| events(dir, quick)),
        other => Err(format!(
            "unknown benchmark '{other}' (use import, import-memory, overview, customers, clv, events, pricing, sellers, warehouse, report, findings, impact, instant, first-look, live or all)"
        )),
    }
}

/// The demo story's report (ten views) written as HTML and PDF: the first run on a new demo
/// workspace (its columnar caches are written then), then three warm runs, each recomputing
/// every view from the workspace as `shoplens report` does.
fn report(dir: &Path) -> Result<(), String> {
    let ctx = crate::jobs::JobContext::detached();
    let ws = fresh(dir, "report-demo.shoplens");
    crate::demo::build(&ws, &ctx).map_err(|e| e.to_string())?;
    let targets = crate::present::ReportTargets { html: Some(dir.join("report.html")), pdf: Some(dir.join("report.pdf")) };
    let story = crate::demo::DEMO_STORY;
    let mut runs = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        let slides = crate::present::story_slides(&ws, story, &ctx).map_err(|e| e.to_string())?;
        let recomputed = started.elapsed().as_secs_f64();
        crate::present::write_report(&ws, story, &slides, &targets).map_err(|e| e.to_string())?;
        let pages = crate::present::pdf::report_sheets(story, &slides).len();
        runs.push((started.elapsed().as_secs_f64(), recomputed, slides.len(), pages));
    }
    let first = runs.remove(0);
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let warm = runs[1];
    println!("| views | PDF pages | first run | warm run (median of 3) | of which recomputing the views | of which writing HTML + PDF |");
    println!("|---|---|---|---|---|---|");
    println!("| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s |", warm.2, warm.3, first.0, warm.0, warm.1, warm.0 - warm.1);
    Ok(())
}

/// Findings on the UCI Online Retail II year (testdata, 525k order lines), on the copy in memory
/// as the panel has it: November 2010 against October, and September to November against June
/// to August. Median of five runs each.
fn findings(dir: &Path) -> Result<(), String> {
    use crate::analytics::{findings, Filters};
    let ctx = crate::jobs::JobContext::detached();
    let uci = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join("uci_online_retail_ii_2009-2010.parquet");
    let ws = fresh(dir, "findings-uci.shoplens");
    let mut workspace = crate::workspace::Workspace::open(&ws).map_err(|e| e.to_string())?;
    crate::import::import_file(&mut workspace, &uci, &Default::default(), &ctx).map_err(|e| e.to_string())?;
    let frame = crate::workspace::copies::load_order_lines(workspace.conn(), &ctx).map_err(|e| e.to_string())?;
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    let settings = findings::FindingsSettings::default();
    println!("| data | period | compared with | findings tested / passed | time (median of 5) |");
    println!("|---|---|---|---|---|");
    for (from, to) in [(day(2010, 11, 1), day(2010, 11, 30)), (day(2010, 9, 1), day(2010, 11, 30))] {
        let filters = Filters { from, to, ..Filters::default() };
        let result = findings::compute(&frame, &filters, &settings, &ctx).map_err(|e| e.to_string())?;
        let ms = median_ms(|| findings::compute(&frame, &filters, &settings, &ctx).map(|_| ()).map_err(|e| e.to_string()))?;
        let days = |p: Option<(chrono::NaiveDate, chrono::NaiveDate)>| p.map_or("–".to_string(), |(a, b)| format!("{a} to {b}"));
        println!(
            "| UCI Online Retail II 2009–2010, {} lines | {} | {} | {} / {} | {ms:.0} ms |",
            crate::import::report::group(frame.lines.height() as u64),
            days(result.period),
            days(result.previous_period),
            result.tested,
            result.passed
        );
    }
    Ok(())
}

/// `rows` generated order lines imported into a fresh workspace named after `purpose`, and
/// their in-memory copy with the seconds it took to load.
fn orders_in_memory(
    exe: &Path,
    dir: &Path,
    rows: u64,
    purpose: &str,
) -> Result<(PathBuf, crate::analytics::order_frame::OrderFrame, f64), String> {
    let file = generated(exe, dir, "orders", rows)?;
    let db = fresh(dir, &format!("{purpose}-{rows}.db"));
    import_with_shoplens(exe, &file, &db)?;
    let conn = crate::workspace::open_read_only(&db).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let frame = crate::workspace::copies::load_order_lines(&conn, &crate::jobs::JobContext::detached()).map_err(|e| e.to_string())?;
    Ok((db, frame, started.elapsed().as_secs_f64()))
}

/// Overview recomputation after a filter change, on a columnar copy already in memory (what the
/// app does when the user changes a filter; switching panels reuses the cached result).
fn overview(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::{overview, Filters};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let sizes: &[u64] = if quick { &[100_000] } else { &[1_000_000, 10_000_000] };
    println!("| order lines | load copy from SQLite | overview, all data | overview, one quarter + one country | overview, cached |");
    println!("|---|---|---|---|---|");
    for &rows in sizes {
        let (db, frame, load) = orders_in_memory(&exe, dir, rows, "overview")?;
        let (first, _) = frame.date_span().ok_or("no data")?;
        let quarter = Filters {
            from: first.checked_add_days(chrono::Days::new(90)),
            to: first.checked_add_days(chrono::Days::new(181)),
            country: Some("Germany".into()),
            ..Filters::default()
        };
        let time = |filters: &Filters| {
            median_ms(|| overview::compute(&frame, filters, &crate::jobs::JobContext::detached()).map(|_| ()).map_err(|e| e.to_string()))
        };
        let all = time(&Filters::default())?;
        let part = time(&quarter)?;
        println!("| {} | {load:.2} s | {all:.0} ms | {part:.0} ms | < 1 ms (a map lookup) |", crate::import::report::group(rows));
        let _ = std::fs::remove_file(&db);
    }
    Ok(())
}

/// Median of five timed runs of `work`, in milliseconds.
fn median_ms(mut work: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        work()?;
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    runs.sort_by(f64::total_cmp);
    Ok(runs[2])
}

/// RFM + named segments on the columnar copy, and the BG/NBD + Gamma-Gamma fits on simulated
/// customers (fits only: the summaries are the models' input).
fn customers(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::{rfm, Filters};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let sizes: &[u64] = if quick { &[100_000] } else { &[1_000_000, 10_000_000] };
    println!("| order lines | customers | RFM + segments |");
    println!("|---|---|---|");
    for &rows in sizes {
        let (db, frame, _) = orders_in_memory(&exe, dir, rows, "customers")?;
        let grid = rfm::SegmentGrid::default();
        let mut customers = 0;
        let ms = median_ms(|| {
            customers = rfm::compute(&frame, &Filters::default(), None, &grid).map_err(|e| e.to_string())?.customers.len();
            Ok(())
        })?;
        println!("| {} | {} | {ms:.0} ms |", crate::import::report::group(rows), crate::import::report::group(customers as u64));
        let _ = std::fs::remove_file(&db);
    }
    println!();
    clv_fits(quick)
}

/// BG/NBD + Gamma-Gamma fits on customers simulated from the models (fits only: the summaries
/// are the models' input).
fn clv_fits(quick: bool) -> Result<(), String> {
    use crate::analytics::clv::bgnbd::BgNbdData;
    use crate::analytics::clv::gamma_gamma::GammaGammaData;
    use crate::analytics::clv::optimise;
    println!("| simulated customers | repeat buyers | BG/NBD fit | Gamma-Gamma fit | both |");
    println!("|---|---|---|---|---|");
    for &n in if quick { &[10_000usize][..] } else { &[60_000usize][..] } {
        let histories = crate::generate::clv_histories(n, [0.243, 4.414, 0.793, 2.426], [6.25, 3.74, 15.44], 78.0, 42);
        let repeat = histories.iter().filter(|h| h.0 > 0.0).count();
        let bg = median_ms(|| {
            let data = BgNbdData::new(histories.iter().map(|h| (h.0, h.1, h.2)));
            optimise::fit(&data, &data.start(), 0.0).map(|_| ())
        })?;
        let gg = median_ms(|| {
            let data = GammaGammaData::new(histories.iter().map(|h| (h.0, h.3)));
            optimise::fit(&data, &data.start(), 0.0).map(|_| ())
        })?;
        println!(
            "| {} | {} | {bg:.1} ms | {gg:.1} ms | {:.1} ms |",
            crate::import::report::group(n as u64),
            crate::import::report::group(repeat as u64),
            bg + gg
        );
    }
    Ok(())
}

/// The Funnel panel on generated events: from the CSV to a visible funnel (read into memory,
/// then the default funnel), recomputing funnels from the in-memory copy, abandonment and the
/// forecast, and the process's memory. Run it in a fresh process (`--what events`) so the peak
/// memory is this benchmark's own.
fn events(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::event_frame::EventFrame;
    use crate::analytics::funnel::{self, CountBy, Dimension, FunnelSettings};
    use crate::analytics::{carts, forecast, Filters};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rows = if quick { 100_000 } else { 20_000_000 };
    let file = generated(&exe, dir, "events", rows)?;
    let bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
    let ctx = crate::jobs::JobContext::detached();
    let filters = Filters::default();

    let started = Instant::now();
    let frame = EventFrame::from_rees46_csv(&file, &ctx).map_err(|e| e.to_string())?;
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let first = funnel::compute(&frame, &filters, &FunnelSettings::default(), &ctx).map_err(|e| e.to_string())?;
    let first_funnel = started.elapsed().as_secs_f64();
    println!(
        "{} events ({:.0} MB CSV), {} sessions, {} users, {} products",
        crate::import::report::group(frame.len() as u64),
        bytes as f64 / 1e6,
        crate::import::report::group(frame.session_count() as u64),
        crate::import::report::group(frame.users.len() as u64),
        crate::import::report::group(frame.products.len() as u64)
    );
    println!();
    println!("| step | time |");
    println!("|---|---|");
    println!("| read the CSV into the in-memory copy | {read:.2} s |");
    println!("| first funnel (view → cart → purchase by top category) | {first_funnel:.2} s |");
    println!("| **CSV to visible funnel** | **{:.2} s** |", read + first_funnel);
    let time =
        |settings: FunnelSettings| median_ms(|| funnel::compute(&frame, &filters, &settings, &ctx).map(|_| ()).map_err(|e| e.to_string()));
    for (name, settings) in [
        ("funnel, no breakdown", FunnelSettings { breakdown: None, ..FunnelSettings::default() }),
        ("funnel by top category", FunnelSettings::default()),
        ("funnel by brand", FunnelSettings { breakdown: Some(Dimension::Brand), ..FunnelSettings::default() }),
        ("funnel by product", FunnelSettings { breakdown: Some(Dimension::Product), ..FunnelSettings::default() }),
        (
            "funnel counting users (24 h window)",
            FunnelSettings { count_by: CountBy::Users, window: funnel::Window::Hours(24), breakdown: None, ..FunnelSettings::default() },
        ),
    ] {
        println!("| recompute: {name} | {:.0} ms |", time(settings)?);
    }
    let abandon = median_ms(|| {
        carts::compute(&frame, &filters, &carts::CartSettings::default(), None);
        Ok(())
    })?;
    println!("| abandoned carts and retargeting list | {abandon:.0} ms |");
    let started = Instant::now();
    forecast::compute(&frame, &filters, &Default::default())?;
    println!("| demand forecast (features, backtest, fit) | {:.0} ms |", started.elapsed().as_secs_f64() * 1000.0);
    let rss = |key: &str| {
        std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()).map(|kib| kib / 1024.0)
        })
    };
    println!();
    println!(
        "memory: in-memory copy {:.0} MiB; process resident now {}, peak {}",
        frame.heap_bytes() as f64 / (1 << 20) as f64,
        rss("VmRSS:").map_or("n/a".into(), |m| format!("{m:.0} MiB")),
        rss("VmHWM:").map_or("n/a".into(), |m| format!("{m:.0} MiB"))
    );
    println!("funnel counts: {:?}", first.steps.iter().map(|s| s.count).collect::<Vec<_>>());
    Ok(())
}

fn import(dir: &Path, quick: bool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let has_sqlite3 = Command::new("sqlite3").arg("-version").output().is_ok_and(|o| o.status.success());
    println!("| case | file | shoplens | rows/s | MB/s | peak RSS | sqlite3 .import | rows/s | shoplens vs sqlite3 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for case in if quick { QUICK } else { FULL } {
        let file = generated(&exe, dir, case.kind, case.rows)?;
        let bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
        // Short runs are noisy on a shared 2-core machine: take the median of three.
        let repeats = if case.rows < 5_000_000 { 3 } else { 1 };
        eprintln!("importing {} with shoplens ({repeats}×) ...", file.display());
        let ours = median(repeats, || import_with_shoplens(&exe, &file, &fresh(dir, "shoplens.db")))?;
        let theirs = if has_sqlite3 {
            eprintln!("importing {} with sqlite3 ({repeats}×) ...", file.display());
            Some(median(repeats, || import_with_sqlite3(&file, &fresh(dir, "sqlite3.db")))?)
        } else {
            None
        };
        let mb = bytes as f64 / 1e6;
        let rate = |s: f64| format!("{:.0}k", case.rows as f64 / s / 1000.0);
        println!(
            "| {} | {:.0} MB | {:.2} s | {} | {:.0} | {} | {} | {} | {} |",
            case.name,
            mb,
            ours.seconds,
            rate(ours.seconds),
            mb / ours.seconds,
            ours.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0} MiB")),
            theirs.as_ref().map_or("n/a".into(), |t| format!("{:.2} s", t.seconds)),
            theirs.as_ref().map_or("n/a".into(), |t| rate(t.seconds)),
            theirs.as_ref().map_or("n/a".into(), |t| format!("{:.2}×", t.seconds / ours.seconds)),
        );
        let _ = std::fs::remove_file(dir.join("shoplens.db"));
        let _ = std::fs::remove_file(dir.join("sqlite3.db"));
    }
    Ok(())
}

/// Peak memory of imports whose files grow (issue: the importer under hostile input): whatever
/// the file size, the import's peak resident memory must stay under 400 MB, so it may not keep
/// anything per row. The files are REES46-layout events, gzip'd as the 6 GB input was;
/// the sizes are of the uncompressed text.
fn import_memory(dir: &Path, quick: bool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let sizes: &[u64] = if quick { &[100_000, 400_000] } else { &[15_000_000, 45_000_000] };
    println!("| events | text | gzip'd file | shoplens import | peak RSS |");
    println!("|---|---|---|---|---|");
    for &rows in sizes {
        let text = generated(&exe, dir, "events", rows)?;
        let gz = dir.join(format!("events-{rows}.csv.gz"));
        if !gz.exists() {
            eprintln!("compressing {} ...", text.display());
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!("gzip -1 -c '{}' > '{}.part' && mv '{}.part' '{}'", text.display(), gz.display(), gz.display(), gz.display()))
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err("gzip failed".into());
            }
        }
        let text_bytes = std::fs::metadata(&text).map_err(|e| e.to_string())?.len();
        let gz_bytes = std::fs::metadata(&gz).map_err(|e| e.to_string())?.len();
        eprintln!("importing {} ...", gz.display());
        let measured = import_with_shoplens(&exe, &gz, &fresh(dir, "memory.db"))?;
        println!(
            "| {rows} | {:.2} GB | {:.2} GB | {:.1} s | {} |",
            text_bytes as f64 / 1e9,
            gz_bytes as f64 / 1e9,
            measured.seconds,
            measured.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0} MiB"))
        );
        let _ = std::fs::remove_file(dir.join("memory.db"));
    }
    Ok(())
}

/// The Pricing panel's recomputation (issue: Pricing panel): 1M competitor observations over
/// 1,000 products (four competitors, 300 days), with our price history and daily sales. Loading
/// the copy from the workspace is timed apart; the target is monitor + signals + elasticity
/// under 1 s.
fn pricing(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::{elasticity, pricing};
    let (db, _, _) = generated_shop(dir, quick)?;
    // The generated feed states GBP: our prices are said to be in it too, as a user would.
    {
        let ws = crate::workspace::Workspace::open(&db).map_err(|e| e.to_string())?;
        crate::workspace::settings::save_pricing_setting(ws.conn(), crate::workspace::settings::OUR_CURRENCY, &Some("GBP"))
            .map_err(|e| e.to_string())?;
    }
    let conn = crate::workspace::open_read_only(&db).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let data = crate::workspace::copies::load_pricing(&conn, &crate::jobs::JobContext::detached()).map_err(|e| e.to_string())?;
    let load = started.elapsed().as_secs_f64();
    let settings = pricing::PricingSettings::default();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let monitor = pricing::monitor(&data, &settings, None);
        let after_monitor = started.elapsed().as_secs_f64();
        let signals = pricing::signals(&data, &settings, None);
        let after_signals = started.elapsed().as_secs_f64();
        let estimates = elasticity::estimate(&elasticity::product_sales(&data));
        let total = started.elapsed().as_secs_f64();
        runs.push((
            total,
            after_monitor,
            after_signals - after_monitor,
            total - after_signals,
            monitor.positions.len(),
            signals.len(),
            estimates.len(),
        ));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (total, monitor, signals, elasticity, positions, signal_count, estimates) = runs[1];
    println!("| observations | products | load copy | monitor | signals | elasticity | total (median of 3) |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {positions} | {load:.2} s | {monitor:.3} s | {signals:.3} s ({signal_count} signals) | {elasticity:.3} s ({estimates} products) | {total:.3} s |",
        data.observations.len()
    );
    Ok(())
}

/// The pricing benches' generated shop (`generate::write_pricing`, seed 42) imported once into a
/// workspace: its path, products and days.
fn generated_shop(dir: &Path, quick: bool) -> Result<(PathBuf, usize, i64), String> {
    let (products, days) = if quick { (50, 120) } else { (1_000, 300) };
    let folder = dir.join(format!("pricing-{products}x{days}"));
    let db = folder.join("pricing.shoplens");
    let files = ["catalogue.csv", "our_prices.csv", "competitor_prices.csv", "orders.csv"];
    generated_workspace(&folder, &db, &files, |folder| crate::generate::write_pricing(folder, products, days, 42).map(|_| ()))?;
    Ok((db, products, days))
}

/// Every change of our price measured against its controls (issue: did the price change work?),
/// on the pricing bench's generated shop: 1,000 products in five categories over 300 days, our
/// price changing every two to six weeks. Median of five runs of `impact::assess`.
fn impact(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::impact;
    let (db, products, days) = generated_shop(dir, quick)?;
    let ctx = crate::jobs::JobContext::detached();
    let conn = crate::workspace::open_read_only(&db).map_err(|e| e.to_string())?;
    let data = crate::workspace::copies::load_pricing(&conn, &ctx).map_err(|e| e.to_string())?;
    println!("| products | days of sales | price changes | days each side | measured | time (median of 5) |");
    println!("|---|---|---|---|---|---|");
    // Every product's price moves every few weeks here: over 28 days each side few products of
    // a category stay untouched, over 14 more do.
    for window in [28, 14] {
        let assessed = impact::assess(&data, window, &[], &ctx).map_err(|e| e.to_string())?;
        let measured = assessed.iter().filter(|a| a.outcome.is_ok()).count();
        let ms = median_ms(|| impact::assess(&data, window, &[], &ctx).map(|_| ()).map_err(|e| e.to_string()))?;
        println!("| {products} | {days} | {} | {window} | {measured} | {ms:.0} ms |", assessed.len());
    }
    Ok(())
}

/// The Sellers panel's model (issue: marketplace panels): 200k users and about 1M interactions.
/// Loading the copy is timed apart; the target is features + fits (five folds, two models,
/// calibration) + scores under 5 s.
fn sellers(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::marketplace::sellers;
    let users = if quick { 5_000 } else { 200_000 };
    let folder = dir.join(format!("marketplace-{users}"));
    let db = folder.join("marketplace.shoplens");
    let files = ["users.csv", "collection_items.csv", "listings.csv", "marketplace_orders.csv", "interactions.csv"];
    generated_workspace(&folder, &db, &files, |folder| crate::generate::write_marketplace(folder, users, 3.2, 42).map(|_| ()))?;
    let conn = crate::workspace::open_read_only(&db).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let data = crate::workspace::copies::load_marketplace(&conn, &crate::jobs::JobContext::detached()).map_err(|e| e.to_string())?;
    let load = started.elapsed().as_secs_f64();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let result = sellers::compute(&data, &sellers::SellerSettings::default(), &crate::jobs::JobContext::detached())
            .map_err(|e| e.to_string())?;
        runs.push((
            started.elapsed().as_secs_f64(),
            result.report.auc_logistic.unwrap_or(0.0).max(result.report.auc_forest.unwrap_or(0.0)),
        ));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (total, auc) = runs[1];
    println!("| users | interactions | listings | load copy | features + fits + scores (median of 3) | AUC |");
    println!("|---|---|---|---|---|---|");
    println!("| {} | {} | {} | {load:.2} s | {total:.2} s | {auc:.3} |", data.users.len(), data.interactions.len(), data.listings.len());
    Ok(())
}

/// Push-down against pulling: the Overview and RFM over generated order lines in a PostgreSQL
/// table, computed on the server (only aggregates travel) versus the table imported (COPY) and
/// computed on the local copy. The server is the libpq environment's (`PGHOST`, `PGPORT`,
/// `PGUSER`, `PGDATABASE`, `PGPASSWORD`); without one the benchmark says it was skipped.
fn warehouse(dir: &Path, quick: bool) -> Result<(), String> {
    use crate::analytics::{overview, rfm, Filters};
    use crate::warehouse::{browse::Relation, pull, pushdown, Server};
    use crate::workspace::catalogue::Target;
    let Ok(host) = std::env::var("PGHOST") else {
        println!("warehouse benchmark skipped: no PostgreSQL server (set PGHOST etc., or run under pg_virtualenv)");
        return Ok(());
    };
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let source = crate::workspace::sources::SourceConfig {
        name: "bench".into(),
        host,
        port: env("PGPORT", "5432").parse().map_err(|_| "PGPORT is not a port")?,
        database: env("PGDATABASE", "postgres"),
        user: env("PGUSER", "postgres"),
        ..Default::default()
    };
    // The benchmark's own throw-away server, named by the environment it was started in.
    crate::warehouse::trust::trust(&source).map_err(|e| e.to_string())?;
    let password = crate::warehouse::find_password(&source, None).0;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rows: u64 = if quick { 100_000 } else { 10_000_000 };
    let file = generated(&exe, dir, "orders", rows)?;
    let table = format!("shoplens_bench.order_lines_{rows}");
    let ctx = crate::jobs::JobContext::detached();
    let connect = || Server::connect(&source, password.as_deref(), &ctx).map_err(|e| e.to_string());
    let loaded = connect()?
        .query(&ctx, &format!("SELECT count(*) FROM {table}"), &[])
        .ok()
        .and_then(|r| r.first().map(|r| r.get::<_, i64>(0) as u64));
    if loaded != Some(rows) {
        // The session shoplens opens is read-only: the table is written with psql.
        eprintln!("loading {} into {table} with psql ...", file.display());
        let status = Command::new("psql")
            .args(["-v", "ON_ERROR_STOP=1", "-q"])
            .arg("-c")
            .arg(format!(
                "DROP SCHEMA IF EXISTS shoplens_bench CASCADE; CREATE SCHEMA shoplens_bench;
                 CREATE TABLE {table} (\"Invoice\" text, \"StockCode\" text, \"Description\" text, \"Quantity\" integer,
                     \"InvoiceDate\" timestamp, \"Price\" numeric(12, 2), \"Customer ID\" double precision, \"Country\" text)"
            ))
            .arg("-c")
            .arg(format!("\\copy {table} FROM '{}' WITH (FORMAT csv, HEADER)", file.display()))
            .arg("-c")
            .arg(format!("ANALYZE {table}"))
            .status()
            .map_err(|e| format!("psql: {e}"))?;
        if !status.success() {
            return Err("loading the benchmark table with psql failed".into());
        }
    }
    let filters = Filters::default();
    let grid = rfm::SegmentGrid::default();
    // On the server: each run connects, maps the table and computes, as `--source` does.
    let mut pushed = Vec::new();
    for what in ["overview", "rfm"] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let server = connect()?;
            let mapped = pushdown::map_table(&server, &ctx, &table, Target::OrderLines, None, &[]).map_err(|e| e.to_string())?;
            let before = server.bytes_transferred();
            match what {
                "overview" => pushdown::overview(&server, &ctx, &mapped, &filters, false).map(|_| ()),
                _ => pushdown::rfm(&server, &ctx, &mapped, &filters, None, &grid).map(|_| ()),
            }
            .map_err(|e| e.to_string())?;
            runs.push((started.elapsed().as_secs_f64(), server.bytes_transferred() - before));
        }
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        pushed.push(runs[1]);
    }
    // Pulled: the table imported into a new workspace, its copy loaded, then computed locally.
    let db = fresh(dir, "warehouse-pull.db");
    let started = Instant::now();
    let server = connect()?;
    let mut ws = crate::workspace::Workspace::open(&db).map_err(|e| e.to_string())?;
    pull::import(&mut ws, &server, &Relation::Table(table.clone()), &Default::default(), &ctx).map_err(|e| e.to_string())?;
    let (pull_seconds, pull_bytes) = (started.elapsed().as_secs_f64(), server.bytes_transferred());
    drop(ws);
    let conn = crate::workspace::open_read_only(&db).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let frame = crate::workspace::copies::load_order_lines(&conn, &ctx).map_err(|e| e.to_string())?;
    let load_seconds = started.elapsed().as_secs_f64();
    let overview_ms = median_ms(|| overview::compute(&frame, &filters, &ctx).map(|_| ()).map_err(|e| e.to_string()))?;
    let rfm_ms = median_ms(|| rfm::compute(&frame, &filters, None, &grid).map(|_| ()).map_err(|e| e.to_string()))?;
    let bytes = crate::present::format::bytes;
    println!("{} order lines in {table} (PostgreSQL on this machine), medians", crate::import::report::group(rows));
    println!();
    println!("| work | pushed down: time | transferred | pulled: import (COPY) | + load copy | + compute | total | transferred |");
    println!("|---|---|---|---|---|---|---|---|");
    for ((what, (seconds, sent)), local_ms) in ["Overview", "RFM"].iter().zip(&pushed).zip([overview_ms, rfm_ms]) {
        let total = pull_seconds + load_seconds + local_ms / 1000.0;
        println!(
            "| {what} | {seconds:.2} s | {} | {pull_seconds:.1} s | {load_seconds:.1} s | {local_ms:.0} ms | {total:.1} s | {} |",
            bytes(*sent),
            bytes(pull_bytes)
        );
    }
    let _ = std::fs::remove_file(&db);
    Ok(())
}

/// The workspace `db` of a generator's files, made on first use (`generate` writes `files` into
/// `folder`, which are then imported) and reused after.
fn generated_workspace(
    folder: &Path,
    db: &Path,
    files: &[&str],
    generate: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), String> {
    if db.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    eprintln!("generating {} ...", folder.display());
    generate(folder).map_err(|e| e.to_string())?;
    let mut ws = crate::workspace::Workspace::open(db).map_err(|e| e.to_string())?;
    for file in files {
        eprintln!("importing {file} ...");
        crate::import::import_file(&mut ws, &folder.join(file), &Default::default(), &crate::jobs::JobContext::detached())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs `measure` `repeats` times (flushing dirty pages first, so one run's writeback does not
/// slow the next) and keeps the run with the median time.
fn median(repeats: usize, mut measure: impl FnMut() -> Result<Measured, String>) -> Result<Measured, String> {
    let mut runs = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let _ = Command::new("sync").status();
        runs.push(measure()?);
    }
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    Ok(runs.swap_remove(repeats / 2))
}

/// The seeded benchmark file for `kind` and `rows`, generated on first use and reused after.
fn generated(exe: &Path, dir: &Path, kind: &str, rows: u64) -> Result<PathBuf, String> {
    let file = dir.join(format!("{kind}-{rows}.csv"));
    if !file.exists() {
        eprintln!("generating {} ...", file.display());
        let status = Command::new(exe)
            .args(["gen", kind, "--rows", &rows.to_string(), "--seed", "42"])
            .arg(&file)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("generating {} failed", file.display()));
        }
    }
    Ok(file)
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn import_with_shoplens(exe: &Path, file: &Path, db: &Path) -> Result<Measured, String> {
    let start = Instant::now();
    let output =
        Command::new(exe).arg("import").arg(file).arg("--workspace").arg(db).arg("--print-peak-rss").output().map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("shoplens import failed: {stderr}"));
    }
    let peak_rss_mib =
        stderr.lines().find_map(|l| l.strip_prefix("peak_rss_kib=")).and_then(|v| v.trim().parse::<f64>().ok()).map(|kib| kib / 1024.0);
    Ok(Measured { seconds, peak_rss_mib })
}

fn import_with_sqlite3(file: &Path, db: &Path) -> Result<Measured, String> {
    let start = Instant::now();
    let output = Command::new("sqlite3")
        .arg(db)
        .arg(".mode csv")
        .arg(format!(".import {} t", file.display()))
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("sqlite3 .import failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(Measured { seconds: start.elapsed().as_secs_f64(), peak_rss_mib: None })
}
