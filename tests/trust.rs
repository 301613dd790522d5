//! A shared workspace is data, never code; credentials go only where the user sent them;
//! nothing waits for ever. Each test plants an attack or a fault the way an attacker (or a
//! broken server) would, then shows it closed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// The binary with a configuration folder of the test's own (where confirmed sources live).
fn shoplens_in(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).env("SHOPLENS_CONFIG_DIR", config).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A workspace with the UCI head imported, made by shoplens.
fn uci_workspace(dir: &Path) -> PathBuf {
    let w = dir.join("shop.shoplens");
    let out = shoplens_in(
        dir,
        &["import", &fixture("uci_online_retail_ii_2009-12_head.csv").display().to_string(), "--workspace", &w.display().to_string()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    w
}

/// What an attacker's tool does to a received file: plain SQLite, no defences.
fn tamper(path: &Path, sql: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn sum_of_prices(path: &Path) -> f64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row("SELECT round(sum(unit_price), 2) FROM order_lines", [], |r| r.get(0)).unwrap()
}

/// Hole 1: `recover` ran SQL hidden in a damaged file's schema (an ATTACH that made a file
/// elsewhere, a trigger planted in the new workspace). Now it executes nothing from the file.
#[test]
fn recover_runs_nothing_stored_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let planted = elsewhere.join("x.db");
    // A raw table's stored SQL gains statements, as the issue's attack did.
    tamper(
        &w,
        &format!(
            "CREATE TABLE notes (a TEXT);
             PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = 'CREATE TABLE notes (a TEXT); ATTACH ''{}'' AS p; CREATE TABLE p.pwned(x); INSERT INTO p.pwned VALUES (1); CREATE TRIGGER main.persist AFTER INSERT ON order_lines BEGIN DELETE FROM order_lines; END'
             WHERE name = 'notes';
             PRAGMA writable_schema = OFF;",
            planted.display()
        ),
    );
    let w = w.display().to_string();
    let opened = shoplens_in(dir.path(), &["overview", &w]);
    assert!(!opened.status.success(), "a tampered file is not opened as it is");
    let clean = dir.path().join("clean.shoplens").display().to_string();
    let out = shoplens_in(dir.path(), &["recover", &w, "--to", &clean]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!planted.exists(), "no file was created outside the workspace");
    let report = text(&out.stdout);
    assert!(report.contains("notes") && report.contains("left out"), "{report}");
    // The clean copy opens, holds every order line, and carries no code.
    let conn = Connection::open(&clean).unwrap();
    let triggers: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE type IN ('trigger', 'view')", [], |r| r.get(0)).unwrap();
    assert_eq!(triggers, 0);
    assert_eq!(conn.query_row("SELECT count(*) FROM order_lines", [], |r| r.get::<_, i64>(0)).unwrap(), 2_000);
    let out = shoplens_in(dir.path(), &["overview", &clean]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Hole 2: a trigger in a received workspace changed the user's later writes (prices ×10).
/// Now the file is refused by name before anything runs, and its clean copy imports exactly.
#[test]
fn a_planted_trigger_is_refused_and_never_fires() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path());
    let before = sum_of_prices(&w);
    tamper(
        &w,
        "CREATE TRIGGER t AFTER INSERT ON order_lines BEGIN UPDATE order_lines SET unit_price = unit_price * 10 WHERE rowid = NEW.rowid; END;
         CREATE TRIGGER s AFTER INSERT ON sources BEGIN UPDATE sources SET host = 'attacker.example' WHERE rowid = NEW.rowid; END;",
    );
    let w_text = w.display().to_string();
    let file = dir.path().join("more.csv");
    std::fs::copy(fixture("uci_online_retail_ii_2009-12_head.csv"), &file).unwrap();
    let out = shoplens_in(dir.path(), &["import", &file.display().to_string(), "--workspace", &w_text, "--force"]);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("a trigger 't' on order_lines") && said.contains("a trigger 's' on sources"), "{said}");
    assert_eq!(sum_of_prices(&w), before, "nothing was imported, nothing fired");
    let out =
        shoplens_in(dir.path(), &["source", "add", &w_text, "shop", "--host", "db.internal.example", "--database", "d", "--user", "u"]);
    assert!(!out.status.success(), "the trigger on sources cannot redirect a new source");

    // The cleaned copy: the same data, our schema; an import lands exactly.
    let clean = dir.path().join("clean.shoplens");
    assert!(shoplens_in(dir.path(), &["recover", &w_text, "--to", &clean.display().to_string()]).status.success());
    let out = shoplens_in(dir.path(), &["import", &file.display().to_string(), "--workspace", &clean.display().to_string(), "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!((sum_of_prices(&clean) - 2.0 * before).abs() < 0.01, "prices exact: {} vs 2 × {before}", sum_of_prices(&clean));
}

/// A stand-in for a server: accepts connections and logs every byte it receives. `answer`:
/// reply to a startup message by asking for the password in clear text.
struct FakeServer {
    port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeServer {
    fn start(answer: bool) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (log, count) = (received.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let mut answered = false;
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if answer && !answered {
                            // AuthenticationCleartextPassword: 'R', length 8, code 3.
                            let _ = stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]);
                            answered = true;
                        }
                    }
                });
            }
        });
        Self { port, received, connections }
    }

    fn saw(&self, secret: &str) -> bool {
        let bytes = self.received.lock().unwrap();
        bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
    }
}

