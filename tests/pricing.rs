//! The Pricing panel's analyses against independent references: the monitor's figures and the
//! price-change signals against the same questions asked in SQL over the same workspace, the
//! generator's planted competitor drops recovered, and the CLI's documented columns.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use shoplens::analytics::pricing::{self, PricingSettings, SignalKind};
use shoplens::import::{self, ImportOptions};
use shoplens::jobs::JobContext;
use shoplens::workspace::Workspace;

/// A workspace with the generator's catalogue, our prices and competitor prices.
fn workspace(products: usize, days: i64) -> (tempfile::TempDir, Workspace, shoplens::generate::PlantedPricing) {
    let dir = tempfile::tempdir().unwrap();
    let planted = shoplens::generate::write_pricing(dir.path(), products, days, 7).unwrap();
    let mut ws = Workspace::open(&dir.path().join("pricing.shoplens")).unwrap();
    for (file, kind) in
        [("catalogue.csv", "catalogue"), ("our_prices.csv", "our_price_history"), ("competitor_prices.csv", "competitor_prices")]
    {
        let out = import::import_file(&mut ws, &dir.path().join(file), &ImportOptions::default(), &JobContext::detached()).unwrap();
        assert_eq!(out.kind, kind, "{file} is recognised from its header");
        assert_eq!(out.report.rows_rejected, 0, "{file}");
    }
    // The feed states GBP; ours are said to be GBP too (else they are not compared).
    let currency = shoplens::workspace::settings::OUR_CURRENCY;
    shoplens::workspace::settings::save_pricing_setting(ws.conn(), currency, &Some("GBP")).unwrap();
    (dir, ws, planted)
}

fn seconds(text: &str) -> i64 {
    shoplens::timestamp::parse_time(text).unwrap().epoch_seconds()
}

/// Reference: SQL. The latest observation per product and competitor, our price as of the last
/// observation, the market (fresh, in stock) mean and the index, and the rank.
#[test]
fn monitor_figures_equal_sql() {
    let (_dir, ws, _) = workspace(60, 120);
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    let settings = PricingSettings::default();
    let monitor = pricing::monitor(&data, &settings, None);
    let as_of: String = ws.conn().query_row("SELECT max(observed_at) FROM competitor_prices", [], |r| r.get(0)).unwrap();
    assert_eq!(pricing::format_time(monitor.as_of), as_of);
    let sql = "
        WITH latest AS (
            SELECT product_id, competitor, price, in_stock, observed_at,
                   row_number() OVER (PARTITION BY product_id, competitor ORDER BY observed_at DESC, rowid DESC) AS n
            FROM competitor_prices WHERE observed_at <= ?1),
        market AS (
            SELECT product_id, price FROM latest
            WHERE n = 1 AND coalesce(in_stock, 1) = 1 AND julianday(?1) - julianday(observed_at) <= 14),
        ours AS (
            SELECT product_id, price FROM (
                SELECT product_id, price, row_number() OVER (PARTITION BY product_id ORDER BY valid_from DESC, rowid DESC) AS n
                FROM our_prices WHERE valid_from <= ?1) WHERE n = 1)
        SELECT o.product_id, o.price, avg(m.price), min(m.price), count(m.price),
               o.price / avg(m.price) * 100, 1 + sum(m.price < o.price)
        FROM ours o JOIN market m USING (product_id) GROUP BY o.product_id ORDER BY o.product_id";
    let mut statement = ws.conn().prepare(sql).unwrap();
    let expected: Vec<(String, f64, f64, f64, i64, f64, i64)> = statement
        .query_map([&as_of], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(expected.len() > 50, "most products are compared: {}", expected.len());
    let by_id: HashMap<&str, &pricing::Position> =
        monitor.positions.iter().map(|p| (data.products[p.product as usize].id.as_str(), p)).collect();
    for (id, ours, mean, cheapest, sellers, index, rank) in &expected {
        let p = by_id[id.as_str()];
        assert_eq!(p.ours, Some(*ours), "{id}");
        assert!((p.market_mean.unwrap() - mean).abs() < 1e-9, "{id}");
        assert_eq!(p.cheapest.map(|c| c.1), Some(*cheapest), "{id}");
        assert_eq!(p.sellers as i64, sellers + 1, "{id}");
        assert!((p.index.unwrap() - index).abs() < 1e-9, "{id}");
        assert_eq!(p.rank, Some(*rank as usize), "{id}");
    }
    assert_eq!(monitor.positions.iter().filter(|p| p.index.is_some()).count(), expected.len());
}

/// Reference: SQL with LAG. Drops and rises are changes against the series' previous
/// observation; our own changes against our previous price.
#[test]
fn price_change_signals_equal_sql() {
    let (_dir, ws, _) = workspace(60, 120);
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    let signals = pricing::signals(&data, &PricingSettings::default(), None);
    let ours = |kind: SignalKind| -> Vec<(String, String, String)> {
        let mut v: Vec<(String, String, String)> = signals
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| {
                (
                    data.products[s.product as usize].id.clone(),
                    s.competitor.map_or_else(String::new, |c| data.competitors[c as usize].clone()),
                    pricing::format_time(s.at),
                )
            })
            .collect();
        v.sort();
        v
    };
    let sql = |condition: &str, table: &str, competitor: &str, time: &str| -> Vec<(String, String, String)> {
        let query = format!(
            "SELECT product_id, {competitor}, {time} FROM (
                 SELECT *, lag(price) OVER (PARTITION BY product_id{partition} ORDER BY {time}, rowid) AS previous FROM {table})
             WHERE previous IS NOT NULL AND {condition} ORDER BY 1, 2, 3",
            partition = if competitor == "''" { String::new() } else { format!(", {competitor}") }
        );
        ws.conn().prepare(&query).unwrap().query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let drops = sql("price / previous - 1 <= -0.15", "competitor_prices", "competitor", "observed_at");
    assert!(drops.len() > 3, "the generator plants drops: {drops:?}");
    assert_eq!(ours(SignalKind::CompetitorDrop), drops);
    assert_eq!(ours(SignalKind::CompetitorRise), sql("price / previous - 1 >= 0.15", "competitor_prices", "competitor", "observed_at"));
    let own = sql("abs(price / previous - 1) >= 0.10", "our_prices", "''", "valid_from");
    assert!(!own.is_empty());
    assert_eq!(ours(SignalKind::OwnChange), own);
    let low: Vec<(String, String, String)> = ws
        .conn()
        .prepare("SELECT product_id FROM products WHERE stock < 10 ORDER BY product_id")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|id| (id.unwrap(), String::new(), pricing::format_time(data.last_time().unwrap())))
        .collect();
    assert_eq!(ours(SignalKind::LowStock), low);
}

/// Self-consistency with the generator: every planted drop is signalled within three days of its
/// start (a scraper misses days), and no other drop is (the series are flat with ±1% noise).
#[test]
fn planted_drops_are_signalled_and_flat_noisy_series_are_not() {
    let (_dir, ws, planted) = workspace(120, 150);
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    let drops: Vec<_> =
        pricing::signals(&data, &PricingSettings::default(), None).into_iter().filter(|s| s.kind == SignalKind::CompetitorDrop).collect();
    let start = seconds(&format!("{} 00:00:00", planted.start));
    assert!(planted.drops.len() >= 10, "{}", planted.drops.len());
    for (product, competitor, day, _) in &planted.drops {
        let found = drops.iter().any(|s| {
            data.products[s.product as usize].id == *product
                && s.competitor.map(|c| data.competitors[c as usize].as_str()) == Some(competitor.as_str())
                && (0..=3).contains(&((s.at - start) / 86_400 - day))
        });
        assert!(found, "planted drop {product} {competitor} day {day} not signalled");
    }
    assert_eq!(drops.len(), planted.drops.len(), "no drop signal without a planted drop");
}

