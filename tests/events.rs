//! Funnel, abandonment and forecast against independent SQL over the same workspace, on the
//! REES46 samples in testdata and on generated events; the in-memory CSV reader against the
//! workspace copy; live mode with a writer process appending to a file.

use std::path::{Path, PathBuf};

use shoplens::analytics::carts::{self, CartSettings};
use shoplens::analytics::event_frame::{EventFrame, EventKind};
use shoplens::analytics::funnel::{self, CountBy, Dimension, FunnelSettings, Window};
use shoplens::analytics::{forecast, Filters};
use shoplens::import::{self, ImportOptions};
use shoplens::jobs::JobContext;
use shoplens::workspace::Workspace;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// A workspace with both REES46 samples and `generated` synthetic events.
fn workspace(generated: u64) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("events.shoplens")).unwrap();
    let mut files = vec![testdata("rees46_2019-Oct_head.csv"), testdata("rees46_cosmetics_2022-10_head.csv")];
    if generated > 0 {
        let file = dir.path().join("generated.csv");
        shoplens::generate::write_events(std::fs::File::create(&file).unwrap(), generated, 11).unwrap();
        files.push(file);
    }
    for file in files {
        import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    }
    (dir, ws)
}

fn count(ws: &Workspace, sql: &str) -> u64 {
    ws.conn().query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// The strict view → cart → purchase funnel in SQL: per unit, the first view, then the first
/// cart at or after it, then the first purchase at or after that. `unit` is the grouping
/// column(s); `window` an optional extra condition on a step's time `e.event_time` relative to
/// the first view `v.t0`.
fn sql_funnel(ws: &Workspace, unit: &str, window: &str) -> [u64; 3] {
    let sql = format!(
        "WITH v AS (SELECT {unit} AS u, min(event_time) AS t, min(event_time) AS t0 FROM events WHERE event_type = 'view' GROUP BY {unit}),
              c AS (SELECT v.u, min(e.event_time) AS t, v.t0 FROM v JOIN events e ON ({unit_e}) = v.u
                    WHERE e.event_type = 'cart' AND e.event_time >= v.t {window} GROUP BY v.u),
              p AS (SELECT c.u, min(e.event_time) AS t FROM c JOIN events e ON ({unit_e}) = c.u
                    WHERE e.event_type = 'purchase' AND e.event_time >= c.t {window_c} GROUP BY c.u)
         SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM c), (SELECT count(*) FROM p)",
        unit_e = unit.replace("user_session", "e.user_session").replace("user_id", "e.user_id").replace("brand", "e.brand"),
        window_c = window.replace("v.t0", "c.t0"),
    );
    ws.conn().query_row(&sql, [], |r| Ok([r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64])).unwrap()
}

fn counts(result: &funnel::FunnelResult) -> Vec<u64> {
    result.steps.iter().map(|s| s.count).collect()
}

