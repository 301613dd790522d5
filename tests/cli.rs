//! The command line as a user runs it: exit codes, one-line errors, CSV output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shoplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name).display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ws(dir: &tempfile::TempDir) -> String {
    dir.path().join("cli.shoplens").display().to_string()
}

#[test]
fn import_prints_the_quality_report_and_query_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    let out = shoplens(&["import", &fixture("bad_values.csv"), &fixture("uci_old_layout.tsv"), "--workspace", &w]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("rows rejected             5"), "{report}");
    assert!(report.contains("invoice_date: not a date"), "{report}");

    let out = shoplens(&["query", &w, "SELECT invoice, quantity, customer_id FROM order_lines ORDER BY invoice LIMIT 2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "invoice,quantity,customer_id\n489434,12,13085\n536365,6,17850\n");

    let out = shoplens(&["info", &w]);
    let info = text(&out.stdout);
    assert!(info.contains("order_lines") && info.contains("loaded"), "{info}");
}

#[test]
fn errors_are_one_line_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    for args in [
        vec!["import", fixture("empty.csv").leak(), "--workspace", w.clone().leak()],
        vec!["import", "/no/such/file.csv", "--workspace", w.clone().leak()],
        vec!["import", fixture("shop_export.csv").leak(), "--kind", "nonsense", "--workspace", w.clone().leak()],
        vec!["query", w.clone().leak(), "SELEC nonsense"],
        vec!["query", "/no/such/workspace.shoplens", "SELECT 1"],
    ] {
        let out = shoplens(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    }
}

/// `shoplens --version` names the version and the commit it was built from; files without a
/// command (as the desktop entry's `shoplens %F` passes them) are files to open, and a command
/// is still a command.
#[test]
fn version_names_the_commit_and_bare_files_are_files_to_open() {
    let out = shoplens(&["--version"]);
    assert!(out.status.success());
    let version = text(&out.stdout);
    assert!(version.starts_with(&format!("shoplens {} (commit ", env!("CARGO_PKG_VERSION"))), "{version}");
    if std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists() {
        assert!(!version.contains("commit unknown"), "built from a git checkout: {version}");
    }

    use clap::Parser;
    let cli = shoplens::cli::Cli::try_parse_from(["shoplens", "a.shoplens", "export.csv"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(cli.files, [std::path::PathBuf::from("a.shoplens"), "export.csv".into()]);
    let cli = shoplens::cli::Cli::try_parse_from(["shoplens", "overview", "a.shoplens"]).unwrap();
    assert!(cli.command.is_some() && cli.files.is_empty());
}

#[test]
fn the_query_command_cannot_change_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    assert!(shoplens(&["import", &fixture("uci_old_layout.tsv"), "--workspace", &w]).status.success());
    let out = shoplens(&["query", &w, "DELETE FROM order_lines"]);
    assert!(!out.status.success());
    let out = shoplens(&["query", &w, "SELECT count(*) AS n FROM order_lines"]);
    assert_eq!(text(&out.stdout), "n\n3\n");
}

#[test]
fn gen_writes_reproducible_files_that_import_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let a: PathBuf = dir.path().join("a.csv.gz");
    let b: PathBuf = dir.path().join("b.csv");
    for (kind, path) in [("orders", &a), ("events", &b)] {
        let out = shoplens(&["gen", kind, path.to_str().unwrap(), "--rows", "5000", "--seed", "9"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let w = ws(&dir);
    let out = shoplens(&["import", a.to_str().unwrap(), b.to_str().unwrap(), "--workspace", &w]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let counts = text(
        &shoplens(&[
            "query",
            &w,
            "SELECT (SELECT count(*) FROM order_lines), (SELECT count(*) FROM events), (SELECT count(*) FROM rejects)",
        ])
        .stdout,
    );
    assert!(counts.ends_with("5000,5000,0\n"), "{counts}");
}

#[test]
fn a_closed_output_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    assert!(shoplens(&["import", &fixture("rees46_2019-Oct_head.csv"), "--workspace", &w]).status.success());
    // Like `shoplens query ... | head -1`: the reader stops after the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["query", &w, "SELECT * FROM events"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn demo_and_overview_headless() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    let out = shoplens(&["demo", &w]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let counts = text(&shoplens(&["query", &w, "SELECT (SELECT count(*) FROM order_lines), (SELECT count(*) FROM events)"]).stdout);
    assert!(counts.contains("\n525461,"), "{counts}");
    // One shop: every web purchase is a real order line of the same customer at the invoice's
    // time, and the events cover the orders' period.
    let unmatched = "SELECT count(*) FROM (SELECT DISTINCT user_id, event_time FROM events WHERE event_type = 'purchase') e
                     LEFT JOIN (SELECT DISTINCT customer_id, invoice_date FROM order_lines WHERE cancelled = 0) o
                       ON o.customer_id = CAST(e.user_id AS TEXT) AND o.invoice_date = e.event_time
                     WHERE o.customer_id IS NULL";
    assert_eq!(text(&shoplens(&["query", &w, unmatched]).stdout).lines().nth(1), Some("0"));
    let span = "SELECT min(event_time) >= '2009-12-01', max(event_time) <= '2010-12-10', count(DISTINCT event_type) FROM events";
    assert_eq!(text(&shoplens(&["query", &w, span]).stdout).lines().nth(1), Some("1,1,3"));
    // 85123A (WHITE HANGING HEART T-LIGHT HOLDER) is product 85123001 in the events.
    let heart = "SELECT count(*) > 0 FROM events WHERE product_id = 85123001 AND event_type = 'purchase'";
    assert_eq!(text(&shoplens(&["query", &w, heart]).stdout).lines().nth(1), Some("1"));

    let out = shoplens(&["overview", &w, "--from", "2010-01-01", "--to", "2010-06-30", "--country", "France"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.starts_with("period 2010-01-01 to 2010-06-30"), "{report}");
    let revenue_line = report.lines().find(|l| l.starts_with("revenue")).unwrap();
    let shown: f64 = revenue_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let sql = text(
        &shoplens(&["query", &w, "SELECT round(sum(quantity * unit_price), 2) FROM order_lines WHERE cancelled = 0 AND country = 'France' AND invoice_date >= '2010-01-01' AND invoice_date < '2010-07-01'"]).stdout,
    );
    let expected: f64 = sql.lines().nth(1).unwrap().parse().unwrap();
    assert!((shown - expected).abs() < 0.01, "{shown} vs SQL {expected}");
    assert!(report.contains("\nmonth,revenue,growth_pct,"), "{report}");
    assert_eq!(report.lines().filter(|l| l.starts_with("2010-0")).count(), 6, "{report}");

    // Pricing for the 300 best sellers by revenue (checked in SQL), our price history starting
    // at a product's most frequent unit price of its first month, and competitor feeds in which
    // the monitor and the signals find something to show.
    let top = "SELECT stock_code FROM order_lines WHERE cancelled = 0 AND quantity > 0 AND unit_price > 0
               AND stock_code GLOB '[0-9][0-9][0-9][0-9][0-9]*' GROUP BY stock_code ORDER BY sum(quantity * unit_price) DESC LIMIT 300";
    let sql = format!("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM products WHERE product_id IN ({top}))");
    assert!(text(&shoplens(&["query", &w, &sql]).stdout).ends_with("300,300\n"));
    let modal = "SELECT unit_price FROM order_lines WHERE stock_code = '85123A' AND invoice_date LIKE '2009-12%' AND cancelled = 0
                 AND quantity > 0 GROUP BY unit_price ORDER BY count(*) DESC, unit_price LIMIT 1";
    let first = "SELECT price FROM our_prices WHERE product_id = '85123A' ORDER BY valid_from LIMIT 1";
    assert_eq!(text(&shoplens(&["query", &w, modal]).stdout).lines().nth(1), text(&shoplens(&["query", &w, first]).stdout).lines().nth(1));
    let signals = text(&shoplens(&["pricing", "signals", &w]).stdout);
    assert!(signals.lines().any(|l| l.starts_with("competitor_drop,")), "{}", &signals[..signals.len().min(500)]);
    let monitor = text(&shoplens(&["pricing", "monitor", &w]).stdout);
    assert!(monitor.starts_with("as of 2010-12-"), "{monitor}");
}

/// `rfm`, `clusters`, `cohorts` and `clv` headless on the UCI data: files with the documented
/// columns, one row per customer, and the fitted parameters on stdout.
#[test]
fn customer_models_headless() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    assert!(shoplens(&["import", &fixture("uci_online_retail_ii_2009-2010.parquet"), "--workspace", &w]).status.success());
    let read = |name: &str| {
        let mut reader = csv::Reader::from_path(dir.path().join(name)).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        (header, rows)
    };
    let out = |name: &str| dir.path().join(name).display().to_string();

    let rfm = shoplens(&["rfm", &w, "--out", &out("rfm.csv")]);
    assert!(rfm.status.success(), "{}", text(&rfm.stderr));
    let (header, rows) = read("rfm.csv");
    assert_eq!(
        header[..11],
        ["customer_id", "country", "last_purchase", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm", "segment"]
    );
    assert_eq!(rows.len(), 4314);

    let at_risk = shoplens(&["rfm", &w, "--segment", "at risk", "--out", &out("at_risk.csv")]);
    assert!(at_risk.status.success(), "{}", text(&at_risk.stderr));
    let (_, rows) = read("at_risk.csv");
    assert!(!rows.is_empty() && rows.iter().all(|r| &r[10] == "At Risk"));
    let unknown = shoplens(&["rfm", &w, "--segment", "VIPs"]);
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no segment 'VIPs'; the segments are: Champions"), "{}", text(&unknown.stderr));

    let clv = shoplens(&["clv", &w, "--horizon", "12", "--period", "month", "--out", &out("clv.csv")]);
    assert!(clv.status.success(), "{}", text(&clv.stderr));
    let stdout = text(&clv.stdout);
    assert!(stdout.contains("BG/NBD (4314 customers, time unit: months): r = "), "{stdout}");
    assert!(stdout.contains("Gamma-Gamma (") && stdout.contains("holdout check:"), "{stdout}");
    let (header, rows) = read("clv.csv");
    assert_eq!(
        header,
        [
            "customer_id",
            "frequency",
            "recency_months",
            "T_months",
            "p_alive",
            "expected_purchases_12_months",
            "expected_average_order_value",
            "clv"
        ]
    );
    assert_eq!(rows.len(), 4314);
    // Sorted by CLV, highest first; P(alive) is a probability.
    let clv_of = |r: &csv::StringRecord| r[7].parse::<f64>().unwrap();
    assert!(rows.windows(2).all(|w| clv_of(&w[0]) >= clv_of(&w[1])));
    assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r[4].parse::<f64>().unwrap())));

    let cohorts = shoplens(&["cohorts", &w, "--out", &out("cohorts.csv")]);
    assert!(cohorts.status.success(), "{}", text(&cohorts.stderr));
    let (header, rows) = read("cohorts.csv");
    assert_eq!(header.len(), 2 + 13);
    assert_eq!(rows.len(), 13);
    assert_eq!(&rows[0][2], "100.00");

    let clusters = shoplens(&["clusters", &w, "--k", "4", "--out", &out("clusters.csv")]);
    assert!(clusters.status.success(), "{}", text(&clusters.stderr));
    assert!(text(&clusters.stdout).contains("<- suggested"));
    let (_, rows) = read("clusters.csv");
    assert_eq!(rows.len(), 4314);
    assert!(rows.iter().all(|r| r[1].parse::<usize>().unwrap() < 4));
}

/// `shoplens segments` edits the map the app and `rfm` use, and refuses malformed edits.
#[test]
fn segment_map_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    let edit = shoplens(&[
        "segments",
        &w,
        "--set",
        "R5F1=Fresh Faces",
        "--rename",
        "At Risk=Slipping Away",
        "--action",
        "Fresh Faces=Welcome series",
    ]);
    assert!(edit.status.success(), "{}", text(&edit.stderr));
    let shown = text(&edit.stdout);
    assert!(shown.contains("R5  Fresh Faces | Potential Loyalists"), "{shown}");
    assert!(shown.contains("Fresh Faces: Welcome series"), "{shown}");
    let conn = shoplens::workspace::open_read_only(std::path::Path::new(&w)).unwrap();
    let grid = shoplens::workspace::settings::load_segment_grid(&conn).unwrap();
    assert_eq!(grid.segment(5, 1), "Fresh Faces");
    assert_eq!(grid.segment(1, 3), "Slipping Away");
    for bad in [["--set", "R9F1=x"], ["--set", "nonsense"], ["--rename", "Nobody=x"]] {
        let out = shoplens(&["segments", &w, bad[0], bad[1]]);
        assert!(!out.status.success(), "{bad:?} should fail");
        assert_eq!(text(&out.stderr).lines().count(), 1, "one-line error for {bad:?}");
    }
    assert!(shoplens(&["segments", &w, "--reset"]).status.success());
    let grid =
        shoplens::workspace::settings::load_segment_grid(&shoplens::workspace::open_read_only(std::path::Path::new(&w)).unwrap()).unwrap();
    assert_eq!(grid, shoplens::analytics::rfm::SegmentGrid::default());
}

/// Hostile input, command line: a workspace in a folder that does not exist is refused (not
/// created), a column mapped twice is refused (not "the last wins"), and a failed import says
/// truthfully that its attempt was recorded.
#[test]
fn mistakes_on_the_command_line_are_refused_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("sales").join("2024").join("w.shoplens");
    let out = shoplens(&["import", &fixture("shop_export.csv"), "--workspace", &missing.display().to_string(), "--kind", "raw"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("does not exist: create it first"), "{}", text(&out.stderr));
    assert!(!dir.path().join("sales").exists(), "the folder was not created");

    let w = ws(&dir);
    let map = "invoice=Order No,invoice=SKU,invoice_date=Ordered At,stock_code=SKU,quantity=Qty,unit_price=Price Each";
    let out = shoplens(&["import", &fixture("shop_export.csv"), "--workspace", &w, "--kind", "order_lines", "--map", map]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--map gives invoice twice ('Order No' and 'SKU')"), "{}", text(&out.stderr));

    let out = shoplens(&["import", &fixture("truncated.csv.gz"), "--workspace", &w]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no rows were loaded (the failed attempt is listed by `shoplens info`)"), "{}", text(&out.stderr));
    let info = text(&shoplens(&["info", &w]).stdout);
    assert!(info.contains("failed"), "{info}");
}

/// A read-only command worked: it succeeded, or `overview` said the workspace has no order
/// lines yet (it exits non-zero: a script must not take zeros for figures), never that the file
/// is damaged.
fn readable(out: &std::process::Output) -> bool {
    out.status.success() || text(&out.stderr).contains("has no order lines: import an orders export first")
}

/// Hostile input, interrupted imports: SIGTERM and Ctrl-C (SIGINT) cancel an import, which rolls
/// back and is recorded as cancelled; after SIGKILL mid-write (a hot rollback journal left
/// behind) the read-only commands still work and show the workspace as it was.
#[test]
fn interrupted_imports_leave_the_workspace_readable_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    assert!(shoplens(&["gen", "orders", &big.display().to_string(), "--rows", "1000000"]).status.success());
    let w = ws(&dir);
    let journal = format!("{w}-journal");
    let interrupt = |signal: &str| {
        let child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["import", &big.display().to_string(), "--workspace", &w])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Mid-write: the import's rollback journal exists.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !Path::new(&journal).exists() {
            assert!(std::time::Instant::now() < deadline, "the import never started writing");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert!(Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap().success());
        child.wait_with_output().unwrap()
    };
    let order_lines = || text(&shoplens(&["query", &w, "SELECT count(*) FROM order_lines"]).stdout);

    for signal in ["TERM", "INT"] {
        let out = interrupt(signal);
        assert!(!out.status.success(), "SIG{signal}");
        assert!(text(&out.stderr).contains("import cancelled; the workspace is unchanged"), "SIG{signal}: {}", text(&out.stderr));
        assert_eq!(order_lines(), "count(*)\n0\n", "SIG{signal}");
    }
    let info = text(&shoplens(&["info", &w]).stdout);
    assert_eq!(info.matches("cancelled").count(), 2, "both cancels are in the history: {info}");

    let out = interrupt("KILL");
    assert!(!out.status.success());
    for args in [vec!["info", &w], vec!["overview", &w]] {
        let out = shoplens(&args);
        assert!(readable(&out), "{args:?} after a killed import: {}", text(&out.stderr));
    }
    assert_eq!(order_lines(), "count(*)\n0\n");

    // A crash after the import wrote pages into the file: the disk as a writer mid-transaction
    // leaves it (the file and its hot journal, copied while the transaction is open).
    let crashed = dir.path().join("crashed.shoplens");
    {
        let mut conn = rusqlite::Connection::open(&w).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        conn.pragma_update(None, "cache_size", 10).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            "INSERT INTO imports (file, file_size, file_hash, fingerprint, format, encoding, kind, target_table, rows_read,
                                  rows_loaded, rows_rejected, report, started_at, finished_at, status)
             VALUES ('x', 0, '', '', '', '', '', '', 0, 0, 0, '{}', '', '', 'loading');
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO order_lines (invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country, cancelled, import_id)
             SELECT 'X' || i, 'S', 'written but never committed', 1, '2024-01-01 00:00:00', 1.0, NULL, 'Nowhere', 0, 1 FROM n;",
        )
        .unwrap();
        std::fs::copy(&w, &crashed).unwrap();
        std::fs::copy(&journal, format!("{}-journal", crashed.display())).unwrap();
        drop(tx); // rolls the real workspace back
    }
    let crashed = crashed.display().to_string();
    let out = shoplens(&["query", &crashed, "SELECT count(*) FROM order_lines"]);
    assert!(out.status.success(), "a read after a crash mid-write: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count(*)\n0\n", "the uncommitted rows are rolled back, not shown");
    assert!(!Path::new(&format!("{crashed}-journal")).exists(), "the hot journal was rolled back");
    assert!(shoplens(&["info", &crashed]).status.success());
}

