//! The marketplace panels headless: the generated marketplace imports through the recognised
//! kinds, and every listing metric equals the same question in SQL over the same tables.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use shoplens::import::{self, ImportOptions};
use shoplens::jobs::JobContext;
use shoplens::workspace::Workspace;

fn shoplens(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

/// A generated marketplace of `users` users imported into a new workspace.
fn marketplace(users: usize) -> (tempfile::TempDir, std::path::PathBuf, shoplens::generate::PlantedMarketplace) {
    let dir = tempfile::tempdir().unwrap();
    let planted = shoplens::generate::write_marketplace(dir.path(), users, shoplens::generate::MARKET_INTERACTIONS_PER_USER, 11).unwrap();
    let path = dir.path().join("market.shoplens");
    let mut ws = Workspace::open(&path).unwrap();
    for (file, kind) in [
        ("users.csv", "users"),
        ("collection_items.csv", "collection_items"),
        ("listings.csv", "listings"),
        ("marketplace_orders.csv", "marketplace_orders"),
        ("interactions.csv", "interactions"),
    ] {
        let out = import::import_file(&mut ws, &dir.path().join(file), &ImportOptions::default(), &JobContext::detached()).unwrap();
        assert_eq!(out.kind, kind, "{file} is recognised from its header");
        assert_eq!(out.report.rows_rejected, 0, "{file}: {:?}", out.report.rejected_by_reason);
    }
    (dir, path, planted)
}

/// `group → value` from a two-column query.
fn by_group<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> HashMap<String, T> {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, Option<String>>(0)?.unwrap_or_else(|| "(none)".into()), r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (n > 0).then(|| if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

/// Every column of `shoplens listings` against SQL, by category over a half year and by brand
/// over all the data.
#[test]
fn listing_metrics_equal_sql() {
    let (dir, path, _) = marketplace(3_000);
    let w = path.display().to_string();
    let conn = shoplens::workspace::open_read_only(&path).unwrap();
    for (by, range, args) in
        [("category", Some(("2024-01-01", "2024-07-01")), vec!["--from", "2024-01-01", "--to", "2024-06-30"]), ("brand", None, vec![])]
    {
        let file = dir.path().join(format!("{by}.csv"));
        let mut cli = vec!["listings", w.as_str(), "--by", by, "--out"];
        let file_text = file.display().to_string();
        cli.push(&file_text);
        cli.extend(args.iter().copied());
        let out = shoplens(&cli);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (from, to) = range.unwrap_or(("0000", "9999"));
        let within = |column: &str| format!("{column} >= '{from}' AND {column} < '{to}'");
        let listed: HashMap<String, i64> =
            by_group(&conn, &format!("SELECT {by}, count(*) FROM listings WHERE {} GROUP BY 1", within("listed_at")));
        let sold: HashMap<String, i64> = by_group(
            &conn,
            &format!(
                "SELECT {by}, count(*) FROM listings WHERE {} AND sold_at IS NOT NULL AND sold_at < '{to}' GROUP BY 1",
                within("listed_at")
            ),
        );
        let kinds = |kind: &str| -> HashMap<String, i64> {
            by_group(
                &conn,
                &format!(
                    "SELECT l.{by}, count(*) FROM interactions i JOIN listings l USING (listing_id) WHERE i.kind = '{kind}' AND {} GROUP BY 1",
                    within("i.at")
                ),
            )
        };
        let (views, likes) = (kinds("view"), kinds("like"));
        let orders: HashMap<String, i64> = by_group(
            &conn,
            &format!(
                "SELECT l.{by}, count(*) FROM marketplace_orders o JOIN listings l USING (listing_id) WHERE {} GROUP BY 1",
                within("o.ordered_at")
            ),
        );
        let mut days: HashMap<String, Vec<f64>> = HashMap::new();
        let sql = format!(
            "SELECT {by}, (julianday(sold_at) - julianday(listed_at)) FROM listings WHERE {} AND sold_at IS NOT NULL AND sold_at < '{to}'",
            within("listed_at")
        );
        for row in conn.prepare(&sql).unwrap().query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))).unwrap() {
            let (group, d) = row.unwrap();
            days.entry(group).or_default().push(d);
        }

        let mut reader = csv::Reader::from_path(&file).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header[..9].join(","), "group,listed,sold,success_rate,median_days_to_sell,views,likes,orders,conversion");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), listed.len(), "{by}: one row per group with listings");
        for row in &rows {
            let group = &row[0];
            let count = |m: &HashMap<String, i64>| m.get(group).copied().unwrap_or(0).to_string();
            assert_eq!(row[1], count(&listed), "{by} {group} listed");
            assert_eq!(row[2], count(&sold), "{by} {group} sold");
            assert_eq!(row[5], count(&views), "{by} {group} views");
            assert_eq!(row[6], count(&likes), "{by} {group} likes");
            assert_eq!(row[7], count(&orders), "{by} {group} orders");
            let expected_median = median(days.get(group).cloned().unwrap_or_default());
            match expected_median {
                Some(m) => assert!((row[4].parse::<f64>().unwrap() - m).abs() < 1e-3, "{by} {group} median {} vs SQL {m}", &row[4]),
                None => assert_eq!(&row[4], ""),
            }
            let rate = sold.get(group).copied().unwrap_or(0) as f64 / listed[group] as f64;
            assert!((row[3].parse::<f64>().unwrap() - rate).abs() < 1e-4, "{by} {group} success rate");
            if let Some(&v) = views.get(group) {
                let conversion = orders.get(group).copied().unwrap_or(0) as f64 / v as f64;
                assert!((row[8].parse::<f64>().unwrap() - conversion).abs() < 1e-4, "{by} {group} conversion");
            }
        }
    }
}

