//! Customer models against independent references:
//! - BG/NBD and Gamma-Gamma on CDNOW against the published parameters (Fader, Hardie & Lee 2005;
//!   Fader & Hardie 2013) and per-customer predictions against SciPy (testdata/reference);
//! - RFM on UCI Online Retail II against the pandas recipe (testdata/reference);
//! - cohorts against SQL over the same workspace.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use shoplens::analytics::clv::bgnbd::{BgNbd, BgNbdData};
use shoplens::analytics::clv::gamma_gamma::{GammaGamma, GammaGammaData};
use shoplens::analytics::clv::{self, optimise, ClvSettings, TimeUnit};
use shoplens::analytics::customers::LineView;
use shoplens::analytics::rfm::{self, SegmentGrid};
use shoplens::analytics::{clusters, cohorts, Filters};
use shoplens::import::{self, ImportOptions};
use shoplens::jobs::JobContext;
use shoplens::workspace::Workspace;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

fn workspace_with(file: &str) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("customers.shoplens")).unwrap();
    import::import_file(&mut ws, &testdata(file), &ImportOptions::default(), &JobContext::detached()).unwrap();
    (dir, ws)
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader.records().map(|r| header.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()).collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

/// Equal to `sig` significant digits.
fn same_to_sig(got: f64, want: f64, sig: i32) -> bool {
    let scale = 10f64.powi(want.abs().log10().floor() as i32 - sig + 1);
    (got / scale).round() == (want / scale).round()
}

fn cdnow_summary() -> Vec<HashMap<String, String>> {
    read_csv(&testdata("cdnow_customers_summary_with_transactions.csv"))
}

#[test]
fn bgnbd_on_cdnow_gives_the_published_parameters() {
    let rows = cdnow_summary();
    assert_eq!(rows.len(), 2357);
    let data = BgNbdData::new(rows.iter().map(|r| (num(r, "x"), num(r, "t_x"), num(r, "T"))));
    let fit = optimise::fit(&data, &[1.0; 4], 0.0).unwrap();
    let m = BgNbd::from_slice(&fit.params);
    assert!(fit.converged && fit.at_boundary.is_empty(), "{fit:?}");
    // Fader, Hardie & Lee (2005), table in section 5: r = 0.243, α = 4.414, a = 0.793, b = 2.426,
    // log-likelihood −9582.4.
    for (name, got, want) in [("r", m.r, 0.243), ("alpha", m.alpha, 4.414), ("a", m.a, 0.793), ("b", m.b, 2.426)] {
        assert!(same_to_sig(got, want, 3), "{name} = {got}, published {want}");
    }
    assert!((fit.log_likelihood - -9582.4).abs() < 0.1, "{}", fit.log_likelihood);
}

#[test]
fn gamma_gamma_on_cdnow_repeat_buyers_gives_the_published_parameters() {
    let rows = cdnow_summary();
    let data = GammaGammaData::new(rows.iter().map(|r| (num(r, "x"), num(r, "zbar"))));
    assert_eq!(data.len(), 946);
    let fit = optimise::fit(&data, &[1.0; 3], 0.0).unwrap();
    let m = GammaGamma::from_slice(&fit.params);
    assert!(fit.converged && fit.at_boundary.is_empty(), "{fit:?}");
    // Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p = 6.25, q = 3.74, γ = 15.44.
    for (name, got, want) in [("p", m.p, 6.25), ("q", m.q, 3.74), ("v", m.v, 15.44)] {
        assert!(same_to_sig(got, want, 3), "{name} = {got}, published {want}");
    }
}

/// Per-customer P(alive), expected purchases and expected spend of the published models agree
/// with the papers' formulas evaluated in SciPy (testdata/reference/make_cdnow_reference.py).
#[test]
fn per_customer_predictions_agree_with_the_published_model() {
    let bg = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    let gg = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };
    let rows = read_csv(&testdata("reference/cdnow_predictions_scipy.csv"));
    assert_eq!(rows.len(), 200);
    for row in &rows {
        let (x, t_x, big_t, m) = (num(row, "x"), num(row, "t_x"), num(row, "T"), num(row, "zbar"));
        let close = |got: f64, want: f64| (got - want).abs() <= 1e-9 * want.abs().max(1e-3);
        assert!(close(bg.p_alive(x, t_x, big_t), num(row, "p_alive")), "P(alive) of {}", row["ID"]);
        assert!(close(bg.expected_purchases(39.0, x, t_x, big_t), num(row, "expected_39_weeks")), "E[Y(39)] of {}", row["ID"]);
        let spend = gg.expected_average_value(x, m).unwrap();
        assert!(close(spend, num(row, "expected_spend")), "E[M] of {}", row["ID"]);
    }
}