/// Hostile input, the kill loop: imports stopped at random moments by SIGKILL, SIGTERM or SIGINT
/// (the seed is printed; `SHOPLENS_KILL_SEED` repeats a run). After each, the read-only commands
/// work and show the workspace as it was: either the import finished and all its rows are there,
/// or none are. Reference: the row count before the import and the file's row count.
#[test]
fn imports_killed_at_random_moments_leave_the_workspace_as_it_was() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    let seed: u64 = std::env::var("SHOPLENS_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("kill loop seed {seed}");
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let rows_in = |file: &Path| std::fs::read_to_string(file).unwrap().lines().count() as u64 - 1;
    let order_lines = || -> u64 {
        let out = shoplens(&["query", &w, "SELECT count(*) FROM order_lines"]);
        assert!(out.status.success(), "query after an interrupted import: {}", text(&out.stderr));
        text(&out.stdout).lines().nth(1).unwrap().parse().unwrap()
    };
    let generate = |round: u64| {
        let file = dir.path().join(format!("orders_{round}.csv"));
        assert!(shoplens(&["gen", "orders", &file.display().to_string(), "--rows", "300000", "--seed", &round.to_string()])
            .status
            .success());
        file
    };
    // How long one import takes here: the signals land anywhere from its start to just after it.
    let started = std::time::Instant::now();
    assert!(shoplens(&["import", &generate(100).display().to_string(), "--workspace", &w]).status.success());
    let import_ms = started.elapsed().as_millis() as u64;
    let (mut finished, mut interrupted) = (0, 0);
    for round in 0..8 {
        let file = generate(round);
        let before = order_lines();
        let child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["import", &file.display().to_string(), "--workspace", &w])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(0..import_ms * 6 / 5)));
        let signal = ["KILL", "TERM", "INT"][rng.random_range(0..3)];
        let _ = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status();
        let out = child.wait_with_output().unwrap();
        let context = format!("round {round} (SIG{signal}, seed {seed})");
        for args in [vec!["info", w.as_str()], vec!["overview", w.as_str()]] {
            let out = shoplens(&args);
            assert!(readable(&out), "{context}: {args:?}: {}", text(&out.stderr));
        }
        let after = order_lines();
        // The history says whether this file's import committed; the rows must agree with it.
        let sql = format!(
            "SELECT status, rows_loaded, rows_loaded + rows_rejected FROM imports WHERE file LIKE '%orders_{round}.csv' ORDER BY id DESC LIMIT 1"
        );
        let history = text(&shoplens(&["query", &w, &sql]).stdout);
        let last: Vec<&str> = history.lines().nth(1).unwrap_or("").split(',').collect();
        if last.first() == Some(&"loaded") {
            // Finished (possibly just before the signal arrived): every row is accounted for.
            assert_eq!(last[2].parse::<u64>().unwrap(), rows_in(&file), "{context}: every row of a finished import is accounted for");
            assert_eq!(after, before + last[1].parse::<u64>().unwrap(), "{context}: a finished import keeps all its rows");
            assert!(!text(&out.stderr).contains("workspace is unchanged"), "{context}: a committed import must not claim otherwise");
            finished += 1;
        } else {
            assert!(!out.status.success(), "{context}: a successful import is in the history as loaded");
            assert_eq!(after, before, "{context}: an interrupted import leaves no rows");
            interrupted += 1;
        }
    }
    eprintln!("{finished} imports finished before their signal, {interrupted} were interrupted");
}

