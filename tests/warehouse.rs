//! Warehouse sources against a real PostgreSQL server.
//!
//! The reference is the local copy: the same data imported into a workspace and analysed by the
//! same commands. The Overview, RFM and funnels computed on the server (push-down) must print
//! and write exactly what the local commands print and write.
//!
//! The server comes from the libpq environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
//! `PGPASSWORD`), as `pg_virtualenv` sets it; `.ci/run` starts a throw-away server that way.
//! Without one these tests say they were skipped and pass, unless `SHOPLENS_REQUIRE_PG=1` (set by
//! CI), which makes a missing server a failure.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use polars::prelude::*;

fn shoplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = shoplens(args);
    assert!(out.status.success(), "shoplens {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name).display().to_string()
}

/// The server from the environment, or `None` (having said so) when there is none.
fn server() -> Option<&'static Setup> {
    static SETUP: OnceLock<Option<Setup>> = OnceLock::new();
    SETUP
        .get_or_init(|| {
            let host = std::env::var("PGHOST").ok();
            if host.is_none() {
                assert!(std::env::var("SHOPLENS_REQUIRE_PG").is_err(), "SHOPLENS_REQUIRE_PG is set but no server is given (PGHOST unset)");
                eprintln!("warehouse integration tests skipped: no PostgreSQL server (set PGHOST etc., or run under pg_virtualenv)");
                return None;
            }
            // Sources added by these tests are trusted in a folder of their own, not in the
            // user's settings. Set before any test thread reads it: they all wait here first.
            let config = std::env::temp_dir().join(format!("shoplens-warehouse-tests-{}", std::process::id()));
            std::env::set_var("SHOPLENS_CONFIG_DIR", &config);
            Some(Setup::new())
        })
        .as_ref()
}

/// Test data loaded once into the server (the schema `shoplens_test`, replaced on each run) and
/// into local workspaces.
struct Setup {
    schema: String,
    dir: tempfile::TempDir,
    /// The workspace the local figures come from: the same rows imported as files.
    local: String,
    host: String,
    port: String,
    user: String,
    database: String,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn admin() -> postgres::Client {
    let mut config = postgres::Config::new();
    config
        .host(&env("PGHOST", "localhost"))
        .port(env("PGPORT", "5432").parse().unwrap())
        .user(&env("PGUSER", "postgres"))
        .dbname(&env("PGDATABASE", "postgres"));
    if let Ok(password) = std::env::var("PGPASSWORD") {
        config.password(&password);
    }
    config.connect(postgres::NoTls).expect("connect to the test server")
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let schema = "shoplens_test".to_string();
        let mut db = admin();
        db.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).unwrap();

        // UCI Online Retail II 2009-2010 in its own layout: the customer id as a float column,
        // as the original export has it (13085.0), prices as double precision.
        db.batch_execute(&format!(
            "CREATE TABLE {schema}.online_retail (\"Invoice\" text, \"StockCode\" text, \"Description\" text, \"Quantity\" integer,
                 \"InvoiceDate\" timestamp, \"Price\" double precision, \"Customer ID\" double precision, \"Country\" text)"
        ))
        .unwrap();
        let uci = fixture("uci_online_retail_ii_2009-2010.parquet");
        copy_parquet(&mut db, &format!("{schema}.online_retail"), &uci);