/// The whole chain against another library: `lifetimes` 0.11.3 fitted BG/NBD and Gamma-Gamma to
/// CDNOW with its own likelihood and optimiser (testdata/reference/make_cdnow_lifetimes_reference.py).
/// Our fits must find the same parameters, and every customer's P(alive), expected purchases in
/// 39 weeks and expected spend must agree.
#[test]
fn per_customer_predictions_agree_with_lifetimes() {
    let rows = cdnow_summary();
    let params: HashMap<String, f64> = read_csv(&testdata("reference/cdnow_lifetimes_params.csv"))
        .iter()
        .filter(|r| r["model"] != "meta")
        .map(|r| (format!("{}.{}", r["model"], r["parameter"]), num(r, "value")))
        .collect();
    let bg_fit = optimise::fit(&BgNbdData::new(rows.iter().map(|r| (num(r, "x"), num(r, "t_x"), num(r, "T")))), &[1.0; 4], 0.0).unwrap();
    let bg = BgNbd::from_slice(&bg_fit.params);
    let gg_fit = optimise::fit(&GammaGammaData::new(rows.iter().map(|r| (num(r, "x"), num(r, "zbar")))), &[1.0; 3], 0.0).unwrap();
    let gg = GammaGamma::from_slice(&gg_fit.params);
    let relative = |got: f64, want: f64| (got - want).abs() / want.abs().max(1e-12);
    for (name, got) in [
        ("bgnbd.r", bg.r),
        ("bgnbd.alpha", bg.alpha),
        ("bgnbd.a", bg.a),
        ("bgnbd.b", bg.b),
        ("gamma_gamma.p", gg.p),
        ("gamma_gamma.q", gg.q),
        ("gamma_gamma.v", gg.v),
    ] {
        assert!(relative(got, params[name]) < 1e-4, "{name}: ours {got}, lifetimes {}", params[name]);
    }
    let predictions = read_csv(&testdata("reference/cdnow_predictions_lifetimes.csv"));
    assert_eq!(predictions.len(), rows.len());
    let mut worst = 0.0f64;
    for row in &predictions {
        let (x, t_x, big_t, m) = (num(row, "x"), num(row, "t_x"), num(row, "T"), num(row, "zbar"));
        let pairs = [
            ("P(alive)", bg.p_alive(x, t_x, big_t), num(row, "p_alive")),
            ("E[Y(39)]", bg.expected_purchases(39.0, x, t_x, big_t), num(row, "expected_39_weeks")),
            ("E[M]", gg.expected_average_value(x, m).unwrap(), num(row, "expected_spend")),
        ];
        for (what, got, want) in pairs {
            let error = relative(got, want);
            worst = worst.max(error);
            assert!(error < 1e-4, "{what} of customer {}: ours {got}, lifetimes {want}", row["ID"]);
        }
    }
    eprintln!("largest relative difference from lifetimes: {worst:.2e}");
}