#[test]
fn the_generator_plants_short_categories_and_a_propensity_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let planted = shoplens::generate::write_marketplace(dir.path(), 500, shoplens::generate::MARKET_INTERACTIONS_PER_USER, 3).unwrap();
    assert_eq!(planted.short_categories, ["watches", "vinyl records", "trading cards"]);
    assert_eq!(planted.propensity.len(), 500);
    assert!(planted.propensity.iter().all(|(_, p)| (0.0..=1.0).contains(p)));
    let listings = std::fs::read_to_string(dir.path().join("listings.csv")).unwrap();
    assert!(listings.lines().any(|l| l.split(',').nth(6) == Some("")), "some drafts were never submitted");
    assert!(Path::new(&dir.path().join("interactions.csv")).exists());
}

/// The ranking recovers what the generator planted: P(sell) correlates with the planted
/// propensity on users who are not active sellers (Spearman; an oracle logistic regression on
/// the latent traits reaches about 0.74), the model beats chance clearly, and the three planted
/// short categories are found first.
#[test]
fn the_seller_ranking_recovers_the_planted_propensity_and_short_categories() {
    use shoplens::analytics::marketplace::{scoring, sellers};
    let (_dir, path, planted) = marketplace(6_000);
    let conn = shoplens::workspace::open_read_only(&path).unwrap();
    let data = shoplens::workspace::copies::load_marketplace(&conn, &JobContext::detached()).unwrap();
    let started = std::time::Instant::now();
    let result = sellers::compute(&data, &sellers::SellerSettings::default(), &JobContext::detached()).unwrap();
    eprintln!("sellers on 6,000 users: {:?}", started.elapsed());
    let planted: HashMap<&str, f64> = planted.propensity.iter().map(|(id, p)| (id.as_str(), *p)).collect();
    let (mut ours, mut truth) = (Vec::new(), Vec::new());
    for c in &result.candidates {
        ours.push(c.p_sell);
        truth.push(planted[data.users[c.user as usize].id.as_str()]);
    }
    let rho = scoring::spearman(&ours, &truth).unwrap();
    let r = &result.report;
    eprintln!("Spearman {rho:.3}; AUC logistic {:?}, forest {:?}; chosen {}", r.auc_logistic, r.auc_forest, r.chosen.name());
    assert!(rho > 0.5, "Spearman {rho}");
    assert!(r.auc_logistic.unwrap().max(r.auc_forest.unwrap()) > 0.75);
    let shortest: Vec<&str> = result.shortages.iter().take(3).map(|s| data.categories[s.category as usize].as_str()).collect();
    let mut expected = planted_short();
    expected.sort_unstable();
    let mut found = shortest.clone();
    found.sort_unstable();
    assert_eq!(found, expected, "the planted short categories come first: {shortest:?}");
    // Calibrated: over all users the mean P(sell) is the share of active sellers (Platt scaling
    // fits that exactly, up to its subsample), and in every well-filled bin the predicted P(sell)
    // is within sampling error (3 standard errors, plus 0.05 for the sigmoid's shape) of the
    // share observed.
    let users: usize = r.calibration.iter().map(|b| b.count).sum();
    let predicted: f64 = r.calibration.iter().map(|b| b.mean_predicted * b.count as f64).sum::<f64>() / users as f64;
    let observed = r.positives as f64 / users as f64;
    assert!((predicted - observed).abs() < 0.02, "mean P(sell) {predicted:.3} vs share of active sellers {observed:.3}");
    for bin in r.calibration.iter().filter(|b| b.count >= 100) {
        let se = (bin.observed * (1.0 - bin.observed) / bin.count as f64).sqrt();
        assert!((bin.mean_predicted - bin.observed).abs() < 0.05 + 3.0 * se, "{bin:?}");
    }
    assert!(result.candidates.windows(2).all(|w| w[0].score >= w[1].score), "best score first");
}

fn planted_short() -> Vec<&'static str> {
    vec!["trading cards", "vinyl records", "watches"]
}

/// `shoplens sellers` writes the documented columns (scripts depend on them): every non-seller
/// without --top, the categories shortest first, and the model report.
#[test]
fn sellers_commands_write_the_documented_columns() {
    let (dir, path, _) = marketplace(1_500);
    let w = path.display().to_string();
    let out_file = dir.path().join("candidates.csv");
    let categories_file = dir.path().join("categories.csv");
    let out =
        shoplens(&["sellers", &w, "--out", &out_file.display().to_string(), "--categories-out", &categories_file.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let active: usize = stderr.split(" active sellers").next().unwrap().rsplit(' ').next().unwrap().replace(',', "").parse().unwrap();
    let candidates = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        candidates.starts_with("user_id,score,p_sell,match,country,purchases,collection_size,top_categories,reasons\n"),
        "{candidates}"
    );
    assert_eq!(candidates.lines().count() - 1, 1_500 - active, "every user who is not an active seller");
    let scores: Vec<f64> = candidates.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "ranked by score");
    let categories = std::fs::read_to_string(&categories_file).unwrap();
    assert!(categories.starts_with("category,demand,supply,shortage_ratio,"), "{categories}");
    // An earlier date: fewer sales in its 12 months, so a different set of active sellers.
    let out = shoplens(&["sellers", &w, "--date", "2024-06-30", "--top", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("as of 2024-06-30 23:59:59"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4, "--top 3 and the header");
    let report = shoplens(&["sellers", &w, "--report"]);
    let text = String::from_utf8_lossy(&report.stdout);
    for line in [
        "metric,value",
        "auc_logistic,",
        "auc_forest,",
        "precision_at_50,",
        "precision_at_100,",
        "precision_at_500,",
        "weight_collection_size,",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let out = shoplens(&["sellers", &w, "--categories", "no such thing"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no category 'no such thing'"));
}