#[test]
fn funnel_counts_equal_sql() {
    let (_dir, ws) = workspace(30_000);
    let frame = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
    assert_eq!(frame.len() as u64, count(&ws, "SELECT count(*) FROM events"));
    let ctx = JobContext::detached();

    // Sessions, strict, within the session.
    let settings = FunnelSettings { breakdown: Some(Dimension::Brand), ..FunnelSettings::default() };
    let result = funnel::compute(&frame, &Filters::default(), &settings, &ctx).unwrap();
    let want = sql_funnel(&ws, "user_session", "");
    assert_eq!(counts(&result), want);
    assert!(want[2] > 100, "the data must exercise every step: {want:?}");

    // The breakdown by brand: per (session, brand), as SQL groups it.
    let by_brand = sql_funnel(&ws, "user_session || '|' || coalesce(brand, '')", "");
    let total: Vec<u64> = (0..3).map(|k| result.breakdown.iter().map(|r| r.counts[k]).sum()).collect();
    assert_eq!(total, by_brand);

    // Users, strict, any time (a 1000-day window), and sessions with a one-hour window. SQL
    // times are text; julianday turns them into days.
    let users = FunnelSettings { count_by: CountBy::Users, window: Window::Hours(24_000), breakdown: None, ..FunnelSettings::default() };
    assert_eq!(counts(&funnel::compute(&frame, &Filters::default(), &users, &ctx).unwrap()), sql_funnel(&ws, "user_id", ""));
    let hour = FunnelSettings { window: Window::Hours(1), breakdown: None, ..FunnelSettings::default() };
    assert_eq!(
        counts(&funnel::compute(&frame, &Filters::default(), &hour, &ctx).unwrap()),
        sql_funnel(&ws, "user_session", "AND (julianday(e.event_time) - julianday(v.t0)) * 86400 <= 3600")
    );

    // Any order, sessions: step k counts sessions having all of the first k event types.
    let any = FunnelSettings { strict: false, breakdown: None, ..FunnelSettings::default() };
    let any_counts = counts(&funnel::compute(&frame, &Filters::default(), &any, &ctx).unwrap());
    let has = |types: &str| {
        count(
            &ws,
            &format!(
                "SELECT count(*) FROM (SELECT user_session FROM events WHERE event_type IN ({types}) GROUP BY user_session
                 HAVING count(DISTINCT event_type) = {})",
                types.split(',').count()
            ),
        )
    };
    assert_eq!(any_counts, [has("'view'"), has("'view','cart'"), has("'view','cart','purchase'")]);

    // Users counted within sessions: a user reaches a step if any of their sessions does.
    let users_in_sessions = FunnelSettings { count_by: CountBy::Users, breakdown: None, ..FunnelSettings::default() };
    let got = counts(&funnel::compute(&frame, &Filters::default(), &users_in_sessions, &ctx).unwrap());
    let sql = "WITH v AS (SELECT user_session AS s, user_id AS u, min(event_time) AS t FROM events WHERE event_type = 'view' GROUP BY 1, 2),
                    c AS (SELECT v.s, v.u, min(e.event_time) AS t FROM v JOIN events e ON e.user_session = v.s AND e.event_type = 'cart' AND e.event_time >= v.t GROUP BY 1, 2),
                    p AS (SELECT c.s, c.u FROM c JOIN events e ON e.user_session = c.s AND e.event_type = 'purchase' AND e.event_time >= c.t GROUP BY 1, 2)
               SELECT (SELECT count(DISTINCT u) FROM v), (SELECT count(DISTINCT u) FROM c), (SELECT count(DISTINCT u) FROM p)";
    let want: [u64; 3] =
        ws.conn().query_row(sql, [], |r| Ok([r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64])).unwrap();
    assert_eq!(got, want);

    // Custom steps including remove_from_cart (the cosmetics sample has them).
    let custom = FunnelSettings { steps: vec![EventKind::Cart, EventKind::RemoveFromCart], breakdown: None, ..FunnelSettings::default() };
    let got = counts(&funnel::compute(&frame, &Filters::default(), &custom, &ctx).unwrap());
    let sql = "WITH c AS (SELECT user_session AS s, min(event_time) AS t FROM events WHERE event_type = 'cart' GROUP BY 1)
               SELECT (SELECT count(*) FROM c), (SELECT count(DISTINCT c.s) FROM c JOIN events e ON e.user_session = c.s
                       AND e.event_type = 'remove_from_cart' AND e.event_time >= c.t)";
    let want: [u64; 2] = ws.conn().query_row(sql, [], |r| Ok([r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64])).unwrap();
    assert_eq!(got, want);
}

/// Reading the CSV straight into memory gives the same frame as importing it and loading the
/// workspace copy.
#[test]
fn csv_fast_path_equals_the_workspace_copy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.csv");
    shoplens::generate::write_events(std::fs::File::create(&file).unwrap(), 20_000, 5).unwrap();
    let mut ws = Workspace::open(&dir.path().join("w.shoplens")).unwrap();
    import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    let from_db = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
    let from_csv = EventFrame::from_rees46_csv(&file, &JobContext::detached()).unwrap();
    assert_eq!(from_csv.len(), from_db.len());
    let settings = FunnelSettings::default();
    let a = funnel::compute(&from_db, &Filters::default(), &settings, &JobContext::detached()).unwrap();
    let b = funnel::compute(&from_csv, &Filters::default(), &settings, &JobContext::detached()).unwrap();
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.breakdown, b.breakdown);
}