/// From the raw transaction file through import to the model's inputs: the CDNOW sample,
/// calibrated on 1997-01-01..1997-09-30 in weeks, gives the same (x, t_x, T) as the published
/// summary, and the calibration fit of the holdout check gives the published parameters.
#[test]
fn cdnow_transactions_summarise_to_the_published_inputs() {
    let (_dir, ws) = workspace_with("CDNOW_sample.txt");
    let frame = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    let view = LineView::new(&frame, &Filters::default()).unwrap();
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
    let end_day = shoplens::analytics::customers::day_start(end) / 86_400;
    let ours = clv::summarise(&view, end_day, TimeUnit::Week);
    assert_eq!(ours.len(), 2357);
    let key = |x: f64, t_x: f64, t: f64| ((x * 100.0).round() as i64, (t_x * 100.0).round() as i64, (t * 100.0).round() as i64);
    let mut mine: Vec<_> = ours.iter().map(|s| key(s.x, s.t_x, s.big_t)).collect();
    let mut published: Vec<_> = cdnow_summary().iter().map(|r| key(num(r, "x"), num(r, "t_x"), num(r, "T"))).collect();
    mine.sort();
    published.sort();
    let differing = mine.iter().zip(&published).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} of 2,357 (x, t_x, T) differ from the published summary");
    // Mean repeat spend, as zbar (published rounded to cents).
    let mut spend: Vec<f64> = ours.iter().map(|s| s.m).collect();
    let mut zbar: Vec<f64> = cdnow_summary().iter().map(|r| num(r, "zbar")).collect();
    spend.sort_by(f64::total_cmp);
    zbar.sort_by(f64::total_cmp);
    let off = spend.iter().zip(&zbar).filter(|(a, b)| (*a - *b).abs() > 0.005 + 1e-9).count();
    assert_eq!(off, 0, "{off} mean spends differ from zbar by more than half a cent");

    let settings = ClvSettings { unit: TimeUnit::Week, horizon: 39, holdout_split: Some(end), ..ClvSettings::default() };
    let result = clv::compute(&frame, &Filters::default(), &settings, &JobContext::detached()).unwrap();
    let holdout = result.holdout.as_ref().unwrap();
    let m = holdout.fit.model;
    for (got, want) in [(m.r, 0.243), (m.alpha, 4.414), (m.a, 0.793), (m.b, 2.426)] {
        assert!(same_to_sig(got, want, 3), "{m:?}");
    }
    // Holdout: 1997-10-01..1998-06-30 is 39 weeks.
    assert!((holdout.length - 39.0).abs() < 0.01, "{}", holdout.length);
    // Actual holdout purchase days, counted independently with pandas: distinct (customer, date)
    // pairs after 1997-09-30 in CDNOW_sample.txt = 1,882.
    assert_eq!(holdout.total_actual, 1882.0);
    // The published model under-predicts this holdout a little (1,653 here), as in the paper's
    // conditional-expectation figure; a broken fit or expectation would be far off.
    assert!((holdout.total_predicted / holdout.total_actual - 1.0).abs() < 0.15, "{} predicted", holdout.total_predicted);
    // CDNOW's fit does identify churn (a / (a + b) ≈ 0.25): no "not identified" warning.
    assert!(!result.warnings.iter().any(|w| w.contains("Churn is not identified")), "{:?}", result.warnings);
}

/// On the UCI year the BG/NBD fit puts almost no weight on dropping out (b far above a, as
/// lifetimes also finds), so P(alive) near 100% is said to be no finding, in plain words.
#[test]
fn a_window_too_short_to_see_churn_is_said_so() {
    let (_dir, ws) = workspace_with("uci_online_retail_ii_2009-2010.parquet");
    let frame = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    let result = clv::compute(&frame, &Filters::default(), &ClvSettings::default(), &JobContext::detached()).unwrap();
    let m = result.bgnbd.model;
    assert!(m.a / (m.a + m.b) < 0.01, "{m:?}");
    assert!(result.warnings.iter().any(|w| w.contains("Churn is not identified from this window")), "{:?}", result.warnings);
}

/// Self-consistency check, not a reference: customers drawn from the BG/NBD and Gamma-Gamma
/// processes by our own generator give the drawn parameters back. It catches a likelihood or
/// optimiser that drifts, but shares any misreading of the model with the generator; the
/// external references are the published CDNOW fits above and `lifetimes`' own predictions
/// (`per_customer_predictions_agree_with_lifetimes`).
#[test]
fn self_consistency_fits_recover_the_parameters_of_simulated_customers() {
    let truth = [0.5, 6.0, 1.2, 2.5];
    let spend = [4.0, 5.0, 40.0];
    let customers = shoplens::generate::clv_histories(20_000, truth, spend, 52.0, 7);
    let data = BgNbdData::new(customers.iter().map(|c| (c.0, c.1, c.2)));
    let fit = optimise::fit(&data, &[1.0; 4], 0.0).unwrap();
    for (got, want) in fit.params.iter().zip(truth) {
        assert!((got / want - 1.0).abs() < 0.15, "{:?} vs {truth:?}", fit.params);
    }
    let data = GammaGammaData::new(customers.iter().map(|c| (c.0, c.3)));
    let fit = optimise::fit(&data, &[1.0; 3], 0.0).unwrap();
    for (got, want) in fit.params.iter().zip(spend) {
        assert!((got / want - 1.0).abs() < 0.15, "{:?} vs {spend:?}", fit.params);
    }
}