        // Generated REES46-layout events, with their times as text ending in " UTC", as exported.
        let events = dir.path().join("events.csv").display().to_string();
        ok(&["gen", "events", &events, "--rows", "150000", "--seed", "7"]);
        without_some_sessions(&events);
        db.batch_execute(&format!(
            "CREATE TABLE {schema}.events (event_time text, event_type text, product_id bigint, category_id bigint,
                 category_code text, brand text, price numeric, user_id bigint, user_session text)"
        ))
        .unwrap();
        let mut writer = db.copy_in(&format!("COPY {schema}.events FROM STDIN (FORMAT csv, HEADER)")).unwrap();
        std::io::copy(&mut std::fs::File::open(&events).unwrap(), &mut writer).unwrap();
        writer.finish().unwrap();
        db.batch_execute(&format!("ANALYZE {schema}.online_retail; ANALYZE {schema}.events")).unwrap();

        let local = dir.path().join("local.shoplens").display().to_string();
        ok(&["import", &uci, &events, "--workspace", &local]);
        let setup = Setup {
            schema,
            dir,
            local,
            host: env("PGHOST", "localhost"),
            port: env("PGPORT", "5432"),
            user: env("PGUSER", "postgres"),
            database: env("PGDATABASE", "postgres"),
        };
        // The workspace the server runs are started from knows only the connection.
        ok(&[
            "source",
            "add",
            &setup.remote(),
            "shop",
            "--host",
            &setup.host,
            "--port",
            &setup.port,
            "--database",
            &setup.database,
            "--user",
            &setup.user,
        ]);
        setup
    }

    /// A workspace with no data of its own, only the saved source.
    fn remote(&self) -> String {
        self.dir.path().join("remote.shoplens").display().to_string()
    }

    fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.schema)
    }
}

/// Blanks the session of every 97th event, as REES46 exports have events without one.
fn without_some_sessions(path: &str) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    writer.write_record(reader.headers().unwrap()).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut record: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
        if i % 97 == 0 {
            record[8].clear();
        }
        writer.write_record(&record).unwrap();
    }
    std::fs::write(path, writer.into_inner().unwrap()).unwrap();
}

/// Streams a Parquet file into a server table with COPY, every value written as text the way
/// the file holds it (floats with their `.0`, times as `YYYY-MM-DD HH:MM:SS`).
fn copy_parquet(db: &mut postgres::Client, table: &str, path: &str) {
    use std::io::Write;
    let frame = ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
    let columns = frame.columns();
    let mut writer = db.copy_in(&format!("COPY {table} FROM STDIN (FORMAT csv)")).unwrap();
    let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for row in 0..frame.height() {
        let record: Vec<String> = columns
            .iter()
            .map(|c| match c.get(row).unwrap() {
                AnyValue::Null => String::new(),
                AnyValue::String(s) => s.to_string(),
                AnyValue::StringOwned(s) => s.to_string(),
                AnyValue::Float64(x) => format!("{x:?}"),
                other => other.to_string().trim_matches('"').to_string(),
            })
            .collect();
        // An empty text that is not NULL is quoted in CSV; a NULL is left empty.
        csv.write_record(&record).unwrap();
    }
    writer.write_all(&csv.into_inner().unwrap()).unwrap();
    writer.finish().unwrap();
}

#[test]
fn overview_on_the_server_prints_what_the_local_copy_prints() {
    let Some(s) = server() else { return };
    let table = s.table("online_retail");
    for filters in [vec![], vec!["--from", "2010-03-01", "--to", "2010-05-31"], vec!["--country", "France"]] {
        let mut local = vec!["overview", &s.local];
        local.extend(&filters);
        let remote_ws = s.remote();
        let mut remote = vec!["overview", &remote_ws, "--source", "shop", "--table", &table];
        remote.extend(&filters);
        let (local, remote) = (ok(&local), ok(&remote));
        assert!(local.contains("revenue") && local.lines().count() > 5, "{local}");
        assert_eq!(remote, local, "filters {filters:?}");
    }
}

#[test]
fn rfm_on_the_server_equals_the_local_segments_and_customer_list() {
    let Some(s) = server() else { return };
    let (table, remote_ws) = (s.table("online_retail"), s.remote());
    assert_eq!(ok(&["rfm", &remote_ws, "--source", "shop", "--table", &table]), ok(&["rfm", &s.local]));
    let (local_out, remote_out) = (s.dir.path().join("rfm_local.csv"), s.dir.path().join("rfm_remote.csv"));
    ok(&["rfm", &s.local, "--from", "2010-01-01", "--out", &local_out.display().to_string()]);
    ok(&["rfm", &remote_ws, "--from", "2010-01-01", "--source", "shop", "--table", &table, "--out", &remote_out.display().to_string()]);
    let (local, remote) = (std::fs::read_to_string(local_out).unwrap(), std::fs::read_to_string(remote_out).unwrap());
    assert!(local.lines().count() > 3000, "{}", local.lines().count());
    assert_eq!(remote, local);
}