/// Abandonment on generated data (which never removes more than it added) against SQL: ended
/// sessions with a cart, and those without a purchase whose cart still holds something.
#[test]
fn abandonment_equals_sql() {
    let (_dir, ws) = workspace(30_000);
    let frame = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
    let settings = CartSettings::default();
    let result = carts::compute(&frame, &Filters::default(), &settings, None);
    let ended = "(julianday((SELECT max(event_time) FROM events)) - julianday(max(event_time))) * 86400 >= 1800";
    let carts_sql = format!(
        "SELECT count(*) FROM (SELECT user_session FROM events GROUP BY user_session HAVING sum(event_type = 'cart') > 0 AND {ended})"
    );
    let abandoned_sql = format!(
        "SELECT count(*) FROM (SELECT user_session FROM events GROUP BY user_session
           HAVING sum(event_type = 'purchase') = 0 AND {ended}
              AND user_session IN (SELECT user_session FROM events GROUP BY user_session, product_id
                                   HAVING sum(event_type = 'cart') - sum(event_type = 'remove_from_cart') > 0))"
    );
    assert_eq!(result.carts, count(&ws, &carts_sql));
    assert_eq!(result.abandoned, count(&ws, &abandoned_sql));
    assert!(result.abandoned > 50);
    // Every listed cart: user id and session present, contact 3 minutes after expiry.
    let (header, rows) = carts::retargeting_table(&frame, &result, &Default::default());
    assert_eq!(header[..4], ["user_id", "user_session", "expired_at", "contact_by"]);
    assert_eq!(rows.len() as u64, result.abandoned);
    assert!(rows.iter().all(|r| !r[0].is_empty() && !r[1].is_empty()));
}

#[test]
fn forecast_backtest_is_reported_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.csv");
    shoplens::generate::write_events(std::fs::File::create(&file).unwrap(), 150_000, 3).unwrap();
    let frame = EventFrame::from_rees46_csv(&file, &JobContext::detached()).unwrap();
    let result = forecast::compute(&frame, &Filters::default(), &Default::default()).unwrap();
    let backtest = result.backtest.as_ref().expect("a month of data is enough for a backtest");
    // The naive error recomputed by hand from daily purchases: |week 1 − week 0| per product.
    assert!(backtest.products > 100);
    assert!(backtest.model_mae.is_finite() && backtest.naive_mae > 0.0);
    assert_eq!(result.note.is_some(), !backtest.model_wins(), "a losing model must be said to lose");
    assert!(result.products.iter().all(|p| p.forecast >= 0.0));

    // Too little history: a note, no numbers.
    let short = EventFrame::from_rees46_csv(&testdata("rees46_2019-Oct_head.csv"), &JobContext::detached()).unwrap();
    let result = forecast::compute(&short, &Filters::default(), &Default::default()).unwrap();
    assert!(result.backtest.is_none() && result.products.is_empty());
    assert!(result.note.unwrap().contains("at least 3 full weeks"));
}