fn shoplens_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

/// The CLI writes the documented columns; scripts depend on them.
#[test]
fn pricing_commands_write_the_documented_columns() {
    let (dir, ws, _) = workspace(20, 60);
    let w = ws.path().display().to_string();
    drop(ws);
    let signals = dir.path().join("signals.csv");
    let out = shoplens_cli(&["pricing", "signals", &w, "--out", &signals.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&signals).unwrap();
    assert!(text.starts_with("signal,product_id,competitor,at,before,after,change,severity\n"), "{text}");
    let monitor = dir.path().join("monitor.csv");
    let out = shoplens_cli(&["pricing", "monitor", &w, "--vs", "Contoso", "--out", &monitor.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("price index"));
    let text = std::fs::read_to_string(&monitor).unwrap();
    assert!(text.starts_with("product_id,name,category,brand,our_price,cheapest_competitor,cheapest_price,market_mean,price_index,rank,sellers,gap_to_cheapest_pct,competitors_observed\n"));
    assert_eq!(text.lines().count(), 21);
    let out = shoplens_cli(&["pricing", "monitor", &w, "--vs", "Nobody"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no competitor 'Nobody'"));
}

/// Reference: statsmodels' GLM(family=Poisson()), `units ~ log(price) + C(weekday)` (+ `C(month)`
/// for the two-year product E8), plain and quasi-Poisson (`scale="X2"`), on a committed fixture
/// (testdata/reference/make_elasticity_reference.py). E7 never sells on Sundays: statsmodels
/// walks that coefficient toward minus infinity; ours leaves those days out and reaches the
/// same elasticity. Estimates, both standard errors and the interval agree to 1e-4.
#[test]
fn elasticity_equals_statsmodels_on_a_fixture() {
    use shoplens::analytics::elasticity::{fit, Grain, SalesDay};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/reference");
    let mut days: HashMap<String, Vec<SalesDay>> = HashMap::new();
    for record in csv::Reader::from_path(root.join("elasticity_fixture.csv")).unwrap().records() {
        let r = record.unwrap();
        let day = seconds(&format!("{} 00:00:00", &r[1])) / 86_400;
        days.entry(r[0].to_string()).or_default().push(SalesDay { day, price: r[2].parse().unwrap(), units: r[3].parse().unwrap() });
    }
    let checked = compare_with_statsmodels(&root.join("elasticity_statsmodels.csv"), |id| fit(&days[id], Grain::Day).unwrap());
    assert_eq!(checked, 8);
    let e8 = fit(&days["E8"], Grain::Day).unwrap();
    assert!(e8.seasonal, "two years of history: month of year in the model");
    let (low, high) = e8.interval();
    assert!(low < -1.0 && -1.0 < high, "the Christmas peak is not read as price response: {low}..{high}");
}

/// Compares our fits with a reference file of statsmodels' (elasticity, std_err,
/// quasi_std_err, ci_low, ci_high) per product; returns how many rows it checked.
fn compare_with_statsmodels(reference: &Path, ours: impl Fn(&str) -> shoplens::analytics::elasticity::Fit) -> usize {
    let mut checked = 0;
    for record in csv::Reader::from_path(reference).unwrap().records() {
        let r = record.unwrap();
        let want: Vec<f64> = (1..6).map(|i| r[i].parse().unwrap()).collect();
        let got = ours(&r[0]);
        let (low, high) = got.interval();
        for (name, g, w) in [
            ("elasticity", got.elasticity, want[0]),
            ("std_err", got.poisson_standard_error, want[1]),
            ("quasi_std_err", got.standard_error, want[2]),
            ("ci_low", low, want[3]),
            ("ci_high", high, want[4]),
        ] {
            assert!((g - w).abs() < 1e-4, "{} {name}: {g} vs statsmodels {w}", &r[0]);
        }
        checked += 1;
    }
    checked
}

/// Monthly totals (the Kaggle retail-price layout: qty per product and month) are fitted per
/// month, not as one day of sales and 29 of zeros. Reference: statsmodels,
/// `qty ~ log(unit_price)` per product on the committed excerpt, plain and quasi-Poisson; then
/// the same through the importer and `pricing elasticity --out`, whose verdicts follow the rule
/// applied to the reference's standard errors and whose every row says why.
#[test]
fn monthly_totals_are_fitted_per_month_like_statsmodels() {
    use shoplens::analytics::elasticity::{fit, Grain, SalesDay};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let excerpt = root.join("kaggle_retail_price_excerpt.csv");
    let month_first = |text: &str| -> i64 {
        let (d, rest) = text.split_once('-').unwrap();
        let (m, y) = rest.split_once('-').unwrap();
        seconds(&format!("{y}-{m}-{d} 00:00:00")) / 86_400
    };
    let mut months: HashMap<String, Vec<SalesDay>> = HashMap::new();
    let mut orders = String::from("invoice,stock_code,quantity,invoice_date,unit_price,customer_id\n");
    let mut reader = csv::Reader::from_path(&excerpt).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, month, qty, price) = (column("product_id"), column("month_year"), column("qty"), column("unit_price"));
    for record in reader.records() {
        let r = record.unwrap();
        let day = month_first(&r[month]);
        months.entry(r[id].to_string()).or_default().push(SalesDay {
            day,
            price: r[price].parse().unwrap(),
            units: r[qty].parse().unwrap(),
        });
        let date = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap().format("%Y-%m-%d");
        orders += &format!("{}-{date},{},{},{date} 00:00:00,{},C1\n", &r[id], &r[id], &r[qty], &r[price]);
    }
    for series in months.values_mut() {
        series.sort_by_key(|d| d.day);
    }
    let reference = root.join("reference/elasticity_monthly_statsmodels.csv");
    assert_eq!(compare_with_statsmodels(&reference, |id| fit(&months[id], Grain::Month).unwrap()), 4);

    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("k.shoplens");
    let orders_file = dir.path().join("orders.csv");
    std::fs::write(&orders_file, orders).unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).env("SHOPLENS_CONFIG_DIR", dir.path()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    cli(&["import", &excerpt.display().to_string(), "--workspace", &ws.display().to_string()]);
    cli(&["import", &orders_file.display().to_string(), "--workspace", &ws.display().to_string(), "--kind", "order_lines"]);
    // Our catalogue names the products and their categories (sales are read for catalogue
    // products).
    let catalogue = dir.path().join("catalogue.csv");
    let categories: std::collections::BTreeSet<String> = csv::Reader::from_path(&excerpt)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .map(|r| format!("{},{}\n", &r[id], &r[column("product_category_name")]))
        .collect();
    std::fs::write(&catalogue, format!("product_id,category\n{}", categories.into_iter().collect::<String>())).unwrap();
    cli(&["import", &catalogue.display().to_string(), "--workspace", &ws.display().to_string()]);
    let out_file = dir.path().join("elasticity.csv");
    cli(&["pricing", "elasticity", &ws.display().to_string(), "--out", &out_file.display().to_string()]);
    let mut reader = csv::Reader::from_path(&out_file).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["product_id", "elasticity", "ci_low", "ci_high", "verdict", "reason"]
    );
    let ours: HashMap<String, csv::StringRecord> = reader.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), r)).collect();
    for record in csv::Reader::from_path(&reference).unwrap().records() {
        let r = record.unwrap();
        let quasi: f64 = r[3].parse().unwrap();
        // The rule on the reference fit: identified within a standard error of 0.5; above it,
        // pooled only with three identified products in the category (none here).
        let verdict = if quasi <= 0.5 { "identified" } else { "not identified" };
        let row = &ours[&r[0]];
        assert_eq!(&row[4], verdict, "{}: {row:?}", &r[0]);
        assert!(!row[5].is_empty(), "every verdict has a reason: {row:?}");
    }
    assert!(ours.values().all(|r| !r[5].is_empty()));
}