/// CLV by hand for one customer: the sum of discounted monthly expected purchases × spend.
#[test]
fn clv_is_the_discounted_sum_of_expected_monthly_value() {
    let bg = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    let s = clv::CustomerSummary { customer: 0, x: 2.0, t_x: 30.43, big_t: 38.86, m: 22.35, later: 0 };
    let value = 24.66;
    let mut want = 0.0;
    for i in 1..=12 {
        let step = bg.expected_purchases(f64::from(i), s.x, s.t_x, s.big_t) - bg.expected_purchases(f64::from(i - 1), s.x, s.t_x, s.big_t);
        want += step * value / 1.01f64.powi(i);
    }
    let got = clv::clv(&bg, &s, value, 12, 0.01);
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // Undiscounted, CLV is simply E[Y(12)] × value.
    let flat = clv::clv(&bg, &s, value, 12, 0.0);
    assert!((flat - bg.expected_purchases(12.0, s.x, s.t_x, s.big_t) * value).abs() < 1e-9);
}

/// Reference: testdata/reference/make_uci_rfm_reference.py (pandas: `rank(method="average",
/// pct=True)` cut at 0.2 .. 0.8, recency reversed), on the same file.
#[test]
fn rfm_on_uci_equals_the_pandas_recipe() {
    let (_dir, ws) = workspace_with("uci_online_retail_ii_2009-2010.parquet");
    let frame = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    let result = rfm::compute(&frame, &Filters::default(), None, &SegmentGrid::default()).unwrap();
    assert_eq!(result.analysis_date, NaiveDate::from_ymd_opt(2010, 12, 10).unwrap());
    let reference = read_csv(&testdata("reference/uci_rfm_pandas.csv"));
    assert_eq!(result.customers.len(), reference.len());
    for (c, want) in result.customers.iter().zip(&reference) {
        let id = &frame.customers[c.customer as usize];
        assert_eq!(id, &want["customer_id"], "customers in the same (id) order");
        assert_eq!(c.recency_days as f64, num(want, "recency"), "{id}");
        assert_eq!(f64::from(c.frequency), num(want, "frequency"), "{id}");
        assert!((c.monetary - num(want, "monetary")).abs() < 0.006, "{id}");
        let scores = [c.r, c.f, c.m].map(f64::from);
        assert_eq!(scores, [num(want, "R"), num(want, "F"), num(want, "M")], "{id}");
        assert_eq!(result.segments[c.segment].name, want["segment"], "{id}");
    }
    // Segment sizes add up and the heat map agrees with them.
    let total: u64 = result.segments.iter().map(|s| s.customers).sum();
    assert_eq!(total as usize, reference.len());
    assert_eq!(result.heat.iter().flatten().sum::<u64>(), total);
}

#[test]
fn edited_segment_grid_is_saved_in_the_workspace_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.shoplens");
    let mut grid = SegmentGrid::default();
    grid.rename("Hibernating", "Lost");
    grid.cells[4][0] = "Fresh".into();
    grid.set_action("Fresh", "Send the welcome series".into());
    {
        let mut ws = Workspace::open(&path).unwrap();
        shoplens::workspace::settings::save_segment_grid(ws.conn_mut(), &grid).unwrap();
    }
    let ws = Workspace::open(&path).unwrap();
    let loaded = shoplens::workspace::settings::load_segment_grid(ws.conn()).unwrap();
    assert_eq!(loaded.segment(1, 1), "Lost");
    assert_eq!(loaded.segment(5, 1), "Fresh");
    assert_eq!(loaded.action("Fresh"), "Send the welcome series");
    assert_eq!(loaded.action("Lost"), SegmentGrid::default().action("Hibernating"));
}