/// An export that holds only some days (REES46's cosmetics files: weeks without a single
/// event). Hand-checked: the empty weeks are named, never counted as zero sales; the backtest
/// moves to the newest week with two weeks of events before it, and its naive error is
/// |week 5 − week 4| per product counted here from the rows written; without the last two
/// weeks no forecast is made, and the product table's names label the products.
#[test]
fn gaps_in_the_history_are_named_and_never_counted_as_zero_sales() {
    use chrono::{Duration, NaiveDate};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gappy.csv");
    let header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n";
    // `text` leaves out weeks 1 to 3; `whole` has every day.
    let (mut text, mut whole) = (String::from(header), String::from(header));
    let first = NaiveDate::from_ymd_opt(2022, 10, 1).unwrap();
    let last_day = 62; // day index of the last day: 9 weeks of days 0..=62
    let week_of = |day: i64| ((last_day - day) / 7) as usize;
    let mut purchases = [[0u32; 9]; 12];
    for day in 0..=last_day {
        let week = week_of(day);
        let gap = (1..=3).contains(&week);
        let date = first + Duration::days(day);
        for product in 0..12i64 {
            let bought = (product + day) % 3 == 0 || (product < 4 && day % 2 == 0);
            for (i, kind) in ["view", "view", "cart", "purchase"].iter().enumerate() {
                if *kind == "purchase" && !bought {
                    continue;
                }
                let line = format!("{date} 10:0{i}:00 UTC,{kind},{},1,a.b,acme,5.00,{},s{day}-{product}\n", 1000 + product, 500 + product);
                whole += &line;
                if !gap {
                    text += &line;
                }
            }
            if bought && !gap {
                purchases[product as usize][week] += 1;
            }
        }
    }
    std::fs::write(&file, text).unwrap();
    let frame = EventFrame::from_rees46_csv(&file, &JobContext::detached()).unwrap();
    let names: forecast::ProductNames = [(1000, "Lip balm".to_string())].into_iter().collect();
    let result = forecast::compute(&frame, &Filters::default(), &names).unwrap();
    assert_eq!(result.gaps, [1, 2, 3]);
    let backtest = result.backtest.as_ref().expect("weeks 4 to 7 have events: week 4 is tested");
    assert_eq!(backtest.week, 4);
    let naive: f64 = purchases.iter().map(|w| (f64::from(w[5]) - f64::from(w[4])).abs()).sum::<f64>() / 12.0;
    assert!((backtest.naive_mae - naive).abs() < 1e-12, "{} vs {naive}", backtest.naive_mae);
    assert!(result.products.is_empty(), "week 1 is a gap: no forecast from it");
    let note = result.note.unwrap();
    assert!(note.contains("gaps") && note.contains("No forecast"), "{note}");

    // Every day written: no gap, a forecast, named where the table names the product.
    let every_day = dir.path().join("whole.csv");
    std::fs::write(&every_day, whole).unwrap();
    let frame = EventFrame::from_rees46_csv(&every_day, &JobContext::detached()).unwrap();
    let result = forecast::compute(&frame, &Filters::default(), &names).unwrap();
    assert!(result.gaps.is_empty() && !result.products.is_empty(), "{:?}", result.note);
    for p in &result.products {
        let id = frame.products[p.product as usize].id;
        assert_eq!(p.name.as_deref(), (id == 1000).then_some("Lip balm"), "product {id}");
    }
    let (header, rows) = forecast::forecast_table(&frame, &result);
    assert_eq!(header[..2], ["product_id", "name"]);
    assert!(rows.iter().any(|r| r[0] == "1000" && r[1] == "Lip balm"));
}

/// Lines a child process prints, read on a helper thread so the test can wait for a line with
/// a deadline instead of sleeping a fixed time.
struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn of(stdout: std::process::ChildStdout) -> Self {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { rx, seen: Vec::new() }
    }

    /// Waits (at most 30 s) for a line equal to or starting with `wanted`.
    fn wait_for(&mut self, wanted: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(wanted)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line '{wanted}' within 30 s; the watcher printed:\n{}", self.seen.join("\n")),
            }
        }
    }
}