/// A source planted in a received workspace (never added on this machine).
fn plant_source(w: &Path, name: &str, host: &str, port: u16) {
    tamper(
        w,
        &format!(
            "INSERT INTO sources (name, host, port, database, user_name, tls, added_at) VALUES ('{name}', '{host}', {port}, 'shop', 'analyst', 0, '2026-01-01 00:00:00')"
        ),
    );
}

/// Hole 3: the password went, in clear text, to whatever host the workspace named. Now a source
/// the user did not add or confirm gets no connection and no password (PGPASSWORD and a wildcard
/// ~/.pgpass line included) until the user confirms it.
#[test]
fn no_password_goes_to_a_server_the_user_did_not_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path());
    let server = FakeServer::start(true);
    plant_source(&w, "evil", "127.0.0.1", server.port);
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, "*:*:*:*:wildcard-secret\n").unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(args)
            .env("SHOPLENS_CONFIG_DIR", dir.path())
            .env("PGPASSWORD", "env-secret")
            .env("PGPASSFILE", &pgpass)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let w = w.display().to_string();
    let out = run(&["source", "test", &w, "evil"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("was not added or confirmed on this machine"), "{}", text(&out.stderr));
    let out = run(&["overview", &w, "--source", "evil", "--table", "orders"]);
    assert!(!out.status.success());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 0, "not even a connection");
    assert!(!server.saw("env-secret") && !server.saw("wildcard-secret"));
    // The listing says it too.
    let listed = text(&run(&["source", "list", &w]).stdout);
    assert!(listed.contains("evil"), "{listed}");
}

/// Hole 5: a server that accepts the connection and never answers held `source test` for
/// ever. Now the wait is bounded (here 2 s) and says so.
#[test]
fn a_silent_server_fails_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.shoplens").display().to_string();
    let server = FakeServer::start(false);
    let out = shoplens_in(
        dir.path(),
        &[
            "source",
            "add",
            &w,
            "silent",
            "--host",
            "127.0.0.1",
            "--port",
            &server.port.to_string(),
            "--database",
            "d",
            "--user",
            "u",
            "--timeout",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["source", "test", &w, "silent"])
        .env("SHOPLENS_CONFIG_DIR", dir.path())
        .env("PGPASSWORD", "x")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("did not answer within 2 s"), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

/// Hole 4: stored strings reached the terminal raw (window title, screen clear, clipboard).
/// Now every byte a terminal would act on comes out as a visible escape.
#[test]
fn stored_strings_reach_the_terminal_inert() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path());
    let evil = "Q3\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07";
    tamper(
        &w,
        &format!(
            "INSERT INTO stories (id, name, created_at) VALUES (1, '{evil}', '2026-01-01');
             INSERT INTO saved_views (story_id, position, title, caption, panel, state, dates, created_at)
                 VALUES (1, 0, '{evil}', '{evil}', 'overview', '{{}}', '\"All\"', '2026-01-01');
             INSERT INTO sources (name, host, port, database, user_name, tls, added_at) VALUES ('{evil}', 'h', 1, 'd', 'u', 0, 'x');
             UPDATE order_lines SET country = '{evil}' WHERE rowid = 1;"
        ),
    );
    let w = w.display().to_string();
    for args in
        [vec!["stories", &w], vec!["source", "list", &w], vec!["info", &w], vec!["query", &w, "SELECT country FROM order_lines LIMIT 1"]]
    {
        let out = shoplens_in(dir.path(), &args);
        let everything = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(!everything.contains(&0x1b) && !everything.contains(&0x07), "{args:?}: {}", text(&everything));
        if args[0] != "info" {
            assert!(text(&everything).contains("\\x1b]0;pwned"), "{args:?} shows the text, escaped: {}", text(&everything));
        }
    }
}

/// Hole 5 (SQLite): an endless statement ignored Ctrl-C and SIGTERM. Now it stops within a
/// second, the workspace unchanged.
#[test]
fn an_endless_query_stops_on_sigterm_and_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path()).display().to_string();
    for signal in ["TERM", "INT"] {
        let child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["query", &w, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"])
            .env("SHOPLENS_CONFIG_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(800));
        let sent = Instant::now();
        assert!(Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(1), "SIG{signal}: stopped after {:?}", sent.elapsed());
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("cancelled"), "SIG{signal}: {}", text(&out.stderr));
    }
    assert!(shoplens_in(dir.path(), &["overview", &w]).status.success(), "the workspace is as it was");
}