#[test]
fn funnels_on_the_server_equal_the_local_funnels() {
    let Some(s) = server() else { return };
    let (table, remote_ws) = (s.table("events"), s.remote());
    let settings: [&[&str]; 5] = [
        &[],
        &["--users"],
        &["--window", "4h", "--any-order", "--breakdown", "brand"],
        &["--users", "--window", "2d", "--breakdown", "price-band"],
        &["--steps", "view,purchase", "--users", "--breakdown", "product"],
    ];
    for extra in settings {
        let (local_out, remote_out) = (s.dir.path().join("funnel_local.csv"), s.dir.path().join("funnel_remote.csv"));
        let (lo, ro) = (local_out.display().to_string(), remote_out.display().to_string());
        let mut local = vec!["funnel", &s.local, "--out", &lo];
        local.extend(extra);
        let mut remote = vec!["funnel", &remote_ws, "--source", "shop", "--table", &table, "--out", &ro];
        remote.extend(extra);
        let (local, remote) = (ok(&local), ok(&remote));
        assert!(local.contains("view"), "{local}");
        if !extra.contains(&"--users") || extra.len() == 1 {
            assert!(local.contains("events without a session were left out"), "{local}");
        }
        assert_eq!(remote, local, "settings {extra:?}");
        assert_eq!(std::fs::read_to_string(remote_out).unwrap(), std::fs::read_to_string(local_out).unwrap(), "breakdown {extra:?}");
    }
}

#[test]
fn a_server_table_imports_like_the_file_and_twice_is_refused() {
    let Some(s) = server() else { return };
    let ws = s.dir.path().join("pulled.shoplens").display().to_string();
    ok(&["source", "add", &ws, "shop", "--host", &s.host, "--port", &s.port, "--database", &s.database, "--user", &s.user]);
    let report = ok(&["import", "--workspace", &ws, "--source", "shop", "--table", &s.table("online_retail")]);
    assert!(report.contains("as order_lines"), "{report}");
    let count = |w: &str, sql: &str| ok(&["query", w, sql]);
    let sql = "SELECT count(*), sum(quantity), count(DISTINCT customer_id), round(sum(quantity * unit_price), 2) FROM order_lines";
    assert_eq!(count(&ws, sql), count(&s.local, sql));
    // The same content again is refused, as a file's would be, and the workspace is unchanged.
    let again = shoplens(&["import", "--workspace", &ws, "--source", "shop", "--table", &s.table("online_retail")]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already imported"), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(count(&ws, sql), count(&s.local, sql));
    // A query's result, into a raw table.
    let report = ok(&[
        "import",
        "--workspace",
        &ws,
        "--source",
        "shop",
        "--query",
        &format!("SELECT brand, count(*) AS n FROM {} GROUP BY brand", s.table("events")),
    ]);
    assert!(report.contains("as query"), "{report}");
    let brands = count(&ws, "SELECT count(*) FROM query");
    let expected =
        admin().query_one(&format!("SELECT count(DISTINCT brand) + 1 FROM {}", s.table("events")), &[]).unwrap().get::<_, i64>(0);
    assert_eq!(brands.lines().nth(1), Some(expected.to_string().as_str()), "{brands}");
}

/// A `timestamptz` column (instants, which COPY writes with an offset: `2010-03-01 08:26:00+00`)
/// imports as the push-down reads it: the same instants in UTC, so the Overview of the imported
/// copy and the Overview computed on the server are the same. The times are Berlin wall-clock
/// times made instants, so a local-time misreading would move lines across days and months.
#[test]
fn a_timestamptz_table_imports_as_the_push_down_reads_it() {
    let Some(s) = server() else { return };
    let table = s.table("online_retail_tz");
    admin()
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table};
             CREATE TABLE {table} AS SELECT \"Invoice\", \"StockCode\", \"Description\", \"Quantity\",
                    \"InvoiceDate\" AT TIME ZONE 'Europe/Berlin' AS \"InvoiceDate\", \"Price\", \"Customer ID\", \"Country\"
               FROM {} WHERE \"InvoiceDate\" < '2010-03-01'",
            s.table("online_retail")
        ))
        .unwrap();
    let ws = s.dir.path().join("tz.shoplens").display().to_string();
    ok(&["source", "add", &ws, "shop", "--host", &s.host, "--port", &s.port, "--database", &s.database, "--user", &s.user]);
    let report = ok(&["import", "--workspace", &ws, "--source", "shop", "--table", &table]);
    assert!(!report.contains("not a date"), "every instant is read: {report}");
    // 1 December 2009 07:45 in Berlin is 06:45 UTC.
    let first = ok(&["query", &ws, "SELECT min(invoice_date) FROM order_lines"]);
    assert_eq!(first.lines().nth(1), Some("2009-12-01 06:45:00"), "{first}");
    let (local, remote) = (ok(&["overview", &ws]), ok(&["overview", &s.remote(), "--source", "shop", "--table", &table]));
    assert_eq!(remote, local);
}

