//! `shoplens bench --what first-look [--peers] [--doc FILE]`: the first look at a new export.
//! A user drops a big file and wants its figures: shoplens imports it into a durable workspace
//! and prints the figures from the copy the import built (`import --then`), against DuckDB
//! importing the same CSV into its own database file and computing the same figures in one
//! process, and polars reading the CSV, writing Parquet and computing them.
//!
//! Whole processes, pinned to the same cores, median of three (events: one run each, they take
//! minutes); peak memory is each process's own (`--print-peak-rss`; the peers' `getrusage`).

use std::path::Path;

use super::instant::{median_of_runs, pinned, seconds, setup, timed, write_section, Setup, RUNS};
use super::{fresh, Options};

/// One figure: seconds and peak memory (MiB) for shoplens and each peer.
struct Row {
    figure: String,
    shoplens: Measured,
    duckdb: Option<Measured>,
    polars: Option<Measured>,
}

#[derive(Clone, Copy)]
struct Measured {
    seconds: f64,
    mib: Option<f64>,
}

/// The `peak_rss_kib=N` line of a run's summary, in MiB.
fn peak_mib(summary: &str) -> Option<f64> {
    summary.lines().find_map(|l| l.strip_prefix("peak_rss_kib="))?.trim().parse::<f64>().ok().map(|kib| kib / 1024.0)
}

pub fn run(dir: &Path, quick: bool, options: &Options) -> Result<(), String> {
    let Setup { exe, order_rows, event_rows, cores, peers, orders, events } = setup(dir, quick, options)?;
    let (cores, peers) = (cores.as_deref(), peers.as_ref());
    let mut rows = Vec::new();

    // Runs `command()` `runs` times (each into fresh stores), median seconds and its run's memory.
    let measure = |runs: usize, what: &str, command: &mut dyn FnMut() -> Result<(f64, String), String>| -> Result<Measured, String> {
        let (seconds, summary) = median_of_runs(runs, &mut *command)?;
        eprintln!("{what}: {:.2} s; {}", seconds, summary.replace('\n', "; "));
        Ok(Measured { seconds, mib: peak_mib(&summary) })
    };
    let ours = |args: &[&str], workspace: &str| {
        let ws = fresh(dir, workspace);
        let _ = crate::workspace::cache::clear(&ws);
        let mut command = pinned(&exe, cores);
        command.args(args).arg("--workspace").arg(&ws).arg("--print-peak-rss");
        timed(command)
    };
    // A peer's task, each run into a fresh store (DuckDB's file and its log removed first).
    let peer_measure = |runs: usize, tool: &str, task: &str, args: &[&Path], store: &Path| -> Result<Option<Measured>, String> {
        let Some(peers) = peers else { return Ok(None) };
        let mut command = || {
            let _ = std::fs::remove_file(store);
            let _ = std::fs::remove_file(store.with_extension("duckdb.wal"));
            timed(peers.command(cores, tool, task, args))
        };
        Ok(Some(measure(runs, &format!("{tool} {task}"), &mut command)?))
    };

    let orders_text = orders.to_string_lossy().to_string();
    let rfm_out = dir.join("first-look-rfm.csv");
    let rfm_out_text = rfm_out.to_string_lossy().to_string();
    let label = |rows: u64| crate::import::report::group(rows);
    let duckdb_orders = dir.join("first-look-orders.duckdb");
    let polars_orders = dir.join("first-look-orders.parquet");
    rows.push(Row {
        figure: format!("{} order lines CSV → RFM table: `import --then rfm --out`", label(order_rows)),
        shoplens: measure(RUNS, "shoplens import --then rfm", &mut || {
            ours(&["import", &orders_text, "--then", "rfm", "--out", &rfm_out_text], "first-look-orders.shoplens")
        })?,
        duckdb: peer_measure(
            RUNS,
            "duckdb",
            "first-rfm",
            &[&orders, &duckdb_orders, &dir.join("first-look-rfm-duckdb.csv")],
            &duckdb_orders,
        )?,
        polars: peer_measure(
            RUNS,
            "polars",
            "first-rfm",
            &[&orders, &polars_orders, &dir.join("first-look-rfm-polars.csv")],
            &polars_orders,
        )?,
    });
    rows.push(Row {
        figure: format!("{} order lines CSV → workspace only: `import`", label(order_rows)),
        shoplens: measure(RUNS, "shoplens import", &mut || ours(&["import", &orders_text], "first-look-orders.shoplens"))?,
        duckdb: peer_measure(RUNS, "duckdb", "import-orders", &[&orders, &duckdb_orders], &duckdb_orders)?,
        polars: peer_measure(RUNS, "polars", "import-orders", &[&orders, &polars_orders], &polars_orders)?,
    });
    let events_text = events.to_string_lossy().to_string();
    let event_runs = if quick { RUNS } else { 1 };
    let duckdb_events = dir.join("first-look-events.duckdb");
    let polars_events = dir.join("first-look-events.parquet");
    rows.push(Row {
        figure: format!("{} events CSV → default funnel: `import --then funnel`", label(event_rows)),
        shoplens: measure(event_runs, "shoplens import --then funnel", &mut || {
            ours(&["import", &events_text, "--then", "funnel"], "first-look-events.shoplens")
        })?,
        duckdb: peer_measure(event_runs, "duckdb", "first-funnel", &[&events, &duckdb_events], &duckdb_events)?,
        polars: peer_measure(event_runs, "polars", "first-funnel", &[&events, &polars_events], &polars_events)?,
    });

    // The same first looks in the window: the file imported into a new workspace as if dropped
    // on it, to the first figures drawn. DuckDB's and polars' runs are the rows' above (their
    // CSV to the same figures), not measured again.
    use crate::present::panels::{FUNNEL, OVERVIEW};
    let window_rows = [
        (&orders, order_rows, "first-look-window-orders.shoplens", OVERVIEW.id, "order lines CSV → visible Overview in the window", 0),
        (&events, event_rows, "first-look-window-events.shoplens", FUNNEL.id, "events CSV → visible funnel in the window", 2),
    ];
    for (file, rows_of, workspace, panel, what, peer_row) in window_rows {
        if let Some(seconds) = super::instant::window_first_result(&exe, cores, &dir.join(workspace), panel, dir, Some(file))? {
            eprintln!("shoplens window {panel}: {seconds:.2} s");
            let (duckdb, polars) = (rows[peer_row].duckdb, rows[peer_row].polars);
            rows.push(Row {
                figure: format!("{} {what} (`open W --import FILE`; the peers' figures are their runs above)", label(rows_of)),
                shoplens: Measured { seconds, mib: None },
                duckdb,
                polars,
            });
        }
    }

    let text = report(&rows, order_rows, event_rows, cores, peers.is_some(), options.peers);
    println!("{text}");
    if let Some(doc) = &options.doc {
        write_section(doc, "first-look", &text)?;
        eprintln!("wrote the results into {}", doc.display());
    }
    Ok(())
}