/// Hole 5 (reports): `report` answers SIGTERM within a second at any point of its work
/// (slides, then the HTML and PDF), writing no half a report.
#[test]
fn a_report_stops_on_sigterm_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("demo.shoplens");
    shoplens::demo::build(&w, &shoplens::jobs::JobContext::detached()).unwrap();
    let (html, pdf) = (dir.path().join("r.html"), dir.path().join("r.pdf"));
    // The whole report takes about two seconds here: stop it early, midway and late.
    let mut stopped = 0;
    for after in [200, 700, 1200] {
        let child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .arg("report")
            .arg(&w)
            .args(["--story", "Year in review", "--html"])
            .arg(&html)
            .arg("--pdf")
            .arg(&pdf)
            .env("SHOPLENS_CONFIG_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after));
        let sent = Instant::now();
        assert!(Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            // Finished before the signal (a fast machine): nothing to check at this point.
            continue;
        }
        assert!(sent.elapsed() < Duration::from_secs(1), "stopped {after} ms in, after {:?}", sent.elapsed());
        assert!(text(&out.stderr).contains("cancelled"), "{}", text(&out.stderr));
        assert!(!html.exists() && !pdf.exists(), "a cancelled report leaves no file ({after} ms in)");
        stopped += 1;
    }
    assert!(stopped > 0, "no run was still working when stopped");
}

/// Hole 6: `recover` on an undamaged file dropped every row of a raw table with its own column
/// named `rowid`, calling it complete. Now the table comes through whole.
#[test]
fn a_raw_table_with_its_own_rowid_column_is_recovered_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    let mut body = String::from("rowid,name,value\n");
    for i in 0..500 {
        body.push_str(&format!("r{i},name {i},{}\n", i * 3));
    }
    std::fs::write(&file, body).unwrap();
    let w = dir.path().join("w.shoplens").display().to_string();
    assert!(shoplens_in(dir.path(), &["import", &file.display().to_string(), "--workspace", &w]).status.success());
    let copy = dir.path().join("copy.shoplens").display().to_string();
    let out = shoplens_in(dir.path(), &["recover", &w, "--to", &copy]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conn = Connection::open(&copy).unwrap();
    let (rows, own): (i64, String) =
        conn.query_row("SELECT count(*), max(\"rowid\") FROM export", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((rows, own.as_str()), (500, "r99"));
    assert!(text(&out.stdout).contains("export") && text(&out.stdout).contains("500 rows, complete"), "{}", text(&out.stdout));
}

/// Hole 6 (cache): after an outside UPDATE, the copy cache still read as current. Now the
/// files' mark tells, and the copy is rebuilt: the Overview equals SQL again.
#[test]
fn an_outside_change_rebuilds_the_cached_copy() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path());
    let w_text = w.display().to_string();
    let revenue = |out: &Output| -> f64 {
        let text = text(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("revenue")).unwrap_or_else(|| panic!("{text}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let first = revenue(&shoplens_in(dir.path(), &["overview", &w_text]));
    // The cache is current now; another program changes every quantity.
    tamper(&w, "UPDATE order_lines SET quantity = quantity * 100");
    let after = revenue(&shoplens_in(dir.path(), &["overview", &w_text]));
    let conn = Connection::open(&w).unwrap();
    let sql: f64 =
        conn.query_row("SELECT round(sum(quantity * unit_price), 2) FROM order_lines WHERE cancelled = 0", [], |r| r.get(0)).unwrap();
    assert!((after - sql).abs() < 0.01, "{after} vs SQL {sql} (was {first})");
    // shoplens' own writes to other tables keep the copy current (no rebuild needed).
    let out = shoplens_in(dir.path(), &["segments", &w_text, "--rename", "Champions=Best"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = text(&shoplens_in(dir.path(), &["cache", &w_text]).stdout);
    assert!(status.lines().any(|l| l.contains("order_lines") && l.contains("current")), "{status}");
}

/// Hole 6 (CSV): cells beginning with `=`, `+`, `-` or `@` went out as they were, ready to run
/// in a spreadsheet. Now text cells are neutralised (OWASP); numbers stay numbers.
#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let w = uci_workspace(dir.path()).display().to_string();
    let out = shoplens_in(
        dir.path(),
        &["query", &w, "SELECT '=HYPERLINK(\"http://x\")' AS a, '+cmd' AS b, '@SUM(A1)' AS c, '-x' AS d, -5 AS n, '-12.5' AS t"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().nth(1), Some("\"'=HYPERLINK(\"\"http://x\"\")\",'+cmd,'@SUM(A1),'-x,-5,-12.5"));
}