/// Pooling within a category: the between-product variance and the random-effects mean equal
/// statsmodels' `combine_effects(method_re="dl")` on five estimates; the shrunk estimate of an
/// uncertain product is hand-checked from them (Morris 1983: B = se²/(se² + τ²)).
#[test]
fn pooling_equals_statsmodels_random_effects() {
    use shoplens::analytics::elasticity::{pool, shrink};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/reference/elasticity_pooling_statsmodels.csv");
    let row = csv::Reader::from_path(path).unwrap().records().next().unwrap().unwrap();
    let numbers = |text: &str| text.split(' ').map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>();
    let pairs: Vec<(f64, f64)> = numbers(&row[0]).into_iter().zip(numbers(&row[1])).collect();
    let pooled = pool(&pairs).unwrap();
    for (name, got, want) in [
        ("tau2", pooled.between_variance, row[2].parse::<f64>().unwrap()),
        ("mean", pooled.mean, row[3].parse().unwrap()),
        ("variance of the mean", pooled.mean_variance, row[4].parse().unwrap()),
    ] {
        assert!((got - want).abs() < 1e-9, "{name}: {got} vs statsmodels {want}");
    }
    // An own estimate −4 ± se 1: B = 1/(1 + τ²); the interval is wider than the mean's alone.
    let (estimate, se) = shrink((-4.0, 1.0), &pooled);
    let b = 1.0 / (1.0 + pooled.between_variance);
    assert!((estimate - (b * pooled.mean + (1.0 - b) * -4.0)).abs() < 1e-12);
    assert!((se.powi(2) - ((1.0 - b) + b * b * pooled.mean_variance)).abs() < 1e-12);
    assert!(se > pooled.mean_variance.sqrt());
}

/// Self-consistency with the generator: the estimates recover the planted elasticities. The
/// median absolute error is printed (run with --nocapture) and bounded.
#[test]
fn planted_elasticities_are_recovered() {
    use shoplens::analytics::elasticity::{self, Verdict};
    let (dir, mut ws, planted) = workspace(150, 180);
    let out = import::import_file(&mut ws, &dir.path().join("orders.csv"), &ImportOptions::default(), &JobContext::detached()).unwrap();
    assert_eq!(out.report.rows_rejected, 0);
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    let estimates = elasticity::estimate(&elasticity::product_sales(&data));
    let planted: HashMap<&str, f64> = planted.elasticities.iter().map(|(id, e)| (id.as_str(), *e)).collect();
    let mut errors: Vec<f64> = estimates
        .iter()
        .filter(|e| e.verdict == Verdict::Identified)
        .map(|e| (e.elasticity.unwrap() - planted[data.products[e.product as usize].id.as_str()]).abs())
        .collect();
    errors.sort_by(f64::total_cmp);
    let identified = errors.len();
    let median = errors[identified / 2];
    eprintln!("{identified} of {} products identified; median absolute error {median:.3}", estimates.len());
    assert!(identified * 2 > estimates.len(), "most products are identified: {identified}");
    assert!(median < 0.3, "median absolute error {median}");
    // Every estimate says what it is; an unidentified one shows no elasticity.
    for e in &estimates {
        assert_eq!(e.elasticity.is_some(), e.verdict != Verdict::NotIdentified);
    }
}