/// Hostile input, a workspace damaged on disk: a page overwritten, or the file cut off. Commands
/// say the file is damaged and how to recover (not SQLite's bare "malformed"); `recover` copies
/// every row that still reads into a new workspace and lists the rowids it could not read.
/// Reference: an undamaged copy of the same workspace, compared row by row.
#[test]
fn a_damaged_workspace_is_named_as_such_and_what_still_reads_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    let orders = dir.path().join("orders.csv");
    assert!(shoplens(&["gen", "orders", &orders.display().to_string(), "--rows", "60000"]).status.success());
    assert!(shoplens(&["import", &orders.display().to_string(), "--workspace", &w]).status.success());
    let pristine = dir.path().join("pristine.shoplens");
    std::fs::copy(&w, &pristine).unwrap();
    let size = std::fs::metadata(&w).unwrap().len();
    let page = 16_384u64;

    // A page in the middle of the file (order lines) overwritten with garbage.
    let overwritten = dir.path().join("overwritten.shoplens");
    let mut bytes = std::fs::read(&w).unwrap();
    let at = (size / page / 2 * page) as usize;
    bytes[at..at + page as usize].fill(0xA5);
    std::fs::write(&overwritten, &bytes).unwrap();
    let out = shoplens(&["info", &overwritten.display().to_string()]);
    assert!(!out.status.success());
    let message = text(&out.stderr);
    assert!(message.contains("damaged") && message.contains("shoplens recover"), "{message}");

    let recovered = dir.path().join("recovered.shoplens");
    let out = shoplens(&["recover", &overwritten.display().to_string(), "--to", &recovered.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("order_lines") && report.contains("unreadable rowids"), "{report}");
    assert!(text(&out.stderr).contains("some rows could not be read"));
    let recovered_conn = rusqlite::Connection::open(&recovered).unwrap();
    let original = rusqlite::Connection::open(&pristine).unwrap();
    let count = |conn: &rusqlite::Connection, sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let (kept, all) = (count(&recovered_conn, "SELECT count(*) FROM order_lines"), count(&original, "SELECT count(*) FROM order_lines"));
    assert!(kept < all && kept * 10 > all * 9, "one page lost, the rest kept: {kept} of {all}");
    // Every recovered row is the original row with the same rowid.
    let rows = |conn: &rusqlite::Connection| -> Vec<(i64, String, String, f64)> {
        conn.prepare("SELECT rowid, invoice, invoice_date, unit_price FROM order_lines ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let originals: std::collections::HashMap<i64, (i64, String, String, f64)> = rows(&original).into_iter().map(|r| (r.0, r)).collect();
    for row in rows(&recovered_conn) {
        assert_eq!(Some(&row), originals.get(&row.0));
    }
    assert_eq!(count(&recovered_conn, "SELECT count(*) FROM imports"), 1, "the import history is copied");
    let out = shoplens(&["info", &recovered.display().to_string()]);
    assert!(out.status.success(), "the copy is a working workspace: {}", text(&out.stderr));

    // The file cut off: found from its header before SQLite reads a page.
    let cut = dir.path().join("cut.shoplens");
    std::fs::write(&cut, &std::fs::read(&w).unwrap()[..(size / 2) as usize]).unwrap();
    let out = shoplens(&["query", &cut.display().to_string(), "SELECT count(*) FROM imports"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("it was cut off"), "{}", text(&out.stderr));
    let recovered_cut = dir.path().join("recovered_cut.shoplens");
    let out = shoplens(&["recover", &cut.display().to_string(), "--to", &recovered_cut.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recovered_cut = rusqlite::Connection::open(&recovered_cut).unwrap();
    assert_eq!(count(&recovered_cut, "SELECT count(*) FROM imports"), 1);
    // What a cut-off file still holds is copied as it was, and nothing that is not.
    for row in rows(&recovered_cut) {
        assert_eq!(Some(&row), originals.get(&row.0));
    }
}

/// Hostile input, the read-only console: a query cannot create or read another file (VACUUM
/// INTO used to fail only after creating its target; ATTACH could read any database file).
#[test]
fn the_read_only_console_cannot_touch_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let w = ws(&dir);
    assert!(shoplens(&["import", &fixture("shop_export.csv"), "--workspace", &w, "--kind", "raw"]).status.success());
    let target = dir.path().join("copy.shoplens");
    let out = shoplens(&["query", &w, &format!("VACUUM INTO '{}'", target.display())]);
    assert!(!out.status.success());
    assert!(!target.exists(), "no file was created");
    let other = dir.path().join("other.db");
    drop(rusqlite::Connection::open(&other).unwrap());
    let out = shoplens(&["query", &w, &format!("ATTACH '{}' AS other", other.display())]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("too many attached databases"), "{}", text(&out.stderr));
}

/// `shoplens bench --what instant --quick` runs end to end (import, reopen from the cache,
/// recompute, live append) and writes its section into a Markdown file. No figure is judged
/// here: speed is measured by the benchmark itself, on a release build.
#[test]
fn the_instant_benchmark_runs_and_writes_its_section() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("PERFORMANCE.md");
    std::fs::write(&doc, "# Performance\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["bench", "--what", "instant", "--quick", "--dir"])
        .arg(dir.path().join("data"))
        .arg("--doc")
        .arg(&doc)
        // No window, no peers: the run says what it skipped.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("peers skipped"), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&doc).unwrap();
    for row in
        ["import 100,000 order lines", "reopen → visible Overview", "RFM + segments", "reopen → visible funnel", "live mode: 5,000 events"]
    {
        assert!(written.contains(row), "no row '{row}' in:\n{written}");
    }
    assert!(written.contains("the window was not measured"), "{written}");
}

/// `import --then rfm --out F` writes the same customer table as `rfm --out F` run after a
/// plain import (the reference), from the copy the import built; that copy is saved, so the
/// next command reads it from the cache instead of every row.
#[test]
fn import_then_rfm_equals_rfm_after_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let uci = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/uci_online_retail_ii_2009-2010.parquet");
    let (with_then, plain) = (dir.path().join("then.shoplens"), dir.path().join("plain.shoplens"));
    let (then_csv, plain_csv) = (dir.path().join("then.csv"), dir.path().join("plain.csv"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = shoplens(&["import", &s(&uci), "--workspace", &s(&with_then), "--then", "rfm", "--out", &s(&then_csv)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(shoplens(&["import", &s(&uci), "--workspace", &s(&plain)]).status.success());
    assert!(shoplens(&["rfm", &s(&plain), "--out", &s(&plain_csv)]).status.success());
    assert_eq!(std::fs::read_to_string(&then_csv).unwrap(), std::fs::read_to_string(&plain_csv).unwrap());
    let loaded = shoplens::workspace::cache::load_order_lines(&with_then, &shoplens::jobs::JobContext::detached()).unwrap();
    assert!(matches!(loaded.origin, shoplens::workspace::cache::Origin::Cache), "the copy the import built was saved");
}