/// Live mode: events are appended to a file (with a partial line and an impossible time) while
/// `shoplens watch` runs. Each step waits for the watcher to report it, and the rows appended and
/// rejected are counted exactly: a complete line loads, a partial line waits for its end, a bad
/// line is rejected with its reason, an abandoned cart appears after its (short) expiry.
#[test]
fn watch_follows_a_growing_file() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.csv");
    let ws = dir.path().join("live.shoplens");
    std::fs::write(&file, "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n").unwrap();
    let mut watcher = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["watch", &ws.display().to_string(), &file.display().to_string(), "--interval", "0.2", "--expiry", "0.05", "--seconds", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Lines::of(watcher.stdout.take().unwrap());
    lines.wait_for("watching ");
    let now = || chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = std::fs::OpenOptions::new().append(true).open(&file).unwrap();

    // A buyer, and the first half of a line.
    // One write each, so the watcher sees all of it or none of it.
    let first =
        format!("{},view,42,1,a.b,acme,9.50,1,buyer\n{},purchase,42,1,a.b,acme,9.50,1,buyer\n{},cart,77,1,a.c,zed,", now(), now(), now());
    out.write_all(first.as_bytes()).unwrap();
    assert_eq!(lines.wait_for("+"), "+2 events (0 rejected), 2 in the workspace", "the partial line waits");
    lines.wait_for("sold: product 42: 1 purchases (+1)");

    // The rest of the line, and a line whose date does not exist.
    out.write_all(b"120.00,2,leaver\n2019-02-31 10:00:00 UTC,view,42,1,a.b,acme,9.50,3,impossible\n").unwrap();
    lines.wait_for("+1 events (1 rejected), 3 in the workspace");
    let abandoned = lines.wait_for("abandoned: user 2 session leaver");
    assert!(abandoned.contains("offer 10% coupon"), "{abandoned}");
    watcher.kill().unwrap();
    watcher.wait().unwrap();

    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let events: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
    assert_eq!(events, 3);
    let (rejects, reason): (i64, String) =
        conn.query_row("SELECT count(*), max(reason) FROM rejects", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(rejects, 1);
    assert!(reason.contains("event_time"), "{reason}");
}

/// Live mode's incremental copy (only rows added since, read by rowid) equals a fresh load.
/// Live mode's append, against the copy read again from the workspace (whose funnel is checked
/// against SQL above): the same copy, the same funnel whether computed again or updated from
/// the funnel before the append, and the same carts.
#[test]
fn extending_the_copy_equals_reloading_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w.shoplens")).unwrap();
    let first = dir.path().join("a.csv");
    shoplens::generate::write_events(std::fs::File::create(&first).unwrap(), 8_000, 1).unwrap();
    import::import_file(&mut ws, &first, &ImportOptions::default(), &JobContext::detached()).unwrap();
    let before = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
    // New rows: a second file (new sessions), the cosmetics sample (other users, no brands) and
    // the first file's last lines again (events of sessions the copy has, as live mode sees).
    let second = dir.path().join("b.csv");
    shoplens::generate::write_events(std::fs::File::create(&second).unwrap(), 3_000, 2).unwrap();
    let again = dir.path().join("c.csv");
    let text = std::fs::read_to_string(&first).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&again, format!("{}\n{}\n", lines[0], lines[lines.len() - 400..].join("\n"))).unwrap();
    for file in [second, testdata("rees46_cosmetics_2022-10_head.csv"), again] {
        import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    }
    let ctx = JobContext::detached();
    let (extended, appended) = shoplens::workspace::copies::extend_events(&before, None, ws.conn(), &ctx).unwrap().unwrap();
    let fresh = shoplens::workspace::copies::load_events(ws.conn(), &ctx).unwrap();
    assert_eq!(extended.len(), fresh.len());
    assert_eq!(extended.session_count(), fresh.session_count());
    assert_eq!(extended.workspace_rowid, fresh.workspace_rowid);
    assert!(appended.touched.len() > 20, "the repeated lines land in sessions the copy has");
    assert_eq!(appended.new_sessions.end, fresh.session_count());
    let october = Filters {
        from: chrono::NaiveDate::from_ymd_opt(2019, 10, 2),
        to: chrono::NaiveDate::from_ymd_opt(2019, 10, 20),
        country: None,
        ..Default::default()
    };
    let mut settings = vec![FunnelSettings::default(), FunnelSettings { strict: false, window: Window::Hours(2), ..Default::default() }];
    for breakdown in [Some(Dimension::Brand), Some(Dimension::Product), Some(Dimension::Category), Some(Dimension::PriceBand), None] {
        settings.push(FunnelSettings { breakdown, ..FunnelSettings::default() });
    }
    settings.push(FunnelSettings { steps: vec![EventKind::View, EventKind::Cart, EventKind::RemoveFromCart], ..Default::default() });
    for filters in [Filters::default(), october] {
        for settings in &settings {
            let a = funnel::compute(&extended, &filters, settings, &ctx).unwrap();
            let b = funnel::compute(&fresh, &filters, settings, &ctx).unwrap();
            assert_eq!(a, b, "{settings:?}");
            let previous = funnel::compute(&before, &filters, settings, &ctx).unwrap();
            let updated = funnel::update(&previous, &before, &extended, &appended, &filters, &ctx).unwrap().unwrap();
            assert_eq!(updated, a, "{settings:?} {filters:?}");
        }
    }
    // Counting users, a funnel spans sessions: computed again, not updated.
    let users = FunnelSettings { count_by: CountBy::Users, ..FunnelSettings::default() };
    let previous = funnel::compute(&before, &Filters::default(), &users, &ctx).unwrap();
    assert!(funnel::update(&previous, &before, &extended, &appended, &Filters::default(), &ctx).unwrap().is_none());
    let carts_a = carts::compute(&extended, &Filters::default(), &CartSettings::default(), None);
    let carts_b = carts::compute(&fresh, &Filters::default(), &CartSettings::default(), None);
    assert_eq!(carts_a, carts_b);
    // A copy read from a file (not the workspace) cannot be extended; it is reloaded instead.
    assert!(shoplens::workspace::copies::extend_events(&EventFrame::from_rees46_csv(&first, &ctx).unwrap(), None, ws.conn(), &ctx)
        .unwrap()
        .is_none());
}