#[test]
fn sessions_are_read_only_and_a_cancel_stops_the_server() {
    use shoplens::jobs::{Job, JobError};
    use shoplens::warehouse::Server;
    let Some(s) = server() else { return };
    let source = shoplens::workspace::sources::SourceConfig {
        name: "shop".into(),
        host: s.host.clone(),
        port: s.port.parse().unwrap(),
        database: s.database.clone(),
        user: s.user.clone(),
        connect_timeout: Some(15),
        ..Default::default()
    };
    let password = std::env::var("PGPASSWORD").ok();
    let ctx = shoplens::jobs::JobContext::detached();
    let server = Server::connect(&source, password.as_deref(), &ctx).unwrap();
    let refused = server.execute(&ctx, &format!("CREATE TABLE {}.written (x int)", s.schema)).unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");

    let job = Job::spawn("sleep", move |ctx| {
        let server = Server::connect(&source, password.as_deref(), ctx)?;
        Ok(server.query(ctx, "SELECT pg_sleep(60)", &[])?.len())
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let started = std::time::Instant::now();
    job.cancel();
    assert_eq!(job.join(), Err(JobError::Cancelled));
    assert!(started.elapsed().as_secs_f64() < 5.0, "{:?}", started.elapsed());
    // The server stopped the statement too (the cancel request), not only our side.
    let mut db = admin();
    let waited = std::time::Instant::now();
    loop {
        let running: i64 = db
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shoplens' AND query LIKE '%pg_sleep(60)%' AND state = 'active'", &[])
            .unwrap()
            .get(0);
        if running == 0 {
            break;
        }
        assert!(waited.elapsed().as_secs() < 5, "the server is still running the cancelled statement");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn source_commands_list_test_and_never_store_a_password() {
    let Some(s) = server() else { return };
    let listed = ok(&["source", "list", &s.remote()]);
    assert!(listed.contains("shop") && listed.contains(&format!("{}@{}:{}/{}", s.user, s.host, s.port, s.database)), "{listed}");
    let tested = ok(&["source", "test", &s.remote(), "shop"]);
    assert!(tested.contains("PostgreSQL") && tested.contains("read-only"), "{tested}");
    let tables = ok(&["source", "tables", &s.remote(), "shop"]);
    assert!(tables.contains(&format!("{}.online_retail,table,", s.schema)), "{tables}");
    let preview = ok(&["source", "preview", &s.remote(), "shop", "--table", &s.table("online_retail"), "--rows", "3"]);
    assert_eq!(preview.lines().count(), 4, "{preview}");
    assert!(preview.starts_with("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"), "{preview}");
    if let Ok(password) = std::env::var("PGPASSWORD") {
        let bytes = std::fs::read(s.remote()).unwrap();
        assert!(!bytes.windows(password.len()).any(|w| w == password.as_bytes()), "the password is in the workspace file");
    }
}

/// The window, as a person uses it: the Data panel browses the server, a table is chosen for the
/// Funnel and the Overview, and both panels compute on the server and say so; their figures are
/// the CLI's server run's (which equal the local ones, above).
#[test]
fn panels_run_on_a_server_table_chosen_in_the_data_panel() {
    use eframe::egui;
    use egui_kittest::kittest::{NodeT, Queryable};
    use std::time::{Duration, Instant};
    let Some(s) = server() else { return };
    let ws = s.dir.path().join("window.shoplens");
    ok(&[
        "source",
        "add",
        &ws.display().to_string(),
        "shop",
        "--host",
        &s.host,
        "--port",
        &s.port,
        "--database",
        &s.database,
        "--user",
        &s.user,
    ]);
    let path = ws.clone();
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(move |cc| shoplens::ui::app::ShoplensApp::with_settings(&cc.egui_ctx, Default::default(), Some(path)));
    let labels = |h: &egui_kittest::Harness<'static, shoplens::ui::app::ShoplensApp>| -> Vec<String> {
        h.root()
            .children_recursive()
            .filter_map(|n| n.accesskit_node().label().or(n.accesskit_node().value()).map(|l| l.to_string()))
            .collect()
    };
    let wait = |h: &mut egui_kittest::Harness<'static, shoplens::ui::app::ShoplensApp>, what: &str, ready: &dyn Fn(&[String]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            h.step();
            let shown = labels(h);
            if ready(&shown) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; the window shows {shown:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let has = |shown: &[String], text: &str| shown.iter().any(|l| l.contains(text));
    let click = |h: &egui_kittest::Harness<'static, shoplens::ui::app::ShoplensApp>, text: &str| {
        let node = h.root().children_recursive().find(|n| n.accesskit_node().label().is_some_and(|l| l.contains(text)));
        node.unwrap_or_else(|| panic!("nothing labelled '{text}'")).click_accesskit();
    };
    wait(&mut harness, "the window", &|_| true);
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Data").click_accesskit();
    wait(&mut harness, "the source", &|l| has(l, "shop  ·  "));
    click(&harness, "shop  ·  ");
    wait(&mut harness, "the source view", &|l| has(l, "Browse tables"));
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Browse tables").click_accesskit();
    let events = s.table("events");
    wait(&mut harness, "the server's tables", &|l| has(l, &events));
    click(&harness, &events);
    wait(&mut harness, "the table's buttons", &|l| has(l, "Run the Funnel on this table"));
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Run the Funnel on this table").click_accesskit();
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Funnel").click_accesskit();
    wait(&mut harness, "the funnel computed on the server", &|l| has(l, "Computed on the server:") && has(l, "Funnel (sessions)"));
    // The panel's step counts are the server run's.
    let cli = ok(&["funnel", &s.remote(), "--source", "shop", "--table", &events]);
    let first_step: u64 = cli.lines().nth(1).and_then(|l| l.split_whitespace().nth(2)).and_then(|n| n.parse().ok()).unwrap();
    let shown = shoplens::ui::widgets::number(first_step as f64, 0);
    wait(&mut harness, "the first step's count", &|l| has(l, &shown));
    assert!(labels(&harness).iter().any(|l| l.contains("the server: shop › ")), "the panel says where it computed");

    // The Overview on the order lines: its revenue is the CLI's server run's.
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Data").click_accesskit();
    let orders = s.table("online_retail");
    wait(&mut harness, "the server's tables again", &|l| has(l, &orders));
    click(&harness, &orders);
    wait(&mut harness, "the table's buttons", &|l| has(l, "Run the Overview and Segments on this table"));
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Run the Overview and Segments on this table").click_accesskit();
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Overview").click_accesskit();
    let cli = ok(&["overview", &s.remote(), "--source", "shop", "--table", &orders]);
    let revenue: f64 =
        cli.lines().find(|l| l.starts_with("revenue")).and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok()).unwrap();
    let shown = shoplens::ui::widgets::money(revenue);
    wait(&mut harness, "the Overview computed on the server", &|l| has(l, "Computed on the server:") && has(l, &shown));

    // Segments: the server's RFM, its customers per segment as the CLI's server run counts them.
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Segments").click_accesskit();
    let cli = ok(&["rfm", &s.remote(), "--source", "shop", "--table", &orders]);
    let champions: f64 =
        cli.lines().find(|l| l.starts_with("Champions,")).and_then(|l| l.split(',').nth(1)).and_then(|n| n.parse().ok()).unwrap();
    let shown = shoplens::ui::widgets::number(champions, 0);
    wait(&mut harness, "RFM computed on the server", &|l| has(l, "Computed on the server:") && has(l, "Champions") && has(l, &shown));
}