fn cell(m: Option<Measured>, ours: &Measured) -> String {
    let Some(m) = m else { return "–".into() };
    let memory = m.mib.map_or(String::new(), |mib| format!(", {mib:.0} MiB"));
    format!("{}{memory} ({:.2}× shoplens' time)", seconds(m.seconds), m.seconds / ours.seconds)
}

fn report(rows: &[Row], orders: u64, events: u64, cores: Option<&str>, ran_peers: bool, asked: bool) -> String {
    let build = if cfg!(debug_assertions) { "a debug-assertions (dev) build: not the figures to publish" } else { "release build" };
    let mut text = format!(
        "Date: {}. `shoplens bench --what first-look{}`, {build}. Data: the generators' seeded files, {} order lines \
         (UCI layout) and {} events (REES46 layout), imported into new stores each run (no cache). {}\n\n",
        chrono::Local::now().format("%Y-%m-%d"),
        if asked { " --peers" } else { "" },
        crate::import::report::group(orders),
        crate::import::report::group(events),
        match cores {
            Some(list) => format!(
                "Every process pinned to cores {list} (`taskset`); whole processes, median of {RUNS} (events at full size: one run each)."
            ),
            None => "No `taskset` here: processes were not pinned.".to_string(),
        }
    );
    if !ran_peers {
        text.push_str("**Peers skipped** (DuckDB and polars need Python; see stderr for why). Run with `--peers`.\n\n");
    }
    text.push_str("| first look | shoplens | DuckDB, durable file | polars, Parquet | no slower than DuckDB |\n|---|---|---|---|---|\n");
    for row in rows {
        let ours = &row.shoplens;
        let memory = ours.mib.map_or(String::new(), |mib| format!(", {mib:.0} MiB"));
        let met = row.duckdb.map_or("–".to_string(), |d| if ours.seconds <= d.seconds { "yes".into() } else { "**no**".into() });
        text.push_str(&format!(
            "| {} | {}{memory} | {} | {} | {met} |\n",
            row.figure,
            seconds(ours.seconds),
            cell(row.duckdb, ours),
            cell(row.polars, ours)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_read_from_the_summary() {
        assert_eq!(peak_mib("4314 customers\npeak_rss_kib=2048"), Some(2.0));
        assert_eq!(peak_mib("4314 customers"), None);
    }
}