/// Every recommendation lies inside the markup band, whatever the rules (also through the CLI,
/// whose file has the documented columns), and says why.
#[test]
fn every_recommendation_lies_inside_the_markup_band() {
    use shoplens::analytics::elasticity;
    use shoplens::analytics::recommend::{recommend, Anchor, PositionRule, RecommendSettings};
    let (dir, mut ws, _) = workspace(80, 150);
    import::import_file(&mut ws, &dir.path().join("orders.csv"), &ImportOptions::default(), &JobContext::detached()).unwrap();
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    let monitor = pricing::monitor(&data, &PricingSettings::default(), None);
    let estimates = elasticity::estimate(&elasticity::product_sales(&data));
    for (position, anchor, ending_99, max_change) in [
        (PositionRule::Off, Anchor::Cheapest, false, Some(0.1)),
        (PositionRule::Beat(0.10), Anchor::Cheapest, true, None),
        (PositionRule::Match, Anchor::Average, true, Some(0.05)),
        (PositionRule::Within(0.02), Anchor::Competitor("Contoso".into()), true, None),
    ] {
        let settings = RecommendSettings { position, anchor, ending_99, max_change, ..RecommendSettings::default() };
        let proposals = recommend(&data, &monitor, &estimates, &settings);
        assert_eq!(proposals.len(), data.products.len(), "one row per catalogue product");
        for r in &proposals {
            let (cost, price) = (r.cost.unwrap(), r.recommended.unwrap());
            assert!(
                price >= cost * 1.05 - 1e-9 && price <= cost * 1.30 + 1e-9,
                "{price} outside {:.2}–{:.2}: {:?}",
                cost * 1.05,
                cost * 1.30,
                r.reasons
            );
            assert!(!r.reasons.is_empty());
        }
    }
    let w = ws.path().display().to_string();
    drop(ws);
    let file = dir.path().join("recommend.csv");
    let out = shoplens_cli(&["pricing", "recommend", &w, "--position", "beat:0.03", "--ending-99", "--out", &file.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("product_id,cost,current_price,optimum_price,recommended_price,reasons\n"), "{text}");
    assert_eq!(text.lines().count(), 81);
}

/// Accepting, editing and rejecting proposals: each is in the decision log, accepted prices are
/// our prices from the moment of the decision, rejected ones change nothing.
#[test]
fn decisions_are_logged_and_accepted_prices_become_ours() {
    let (dir, ws, _) = workspace(10, 60);
    let w = ws.path().display().to_string();
    let prices_before: i64 = ws.conn().query_row("SELECT count(*) FROM our_prices", [], |r| r.get(0)).unwrap();
    drop(ws);
    let file = dir.path().join("proposals.csv");
    assert!(shoplens_cli(&["pricing", "recommend", &w, "--out", &file.display().to_string()]).status.success());
    let proposals = std::fs::read_to_string(&file).unwrap();
    let p1: Vec<&str> = proposals.lines().nth(1).unwrap().split(',').collect();
    let out =
        shoplens_cli(&["pricing", "decide", &w, "--accept", "P00001", "--set", "P00002=12.34", "--reject", "P00003", "--by", "maria"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("2 prices accepted"));
    let ws = Workspace::open(Path::new(&w)).unwrap();
    let log: Vec<(String, String, Option<f64>, String)> = ws
        .conn()
        .prepare("SELECT product_id, status, new_price, decided_by FROM price_decisions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(log.len(), 3);
    assert_eq!((log[0].0.as_str(), log[0].1.as_str(), log[0].3.as_str()), ("P00001", "accepted", "maria"));
    assert_eq!(format!("{:.2}", log[0].2.unwrap()), p1[4], "the accepted price is the proposal");
    assert_eq!((log[1].1.as_str(), log[1].2), ("accepted", Some(12.34)));
    assert_eq!(log[2].1, "rejected");
    let added: Vec<(String, f64, i64)> = ws
        .conn()
        .prepare("SELECT product_id, price, import_id FROM our_prices ORDER BY rowid DESC LIMIT 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(added.len(), 2);
    assert!(added.iter().all(|a| a.2 == 0));
    let prices_after: i64 = ws.conn().query_row("SELECT count(*) FROM our_prices", [], |r| r.get(0)).unwrap();
    assert_eq!(prices_after, prices_before + 2, "a rejection writes no price");
    let out = shoplens_cli(&["pricing", "decide", &w, "--accept", "NOPE"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no product 'NOPE'"));
    // The next proposals start from the decided prices, though the market data ends earlier.
    drop(ws);
    assert!(shoplens_cli(&["pricing", "recommend", &w, "--out", &file.display().to_string()]).status.success());
    let proposals = std::fs::read_to_string(&file).unwrap();
    let p2: Vec<&str> = proposals.lines().find(|l| l.starts_with("P00002,")).unwrap().split(',').collect();
    assert_eq!(p2[2], "12.34", "current_price is the edited price just accepted");
    // The log reads back through the workspace module, newest first, and exports as the CLI's.
    let ws = Workspace::open(Path::new(&w)).unwrap();
    let log = shoplens::workspace::settings::load_decisions(ws.conn()).unwrap();
    assert_eq!(log.iter().map(|d| d.product_id.as_str()).collect::<Vec<_>>(), ["P00003", "P00002", "P00001"]);
    let (header, rows) = shoplens::workspace::settings::decisions_table(&log);
    assert_eq!(
        header.join(","),
        "product_id,old_price,new_price,status,reasons,decided_by,decided_at,predicted_units_per_day,predicted_revenue_per_day,predicted_profit_per_day"
    );
    // A rejection predicts nothing (its price never took effect).
    assert_eq!(log[0].predicted, None);
    assert_eq!(rows[1][2..4], ["12.34".to_string(), "accepted".to_string()]);
    let out = shoplens_cli(&["pricing", "decisions", &w]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("product_id,old_price,new_price,status,reasons,decided_by,decided_at,predicted_units_per_day,"), "{text}");
    let out = shoplens_cli(&["pricing", "price-list", &w]);
    let text = String::from_utf8_lossy(&out.stdout);
    let p2 = text.lines().find(|l| l.starts_with("P00002,")).unwrap().to_string();
    assert!(p2.contains(",12.34,12.34,"), "the list carries the accepted price: {p2}");
}

/// Demand surges come from the shop's events, matched to the catalogue by product id (text in
/// the catalogue, an integer in the events). Hand-checked: 28 days at 10 views a day of product
/// 4242, then a day of 35 views (median 10: +250%) and one of 20 (+100% of the median, still
/// inside the surge): one signal, on the day of 35, before 10, after 35. Product 77, not in the
/// catalogue, surges too but raises nothing.
#[test]
fn a_demand_surge_in_the_events_is_signalled_for_catalogue_products() {
    let dir = tempfile::tempdir().unwrap();
    let catalogue = dir.path().join("catalogue.csv");
    std::fs::write(&catalogue, "product_id,name,category,brand,cost,price,stock\n4242,Kettle,kitchen,acme,10.00,15.00,200\n").unwrap();
    let events = dir.path().join("events.csv");
    let mut text = String::from("event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    for day in 0..30 {
        let date = start + chrono::Duration::days(day);
        let views = match day {
            28 => 35,
            29 => 20,
            _ => 10,
        };
        for i in 0..views {
            for product in [4242, 77] {
                text.push_str(&format!("{date} 10:{:02}:00 UTC,view,{product},1,kitchen.kettle,acme,15.00,{i},s{day}-{i}\n", i % 60));
            }
        }
        text.push_str(&format!("{date} 11:00:00 UTC,cart,4242,1,kitchen.kettle,acme,15.00,1,s{day}-0\n"));
    }
    std::fs::write(&events, text).unwrap();
    let w = dir.path().join("w.shoplens").display().to_string();
    for file in [&catalogue, &events] {
        let out = shoplens_cli(&["import", &file.display().to_string(), "--workspace", &w]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = shoplens_cli(&["pricing", "signals", &w]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let surges: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("demand_surge")).map(String::from).collect();
    assert_eq!(surges, ["demand_surge,4242,,2024-03-29 00:00:00,10.00,35.00,2.5000,high"]);
}

/// A feed's currency and tax basis, stated at import, are recorded and shown in the quality
/// report; observations are compared only like with like (hand-checked: of three feeds, only the
/// one in our currency and on our tax basis reaches the monitor).
#[test]
fn feeds_in_another_currency_or_tax_basis_are_recorded_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.shoplens").display().to_string();
    let catalogue = dir.path().join("catalogue.csv");
    std::fs::write(&catalogue, "product_id,name,category,brand,cost,price,stock\nP1,Kettle,kitchen,acme,10.00,20.00,50\n").unwrap();
    let feed = |name: &str, competitor: &str, price: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("product_id,competitor,price,observed_at\nP1,{competitor},{price},2024-03-01 08:00:00\n")).unwrap();
        path.display().to_string()
    };
    let run = |args: &[&str]| {
        let out = shoplens_cli(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    };
    run(&["import", &catalogue.display().to_string(), "--workspace", &w]);
    let out = run(&["import", &feed("gross.csv", "Contoso", "24.00"), "--workspace", &w, "--currency", "gbp", "--prices-include-tax"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("prices         in GBP, including tax"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    run(&["import", &feed("net.csv", "Fabrikam", "19.00"), "--workspace", &w, "--currency", "GBP", "--prices-exclude-tax"]);
    run(&["import", &feed("euro.csv", "Tailspin", "21.00"), "--workspace", &w, "--currency", "EUR", "--prices-exclude-tax"]);
    let out = run(&["pricing", "basis", &w, "--currency", "GBP", "--exclude-tax"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "our prices: in GBP, excluding tax\n");
    let file = dir.path().join("monitor.csv");
    let out = run(&["pricing", "monitor", &w, "--out", &file.display().to_string()]);
    let notes = String::from_utf8_lossy(&out.stderr);
    assert!(notes.contains("1 competitor observations in another currency"), "{notes}");
    assert!(notes.contains("1 competitor observations with tax included"), "{notes}");
    let monitor = std::fs::read_to_string(&file).unwrap();
    let row: Vec<&str> = monitor.lines().nth(1).unwrap().split(',').collect();
    // Only Fabrikam's 19.00 is compared: cheapest, and the market mean.
    assert_eq!((row[5], row[6], row[12]), ("Fabrikam", "19.00", "1"), "{monitor}");
}

/// The wide layout (our unit_price and comp_1..comp_3 per product and month, the Kaggle "Retail
/// Price Optimization" file) is unpivoted: one competitor observation per price column, named
/// after it, on the month's first day, and our price into our price history. Checked against
/// the file read independently with the csv crate, and one row by hand (bed1, May 2017).
#[test]
fn the_wide_competitor_layout_is_unpivoted() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/kaggle_retail_price_excerpt.csv");
    let mut reader = csv::Reader::from_path(&file).unwrap();
    let header = reader.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let comps: Vec<usize> = header.iter().enumerate().filter(|(_, h)| h.starts_with("comp_")).map(|(i, _)| i).collect();
    let expected: usize = records.iter().map(|r| comps.iter().filter(|&&i| !r[i].trim().is_empty()).count()).sum();

    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w.shoplens")).unwrap();
    let out = import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    assert_eq!(out.kind, "competitor_prices_wide");
    let r = &out.report;
    assert_eq!((r.rows_read, r.rows_loaded, r.rows_rejected), (records.len() as u64, records.len() as u64, 0));
    assert!(r.warnings.iter().any(|w| w.contains(&format!("became {expected} rows of competitor_prices"))), "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.contains("read as DD-MM-YYYY")), "{:?}", r.warnings);
    assert!(r.unused_columns.contains(&"qty".to_string()));
    let count = |sql: &str| -> i64 { ws.conn().query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM competitor_prices") as usize, expected);
    assert_eq!(count("SELECT count(*) FROM our_prices") as usize, records.len());
    let bed1: Vec<(String, f64)> = ws
        .conn()
        .prepare("SELECT competitor, price FROM competitor_prices WHERE product_id = 'bed1' AND observed_at = '2017-05-01 00:00:00' ORDER BY competitor")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(bed1, [("comp_1".to_string(), 89.9), ("comp_2".to_string(), 215.0), ("comp_3".to_string(), 45.95)]);
    let ours: f64 = ws
        .conn()
        .query_row("SELECT price FROM our_prices WHERE product_id = 'bed1' AND valid_from = '2017-05-01 00:00:00'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ours, 45.95);
    // The monitor reads it like any feed.
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    assert_eq!(data.competitors, ["comp_1", "comp_2", "comp_3"]);
}

#[test]
fn month_year_order_is_decided_from_the_sample() {
    use shoplens::import::convert::month_order;
    assert!(month_order(["01-05-2017", "01-06-2017"]).0, "the layout's DD-MM");
    assert!(!month_order(["05-01-2017", "06-01-2017"]).0, "every second part 01: MM-DD");
    assert!(month_order(["13-01-2017", "01-01-2017"]).0);
}

/// Reference: SciPy (`testdata/reference/make_abtest_reference.py`): Welch's interval and
/// P(B > A) per day, days without a sale counted as zero, on the script's seeded order lines —
/// one product before and after a price cut, and two products over the same days.
#[test]
fn ab_price_tests_equal_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let ws_path = dir.path().join("ab.shoplens");
    let mut ws = Workspace::open(&ws_path).unwrap();
    let fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name);
    for file in ["abtest_catalogue.csv", "abtest_orders.csv"] {
        let out = import::import_file(&mut ws, &fixture(file), &ImportOptions::default(), &JobContext::detached()).unwrap();
        assert_eq!(out.report.rows_rejected, 0, "{file}");
    }
    drop(ws);
    let mut reference: HashMap<(String, String), Vec<f64>> = HashMap::new();
    let mut reader = csv::Reader::from_path(fixture("reference/abtest_scipy.csv")).unwrap();
    for row in reader.records().map(Result::unwrap) {
        reference.insert((row[0].to_string(), row[1].to_string()), (2..8).map(|i| row[i].parse().unwrap()).collect());
    }
    let run = |test: &str, args: &[&str]| {
        let out_file = dir.path().join(format!("{test}.csv"));
        let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["pricing", "abtest"])
            .arg(&ws_path)
            .args(args)
            .arg("--out")
            .arg(&out_file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut reader = csv::Reader::from_path(&out_file).unwrap();
        assert_eq!(reader.headers().unwrap(), vec!["metric", "a", "b", "difference", "ci_low", "ci_high", "p_b_greater"]);
        for row in reader.records().map(Result::unwrap) {
            let expected = &reference[&(test.to_string(), row[0].to_string())];
            for (i, want) in expected.iter().enumerate() {
                let got: f64 = row[i + 1].parse().unwrap();
                assert!((got - want).abs() < 2e-6 * want.abs().max(1.0), "{test} {} column {}: {got} vs SciPy {want}", &row[0], i + 1);
            }
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let period = run("period", &["--product", "AB1", "--a", "2024-01-01..2024-02-11", "--b", "2024-02-12..2024-03-24"]);
    assert!(period.contains("B sold 2.21 more units a day than A (95% interval 0.40 to 4.02)"), "{period}");
    assert!(!period.contains("different products") && !period.contains("days of the week differ"), "{period}");
    let group = run("group", &["--group-a", "AB1", "--group-b", "AB2", "--a", "2024-01-01..2024-03-24"]);
    assert!(group.contains("warning: The arms are different products"), "{group}");
    // Too short, and unbalanced weekdays: said in words.
    let short = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["pricing", "abtest"])
        .arg(&ws_path)
        .args(["--product", "AB1", "--a", "2024-02-05..2024-02-11", "--b", "2024-02-12..2024-02-14"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&short.stdout);
    assert!(text.contains("Too small to tell") && text.contains("days of the week differ"), "{text}");
}

/// A real Project Hammer excerpt (testdata/hammer_oats_tofu_rice_excerpt.csv): products sold
/// under one name by several grocers are grouped, other sizes of one product are not, only
/// confirmed matches reach the monitor, and the change signals on the matched series equal SQL.
#[test]
fn hammer_feed_matched_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hammer.shoplens");
    let mut ws = Workspace::open(&path).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hammer_oats_tofu_rice_excerpt.csv");
    let out = import::import_file(&mut ws, &fixture, &ImportOptions::default(), &JobContext::detached()).unwrap();
    assert_eq!((out.table.as_str(), out.kind.as_str(), out.report.rows_rejected), ("named_prices", "competitor_prices_by_name", 0));
    drop(ws);
    let shoplens = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap();
    let w = path.to_str().unwrap();
    let matches = |out: &std::process::Output| -> HashMap<(String, String), (String, String, String)> {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
        assert_eq!(reader.headers().unwrap(), vec!["competitor", "competitor_product", "product_id", "similarity", "status"]);
        reader.records().map(Result::unwrap).map(|r| ((r[0].into(), r[1].into()), (r[2].into(), r[3].into(), r[4].into()))).collect()
    };
    let found = matches(&shoplens(&["pricing", "match", w]));
    assert_eq!(found.len(), 21, "one row per competitor product");
    let group = |c: &str, n: &str| found[&(c.to_string(), n.to_string())].0.clone();
    // The same name at several grocers: one group.
    assert_eq!(group("Loblaws", "Firm Tofu"), group("Metro", "Firm Tofu"));
    assert_eq!(group("Loblaws", "Firm Tofu"), group("NoFrills", "Firm Tofu"));
    // Bob's Red Mill gluten-free rolled oats, 907 g, written three ways at three grocers.
    let oats = group("Voila", "Bob's Red Mill Gluten-Free Rolled Oats Old Fashioned 907 g");
    assert_eq!(group("SaveOnFoods", "Bob's Red Mill - Rolled Oats Old Fashioned, Gluten Free, 907 Gram"), oats);
    assert_eq!(group("Walmart", "Bob's Red Mill Gluten Free Rolled Oats, 907 GR"), oats);
    // Other sizes of one product are other products.
    assert_ne!(group("Voila", "Bob's Red Mill Gluten-Free Rolled Oats Quick Cooking 794 g"), oats);
    assert_ne!(group("NoFrills", "100% Whole Grain Large Flake Oats, Club Pack"), group("NoFrills", "100% Whole Grain Large Flake Oats"));
    // Nothing is compared until it is confirmed.
    let conn = shoplens::workspace::open_read_only(&path).unwrap();
    assert!(shoplens::workspace::copies::load_pricing(&conn, &JobContext::detached()).unwrap().observations.is_empty());
    drop(conn);

    let confirmed = matches(&shoplens(&["pricing", "match", w, "--confirm-above", "0.85"]));
    assert_eq!(confirmed[&("Walmart".into(), "Bob's Red Mill Gluten Free Rolled Oats, 907 GR".into())].2, "suggested", "0.81 < 0.85");
    assert_eq!(confirmed[&("Metro".into(), "Firm Tofu".into())].2, "confirmed");
    // Confirmed matches are kept: a second run (as after the next import) changes nothing.
    assert_eq!(matches(&shoplens(&["pricing", "match", w])), confirmed);

    // Signals on the matched series equal SQL over the same rows.
    let conn = shoplens::workspace::open_read_only(&path).unwrap();
    let data = shoplens::workspace::copies::load_pricing(&conn, &JobContext::detached()).unwrap();
    let confirmed_rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM named_prices n JOIN name_matches m ON m.competitor = n.competitor AND m.competitor_product = n.product_name WHERE m.status = 'confirmed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(data.observations.len() as i64, confirmed_rows);
    assert!(data.observations.iter().any(|o| o.was.is_some()), "promotions are kept as such");
    let signals = pricing::signals(&data, &PricingSettings::default(), None);
    let ours = |kind: SignalKind| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = signals
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| {
                let competitor = s.competitor.map_or_else(String::new, |c| data.competitors[c as usize].clone());
                (data.products[s.product as usize].id.clone(), competitor, pricing::format_time(s.at))
            })
            .collect();
        v.sort();
        v
    };
    let sql = |condition: &str| -> Vec<(String, String, String)> {
        let query = format!(
            "SELECT product_id, competitor, observed_at FROM (
                 SELECT m.product_id, n.competitor, n.observed_at, n.price,
                        lag(n.price) OVER (PARTITION BY m.product_id, n.competitor ORDER BY n.observed_at, n.rowid) AS previous
                 FROM named_prices n JOIN name_matches m ON m.competitor = n.competitor AND m.competitor_product = n.product_name
                 WHERE m.status = 'confirmed')
             WHERE previous IS NOT NULL AND {condition} ORDER BY 1, 2, 3"
        );
        conn.prepare(&query).unwrap().query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let drops = sql("price / previous - 1 <= -0.15");
    assert!(!drops.is_empty(), "the excerpt holds promotions deep enough to signal");
    assert_eq!(ours(SignalKind::CompetitorDrop), drops);
    assert_eq!(ours(SignalKind::CompetitorRise), sql("price / previous - 1 >= 0.15"));
}

/// With a catalogue of ours, each competitor product is suggested our most similar product;
/// a rejected suggestion stays rejected on the next run.
#[test]
fn named_feed_matched_to_our_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("named.shoplens");
    let catalogue = dir.path().join("catalogue.csv");
    std::fs::write(
        &catalogue,
        "product_id,name,category,brand,cost,price,stock\nOATS907,Bob's Red Mill Rolled Oats Old Fashioned Gluten Free 907g,cereal,BRM,5.00,8.99,40\nTOFU,Firm Tofu,protein,House,1.50,2.99,80\n",
    )
    .unwrap();
    let mut ws = Workspace::open(&path).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hammer_oats_tofu_rice_excerpt.csv");
    for file in [catalogue.as_path(), fixture.as_path()] {
        import::import_file(&mut ws, file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    }
    drop(ws);
    let run = |extra: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_shoplens")).args(["pricing", "match", path.to_str().unwrap()]).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
        reader
            .records()
            .map(Result::unwrap)
            .map(|r| ((r[0].to_string(), r[1].to_string()), (r[2].to_string(), r[4].to_string())))
            .collect::<HashMap<_, _>>()
    };
    let found = run(&[]);
    let of = |c: &str, n: &str| found[&(c.to_string(), n.to_string())].0.clone();
    assert_eq!(of("Voila", "Bob's Red Mill Gluten-Free Rolled Oats Old Fashioned 907 g"), "OATS907");
    assert_eq!(of("Walmart", "Bob's Red Mill Gluten Free Rolled Oats, 907 GR"), "OATS907");
    assert_eq!(of("Voila", "Bob's Red Mill Gluten-Free Rolled Oats Quick Cooking 794 g"), "", "another size: no match");
    assert_eq!(of("Metro", "Firm Tofu"), "TOFU");
    assert_eq!(of("Metro", "Brown Rice"), "", "not in our catalogue");
    // Reject one in the workspace, as the panel does; the next run keeps it rejected.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE name_matches SET status = 'rejected' WHERE competitor = 'Metro' AND competitor_product = 'Firm Tofu'", [])
        .unwrap();
    drop(conn);
    let again = run(&["--confirm-above", "0.9"]);
    assert_eq!(again[&("Metro".to_string(), "Firm Tofu".to_string())], ("TOFU".to_string(), "rejected".to_string()));
    assert_eq!(again[&("Loblaws".to_string(), "Firm Tofu".to_string())], ("TOFU".to_string(), "confirmed".to_string()));
}

/// Name matching against labels given by hand (testdata/hammer_names_labelled.csv: real
/// Project Hammer names, two rows share a label only when they are one product). Measured as
/// issue 28 asks: at least 90% of the groups of several grocers that hold together at similarity
/// 0.9 are one product, and every pair of identical normalised names at two grocers is grouped.
/// The hard cases by name: sizes, counts, nutrition claims, packs, house brands, bags.
#[test]
fn name_groups_agree_with_hand_labels() {
    use shoplens::analytics::matching::{self, CompetitorProduct};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hammer_names_labelled.csv");
    let rows: Vec<(CompetitorProduct, String)> = csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .map(|r| (CompetitorProduct { competitor: r[0].to_string(), name: r[1].to_string() }, r[2].to_string()))
        .collect();
    let label: HashMap<&CompetitorProduct, &str> = rows.iter().map(|(p, l)| (p, l.as_str())).collect();
    let products: Vec<CompetitorProduct> = rows.iter().map(|(p, _)| p.clone()).collect();
    let groups = matching::group(&products, 0.8, &HashMap::new(), 1);
    let mut by_group: HashMap<&str, Vec<&matching::Suggestion>> = HashMap::new();
    for s in &groups {
        by_group.entry(s.product_id.as_str()).or_default().push(s);
    }
    let confident: Vec<&Vec<&matching::Suggestion>> = by_group
        .values()
        .filter(|g| g.iter().map(|s| &s.product.competitor).collect::<std::collections::HashSet<_>>().len() >= 2)
        .filter(|g| g.iter().all(|s| s.similarity.is_some_and(|v| v >= 0.9)))
        .collect();
    let pure = confident.iter().filter(|g| g.iter().all(|s| label[&s.product] == label[&g[0].product])).count();
    let impure: Vec<Vec<&str>> = confident
        .iter()
        .filter(|g| !g.iter().all(|s| label[&s.product] == label[&g[0].product]))
        .map(|g| g.iter().map(|s| s.product.name.as_str()).collect())
        .collect();
    eprintln!("{pure} of {} groups of several grocers at similarity 0.9 are one product", confident.len());
    assert!(confident.len() >= 15, "{} groups at 0.9", confident.len());
    assert!(pure * 10 >= confident.len() * 9, "{pure} of {} groups at 0.9 are one product: {impure:?}", confident.len());
    // Identical normalised names at two grocers are grouped.
    let group_of = |c: &str, n: &str| groups.iter().find(|s| s.product.competitor == c && s.product.name == n).unwrap().product_id.clone();
    for (a, _) in &rows {
        for (b, _) in &rows {
            if a.competitor != b.competitor && matching::normalise(&a.name) == matching::normalise(&b.name) {
                assert_eq!(group_of(&a.competitor, &a.name), group_of(&b.competitor, &b.name), "{a:?} and {b:?}");
            }
        }
    }
    // The cases the issue names.
    let mini = |n: &str| group_of("Walmart", n);
    assert_ne!(mini("Cadbury Mini Eggs,Chocolatey Candy Eggs, 33 g"), mini("Cadbury Mini Eggs, Chocolatey Candy Eggs, 90 g"));
    assert_eq!(group_of("Voila", "Cadbury Mini Eggs Chocolatey Candy 90 g"), mini("Cadbury Mini Eggs, Chocolatey Candy Eggs, 90 g"));
    let berries = matching::normalise("Oikos Drinkable Greek Yogurt with Field Berries, Oats, & Seeds, 9g Protein, 190 mL");
    assert_eq!(berries.size, Some((190.0, "ml")), "9g is protein, not the size");
    assert_eq!(
        group_of("Walmart", "Oikos Drinkable Greek Yogurt with Field Berries, Oats, & Seeds, 9g Protein, 190 mL"),
        group_of("Voila", "Oikos Drinkable Greek Yogurt with Field Berries Oats & Seeds 9 g Protein 190 ml")
    );
    assert_eq!(matching::normalise("Romaine Lettuce Hearts, Pack of 3").count, Some(3));
    assert_eq!(matching::normalise("Lettuce - Romaine Hearts, 3 Each").count, Some(3));
    assert_eq!(matching::normalise("Island Gold 2.5 Dozens Large White Eggs, 30 eggs / tray").count, Some(30));
    assert_eq!(matching::normalise("Sunrise Almond Flavour Tofu Dessert (150gx2)").size, Some((300.0, "g")));
    // Different house brands are different products; one size against none is a doubt.
    let gv = matching::normalise("Great Value Quick Oats 1 kg, 100% Whole Grain Rolled Oats");
    assert_eq!(matching::similarity(&gv, &matching::normalise("Compliments Quick Oats 1 kg")), 0.0);
    let one_minute = matching::similarity(&matching::normalise("One Minute Oats"), &matching::normalise("Quaker One Minute Oats 900 g"));
    assert!(one_minute > 0.0 && one_minute <= matching::DOUBT_CAP, "{one_minute}");
    // A chain of doubts cannot put 1 lb and 15 oz together.
    assert_ne!(group_of("Loblaws", "Organic Mini Carrots, 1 lb bag"), group_of("Walmart", "Carrots, Mini Organic, 15 oz"));
}

/// Hand-checked: a stock write-off (UCI's "damaged", -90 at 0.00 with no customer) is not a
/// sale at a price. The day it shares with 40 sold at 12.75 has 40 units at a lowest price of
/// 12.75, not -50 units at 0.00 (which put a day at -50 units on the elasticity chart).
#[test]
fn write_offs_at_no_price_are_not_sales() {
    let dir = tempfile::tempdir().unwrap();
    let catalogue = dir.path().join("catalogue.csv");
    std::fs::write(&catalogue, "product_id,name,category,cost,price\n22423,REGENCY CAKESTAND 3 TIER,kitchen,6.50,12.75\n").unwrap();
    let lines = dir.path().join("lines.csv");
    std::fs::write(
        &lines,
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n\
         507700,22423,REGENCY CAKESTAND 3 TIER,40,2010-05-11 10:00:00,12.75,13085,United Kingdom\n\
         507708,22423,damaged,-90,2010-05-11 15:00:00,0.00,,United Kingdom\n\
         507800,22423,REGENCY CAKESTAND 3 TIER,10,2010-05-12 10:00:00,12.75,13085,United Kingdom\n",
    )
    .unwrap();
    let mut ws = Workspace::open(&dir.path().join("w.shoplens")).unwrap();
    for file in [&catalogue, &lines] {
        import::import_file(&mut ws, file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    }
    let data = shoplens::workspace::copies::load_pricing(ws.conn(), &JobContext::detached()).unwrap();
    let days: Vec<(f64, f64)> = data.sales_of(0).iter().map(|d| (d.units, d.lowest_price)).collect();
    assert_eq!(days, [(40.0, 12.75), (10.0, 12.75)]);
}

/// Reference for the realised effect of a price change (issue 33): the difference-in-differences
/// equals statsmodels' OLS with product and day fixed effects on a committed panel
/// (testdata/reference/make_impact_reference.py), its heteroskedasticity-robust (HC2) standard
/// error, t interval and P(effect > 0) included.
#[test]
fn difference_in_differences_equals_statsmodels_two_way_fixed_effects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/reference");
    let mut series: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for record in csv::Reader::from_path(root.join("impact_panel.csv")).unwrap().records() {
        let record = record.unwrap();
        series.entry(record[0].to_string()).or_default().push(record[2].parse().unwrap());
    }
    let treated = series.remove("P0").unwrap();
    let controls: Vec<Vec<f64>> = series.into_values().collect();
    let estimate = shoplens::analytics::impact::difference_in_differences(&treated, &controls, 14).unwrap();
    let reference: HashMap<String, f64> = csv::Reader::from_path(root.join("impact_statsmodels.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse().unwrap())
        })
        .collect();
    for (got, name) in [
        (estimate.effect, "effect"),
        (estimate.standard_error, "se"),
        (estimate.interval.0, "ci_low"),
        (estimate.interval.1, "ci_high"),
        (estimate.degrees_of_freedom, "df"),
        (estimate.p_positive, "p_positive"),
    ] {
        let want = reference[name];
        assert!((got - want).abs() <= 1e-8 * want.abs().max(1e-6), "{name}: {got} vs {want}");
    }
}

/// A seeded shop of ten products over 120 days with a common season: product P0's price rises
/// on day 60 and it sells 3 units a day fewer from then on (planted). The realised effect against
/// the eight untouched products of its category recovers it, its interval covers it, and no
/// pre-trend is claimed. The season (±30%) rises across the change and a competitor cut its
/// price at the same time: both are said. A product alone in its category, or a change too near
/// the data's end, says why no effect is given.
#[test]
fn a_planted_price_change_effect_is_recovered_against_untouched_controls() {
    use rand::{Rng, SeedableRng};
    use shoplens::analytics::impact::{self, ImpactError, ImpactWarning};
    use shoplens::analytics::pricing::{CatalogueProduct, PricingDataBuilder};
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(33);
    let mut builder = PricingDataBuilder::default();
    let day0 = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(10, 0, 0).unwrap().and_utc().timestamp();
    for i in 0..10 {
        let category = if i < 9 { "Tea" } else { "Solo" };
        builder.product(CatalogueProduct {
            category: category.into(),
            cost: Some(2.0),
            price: Some(5.0),
            ..CatalogueProduct::unnamed(&format!("P{i}"))
        });
        builder.our_price(&format!("P{i}"), day0, 5.0);
    }
    builder.our_price("P0", day0 + 60 * 86_400, 6.0);
    builder.our_price("P9", day0 + 60 * 86_400, 6.0);
    // A competitor at 5.50, then at 4.40 (−20%) from day 60, the day of our change.
    for day in (0..120i64).step_by(2) {
        builder.observation("P0", "Rival", day0 + day * 86_400, if day < 60 { 5.5 } else { 4.4 }, Some(true));
    }
    for day in 0..120i64 {
        let season = 1.0 + 0.3 * (day as f64 / 9.0).sin();
        for i in 0..10 {
            let planted = if i == 0 && day >= 60 { -3.0 } else { 0.0 };
            let units = (10.0 * season + planted + rng.random_range(-2.0..2.0_f64)).round().max(0.0);
            let price = if (i == 0 || i == 9) && day >= 60 { 6.0 } else { 5.0 };
            if units > 0.0 {
                builder.sale(&format!("P{i}"), day0 + day * 86_400, units, price);
            }
        }
    }
    let data = builder.finish();
    let changes = impact::price_changes(&data);
    assert_eq!(changes.len(), 2, "{changes:?}");
    let p0 = changes.iter().find(|c| data.products[c.product as usize].id == "P0").unwrap();
    assert_eq!((p0.old_price, p0.new_price), (5.0, 6.0));
    let result = impact::realised(&data, p0, 28, &changes).unwrap();
    assert_eq!(result.controls, 8);
    let (low, high) = result.units.interval;
    assert!((result.units.effect + 3.0).abs() < 1.0 && low < -3.0 && high > -3.0, "{:?}", result.units);
    assert!(result.units.p_positive < 0.01, "{:?}", result.units);
    assert!(result.profit.is_some());
    // Controls' units: sin(day / 9) is mostly below zero in days 32–59 and above in 60–87.
    let [ImpactWarning::Season { ratio }, ImpactWarning::CompetitorsMoved { ratio: theirs }] = result.warnings[..] else {
        panic!("{:?}", result.warnings)
    };
    assert!(ratio > 1.3, "{ratio}");
    // Hand-checked: the window before has 14 observations at 5.50; the window after (days 60–87)
    // 14 at 4.40: 4.40 / 5.50 = 0.8.
    assert!((theirs - 0.8).abs() < 1e-12, "{theirs}");
    let solo = changes.iter().find(|c| data.products[c.product as usize].id == "P9").unwrap();
    assert_eq!(impact::realised(&data, solo, 28, &changes), Err(ImpactError::NoControls));
    assert!(matches!(impact::realised(&data, p0, 70, &changes), Err(ImpactError::OutsideData { .. })));
}

/// Coverage on a seeded shop (issue 33's "done when"): 150 categories of one product whose price
/// changes and six untouched products, selling Poisson units around their own levels (5 to 30 a
/// day) times a season the whole category shares (±25%). After the change, a third of the products sell
/// half their level more at a 10% lower price (revenue rises), a third half their level less at
/// a 10% higher price (revenue falls), and a third a tenth less at a 10% higher price (revenue
/// about unchanged). The 95% intervals of the units and of the revenue cover the planted effects
/// about 95% of the time, and the verdicts (by revenue: no costs) recover the planted signs.
/// Measured: 90% (units) and 91% (revenue) on this seed, 90% to 95% on three others; the
/// intervals do not carry the noise of scaling the controls to the product's level, so they run
/// a little narrow.
#[test]
fn realised_intervals_cover_planted_effects_at_about_their_nominal_rate() {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Poisson};
    use shoplens::analytics::impact;
    use shoplens::analytics::pricing::{CatalogueProduct, PricingDataBuilder};
    const DAYS: i64 = 120;
    const WINDOW: usize = 28;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2033);
    let mut builder = PricingDataBuilder::default();
    let day0 = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
    // Per category: the planted units effect, the true revenue effect and its kind (+1 helps, -1
    // hurts, 0 nil).
    let mut planted: HashMap<String, (f64, f64, i32)> = HashMap::new();
    for c in 0..150 {
        let kind = [1, -1, 0][c % 3];
        let change_day = rng.random_range(40..(DAYS - WINDOW as i64 - 10));
        let phase = rng.random_range(0.0..6.3f64);
        let season = |day: i64| 1.0 + 0.25 * ((day as f64) / 9.5 + phase).sin();
        let old = 10.0;
        for i in 0..7 {
            let id = format!("C{c}P{i}");
            let level = rng.random_range(5.0..30.0f64);
            builder.product(CatalogueProduct { category: format!("category {c}"), price: Some(old), ..CatalogueProduct::unnamed(&id) });
            builder.our_price(&id, day0, old);
            let treated = i == 0;
            let (new, effect) = match kind {
                1 => (old * 0.9, level * 0.5),
                -1 => (old * 1.1, -level * 0.5),
                _ => (old * 1.1, -level / 11.0),
            };
            if treated {
                builder.our_price(&id, day0 + change_day * 86_400, new);
                // Expected revenue after the change, less what it would have been without it: the
                // product's level through the season's days after, at the old price (its revenue
                // before, grown as its controls' grew).
                let after = (change_day..change_day + WINDOW as i64).map(season).sum::<f64>() / WINDOW as f64;
                let revenue = new * (level * after + effect) - old * level * after;
                planted.insert(id.clone(), (effect, revenue, kind));
            }
            for day in 0..DAYS {
                let after = treated && day >= change_day;
                let mean = (level * season(day) + if after { effect } else { 0.0 }).max(0.1);
                let units = Poisson::new(mean).unwrap().sample(&mut rng);
                if units > 0.0 {
                    builder.sale(&id, day0 + day * 86_400 + 3600, units, if after { new } else { old });
                }
            }
        }
    }
    let data = builder.finish();
    let assessments = impact::assess(&data, WINDOW, &[], &JobContext::detached()).unwrap();
    assert_eq!(assessments.len(), 150);
    let (mut units_covered, mut revenue_covered) = (0, 0);
    let mut verdicts: HashMap<(i32, &str), usize> = HashMap::new();
    for a in &assessments {
        let r = a.outcome.as_ref().expect("every change is inside the data with six controls");
        assert_eq!(r.controls, 6);
        let (effect, revenue, kind) = planted[&data.products[a.change.product as usize].id];
        units_covered += usize::from((r.units.interval.0..=r.units.interval.1).contains(&effect));
        revenue_covered += usize::from((r.revenue.interval.0..=r.revenue.interval.1).contains(&revenue));
        *verdicts.entry((kind, impact::verdict(r))).or_default() += 1;
    }
    let (units_rate, revenue_rate) = (units_covered as f64 / 150.0, revenue_covered as f64 / 150.0);
    eprintln!("intervals covered the planted effect: units {units_rate:.3}, revenue {revenue_rate:.3}; verdicts {verdicts:?}");
    assert!((0.88..=0.99).contains(&units_rate), "units intervals covered {units_rate}");
    assert!((0.88..=0.99).contains(&revenue_rate), "revenue intervals covered {revenue_rate}");
    let count = |kind: i32, verdict: &str| verdicts.get(&(kind, verdict)).copied().unwrap_or(0);
    assert_eq!((count(1, "cost"), count(-1, "paid")), (0, 0), "{verdicts:?}");
    assert!(count(1, "paid") >= 45 && count(-1, "cost") >= 45, "{verdicts:?}");
    // A nil effect is called paid or cost about one time in twenty (2.5% each way).
    assert!(count(0, "unclear") >= 43, "{verdicts:?}");
}

/// `shoplens pricing impact` on the demo: one row per change of our price, with the columns
/// scripts read, a verdict for each, and the reason where no effect could be measured.
#[test]
fn pricing_impact_lists_every_price_change_with_the_named_columns() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("demo.shoplens");
    shoplens::demo::build(&ws, &JobContext::detached()).unwrap();
    let out = dir.path().join("impact.csv");
    let status = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["pricing", "impact"])
        .arg(&ws)
        .args(["--window-days", "21", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "product_id",
            "decided_at",
            "old_price",
            "new_price",
            "window_days",
            "controls",
            "predicted_units_per_day",
            "realised_units_per_day",
            "ci_low",
            "ci_high",
            "p_positive",
            "predicted_profit_per_day",
            "realised_profit_per_day",
            "verdict",
            "warnings",
            "profit_ci_low",
            "profit_ci_high",
            "realised_revenue_per_day",
            "revenue_ci_low",
            "revenue_ci_high"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let data =
        shoplens::workspace::copies::load_pricing(&shoplens::workspace::open_read_only(&ws).unwrap(), &JobContext::detached()).unwrap();
    assert_eq!(rows.len(), shoplens::analytics::impact::price_changes(&data).len());
    // The demo's decisions carry the prediction recorded when they were taken.
    let predicted = rows.iter().filter(|r| !r[6].is_empty()).count();
    assert!(predicted >= 3, "{predicted} rows with a prediction");
    for row in &rows {
        assert_eq!(&row[4], "21");
        match &row[13] {
            "paid" | "cost" | "unclear" => assert!(row[7].parse::<f64>().is_ok() && row[10].parse::<f64>().is_ok(), "{row:?}"),
            "not measured" => assert!(!row[14].is_empty(), "{row:?}"),
            other => panic!("verdict {other}"),
        }
    }
}