#[test]
fn cohorts_equal_sql_and_clusters_cover_every_customer() {
    let (_dir, ws) = workspace_with("uci_online_retail_ii_2009-2010.parquet");
    let frame = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    let result = cohorts::compute(&frame, &Filters::default()).unwrap();
    assert_eq!(result.months, 13);
    let sql = "WITH p AS (SELECT customer_id, substr(invoice_date, 1, 7) AS month, quantity * unit_price AS value
                          FROM order_lines WHERE cancelled = 0 AND customer_id IS NOT NULL),
                    f AS (SELECT customer_id, min(month) AS cohort FROM p GROUP BY customer_id)
               SELECT f.cohort, p.month, count(DISTINCT p.customer_id), sum(p.value)
               FROM p JOIN f USING (customer_id) GROUP BY f.cohort, p.month ORDER BY 1, 2";
    let mut stmt = ws.conn().prepare(sql).unwrap();
    let rows: Vec<(String, String, i64, f64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    let month_index = |s: &str| s[..4].parse::<i32>().unwrap() * 12 + s[5..7].parse::<i32>().unwrap() - 1;
    // SQL's answer for every cell: (cohort, months since) -> (active, revenue); absent = 0.
    let mut expected: HashMap<(String, usize), (u64, f64)> = HashMap::new();
    let mut sizes: HashMap<String, u64> = HashMap::new();
    for (cohort, month, active, revenue) in rows {
        let offset = (month_index(&month) - month_index(&cohort)) as usize;
        if offset == 0 {
            sizes.insert(cohort.clone(), active as u64);
        }
        expected.insert((cohort, offset), (active as u64, revenue));
    }
    assert_eq!(result.cohorts.len(), sizes.len(), "one row per acquisition month");
    // Every cell of the result, months after the first included, zeros included.
    let mut later = 0;
    for c in &result.cohorts {
        assert_eq!(c.size, sizes[&c.label()], "{} size", c.label());
        for offset in 0..c.active.len() {
            let (active, revenue) = expected.get(&(c.label(), offset)).copied().unwrap_or((0, 0.0));
            assert_eq!(c.active[offset], active, "{} +{offset}", c.label());
            assert!((c.revenue[offset] - revenue).abs() < 1e-6 * revenue.abs().max(1.0), "{} +{offset}", c.label());
            later += usize::from(offset > 0 && active > 0);
        }
        // The youngest cohorts end at the data's last month.
        assert_eq!(month_index(&c.label()) + c.active.len() as i32 - 1, month_index("2010-12"), "{}", c.label());
    }
    assert!(later > 60, "retention after the first month is checked ({later} cells)");
    // The data ends on 9 Dec 2010: December is each cohort's partial month, and only December.
    assert_eq!(result.last_day, NaiveDate::from_ymd_opt(2010, 12, 9));
    let december = result.cohorts.iter().map(|c| (c, month_index("2010-12") - c.month)).filter(|&(_, k)| k >= 0);
    assert!(december.clone().all(|(c, k)| result.is_partial(c, k as usize) && (k == 0 || !result.is_partial(c, k as usize - 1))));
    // A period that ends with its month has no partial month.
    let november = Filters { to: NaiveDate::from_ymd_opt(2010, 11, 30), ..Filters::default() };
    assert_eq!(cohorts::compute(&frame, &november).unwrap().partial_month, None);

    // The retention table the panel and `shoplens cohorts` show: % of the cohort active in each
    // later month, from SQL's counts.
    let (header, table) = cohorts::table(&result, false);
    assert_eq!(header[..3], ["cohort", "customers", "month_0"]);
    for row in &table {
        let size = sizes[&row[0]] as f64;
        for (offset, cell) in row[2..].iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            let active = expected.get(&(row[0].clone(), offset)).map_or(0, |e| e.0) as f64;
            assert_eq!(*cell, format!("{:.2}", active / size * 100.0), "{} month_{offset}", row[0]);
        }
    }
    let december = table.iter().find(|r| r[0] == "2009-12").unwrap();
    assert_eq!(december[2], "100.00", "month 0 is everyone, by definition");
    assert_ne!(december[3], "100.00", "month 1 is not");

    let rfm_result = rfm::compute(&frame, &Filters::default(), None, &SegmentGrid::default()).unwrap();
    let clustered = clusters::compute(&rfm_result, Some(4), &JobContext::detached()).unwrap();
    assert_eq!(clustered.k, 4);
    assert_eq!(clustered.assignment.len(), rfm_result.customers.len());
    assert_eq!(clustered.profiles.iter().map(|p| p.customers).sum::<u64>() as usize, rfm_result.customers.len());
    // Clusters are numbered by value: cluster 0 spends most on average.
    assert!(clustered.profiles.windows(2).all(|w| w[0].mean_monetary >= w[1].mean_monetary));
    assert_eq!(clustered.candidates.len(), clusters::K_RANGE.count());
}