/// The forecast's Poisson regression against an independent fitter: statsmodels'
/// `GLM(family=Poisson())` (IRLS) on a committed fixture
/// (testdata/reference/make_poisson_reference.py). The maximum-likelihood coefficients agree to
/// 1e-4; the forecast's small ridge penalty moves none by more than 1% of its standard error.
#[test]
fn poisson_regression_agrees_with_statsmodels() {
    let read = |name: &str| {
        let mut reader = csv::Reader::from_path(testdata(&format!("reference/{name}"))).unwrap();
        reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<String>>()).collect::<Vec<_>>()
    };
    let fixture = read("poisson_fixture.csv");
    assert_eq!(fixture.len(), 400);
    let rows: Vec<[f64; forecast::FEATURES]> = fixture.iter().map(|r| std::array::from_fn(|i| r[i].parse::<f64>().unwrap())).collect();
    let targets: Vec<f64> = fixture.iter().map(|r| r[forecast::FEATURES].parse().unwrap()).collect();
    let ours = forecast::fit_poisson(&rows, &targets, 0.0).unwrap();
    let reference = read("poisson_statsmodels.csv");
    let coefficients: Vec<(String, f64, f64)> = reference
        .iter()
        .filter(|r| r[0] != "log_likelihood")
        .map(|r| (r[0].clone(), r[1].parse().unwrap(), r[2].parse().unwrap()))
        .collect();
    assert_eq!(coefficients.len(), ours.len());
    for ((name, want, _), got) in coefficients.iter().zip(&ours) {
        assert!((got - want).abs() < 1e-4, "{name}: ours {got}, statsmodels {want}");
    }
    let ridged = forecast::fit_poisson(&rows, &targets, forecast::RIDGE).unwrap();
    for ((name, _, std_err), (plain, ridge)) in coefficients.iter().zip(ours.iter().zip(&ridged)) {
        assert!((plain - ridge).abs() < 0.01 * std_err, "{name}: the ridge moved it from {plain} to {ridge} (s.e. {std_err})");
    }
}

/// Events that say how many units they are about (a wholesale shop's export, with GA4-style
/// product names). Hand-checked: session s1 carts 48 of A at 2.10 and 12 of B at 0.42 and never
/// buys: 100.80 + 5.04 = 105.84 left; s2 carts 6 of A and buys them; the quantities 0 and 2.5
/// are rejected with a reason, an empty one is one unit. The copy from SQLite, the one read
/// straight from the CSV and the one read back from the cache agree, and the value left equals
/// the same sum in SQL.
#[test]
fn quantities_and_names_in_events_are_loaded_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("units.csv");
    std::fs::write(
        &file,
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session,quantity,product_name\n\
         2010-12-01 09:00:00 UTC,view,85123001,,home.decor,,2.10,1,s1,,WHITE HANGING HEART T-LIGHT HOLDER\n\
         2010-12-01 09:01:00 UTC,cart,85123001,,home.decor,,2.10,1,s1,48,WHITE HANGING HEART T-LIGHT HOLDER\n\
         2010-12-01 09:02:00 UTC,cart,22028000,,stationery,,0.42,1,s1,12,\"PENNY FARTHING BIRTHDAY CARD, BLUE\"\n\
         2010-12-01 10:00:00 UTC,cart,85123001,,home.decor,,2.10,2,s2,6,WHITE HANGING HEART T-LIGHT HOLDER\n\
         2010-12-01 10:01:00 UTC,purchase,85123001,,home.decor,,2.10,2,s2,6,WHITE HANGING HEART T-LIGHT HOLDER\n\
         2010-12-01 10:02:00 UTC,cart,22028000,,stationery,,0.42,2,s2,0,\"PENNY FARTHING BIRTHDAY CARD, BLUE\"\n\
         2010-12-01 10:03:00 UTC,cart,22028000,,stationery,,0.42,2,s2,2.5,\"PENNY FARTHING BIRTHDAY CARD, BLUE\"\n\
         2010-12-02 12:00:00 UTC,view,22028000,,stationery,,0.42,3,s3,,\n",
    )
    .unwrap();
    let path = dir.path().join("w.shoplens");
    let mut ws = Workspace::open(&path).unwrap();
    let outcome = import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    assert_eq!((outcome.report.rows_loaded, outcome.report.rows_rejected), (6, 2));
    let reasons: Vec<String> = {
        let mut stmt = ws.conn().prepare("SELECT reason FROM rejects ORDER BY line").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(reasons[0].contains("quantity") && reasons[0].contains("units"), "{reasons:?}");
    assert!(reasons[1].contains("not a whole number"), "{reasons:?}");
    assert_eq!(count(&ws, "SELECT count(*) FROM events WHERE quantity IS NULL"), 2, "views without a quantity load as NULL (one unit)");

    let frame = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
    let result = carts::compute(&frame, &Filters::default(), &CartSettings::default(), None);
    assert_eq!((result.carts, result.abandoned), (2, 1));
    assert!((result.value_left - 105.84).abs() < 1e-4, "{}", result.value_left);
    let sql_left: f64 = ws
        .conn()
        .query_row(
            "SELECT sum(price * coalesce(quantity, 1)) FROM events WHERE event_type = 'cart'
               AND user_session NOT IN (SELECT user_session FROM events WHERE event_type = 'purchase')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!((result.value_left - sql_left).abs() < 1e-4, "{} vs SQL {sql_left}", result.value_left);

    // Names come from the events themselves; the retargeting list shows them with the units.
    let names = shoplens::workspace::copies::product_names(ws.conn(), &JobContext::detached()).unwrap();
    assert_eq!(names.get(&22028000).map(String::as_str), Some("PENNY FARTHING BIRTHDAY CARD, BLUE"));
    let (_, rows) = carts::retargeting_table(&frame, &result, &names);
    assert_eq!(
        rows[0][4],
        "WHITE HANGING HEART T-LIGHT HOLDER #85123001 (2.10 x48); PENNY FARTHING BIRTHDAY CARD, BLUE #22028000 (0.42 x12)"
    );

    // The same file read straight into memory skips the same two rows and agrees; so does the cache.
    let from_csv = EventFrame::from_rees46_csv(&file, &JobContext::detached()).unwrap();
    let units = |f: &EventFrame| -> Vec<(i64, i64, u32)> {
        let mut v: Vec<_> = (0..f.len()).map(|r| (f.time[r], f.products[f.product[r] as usize].id, f.quantity.get(r))).collect();
        v.sort();
        v
    };
    assert_eq!(units(&from_csv), units(&frame));
    drop(ws);
    let (first, pending) = shoplens::workspace::cache::load_events(&path, &JobContext::detached()).unwrap().into_frame(&path);
    pending.expect("a first read saves the cache").events(&first).unwrap();
    let cached = shoplens::workspace::cache::load_events(&path, &JobContext::detached()).unwrap();
    assert!(matches!(cached.origin, shoplens::workspace::cache::Origin::Cache));
    assert_eq!(cached.frame.quantity, frame.quantity);
    assert!(!cached.frame.quantity.all_one());
}
