//! The realised effect of a price change (issue 33), against an independent reference: the
//! difference-in-differences equals statsmodels' OLS with product and day fixed effects on a
//! committed panel (testdata/reference/make_impact_reference.py), its standard error, interval
//! and P(effect > 0) included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use shoplens::analytics::impact::difference_in_differences;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader.records().map(|r| header.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()).collect()
}

#[test]
fn difference_in_differences_equals_statsmodels_two_way_fixed_effects() {
    let panel = read_csv(&testdata("reference/impact_panel.csv"));
    let mut series: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for row in &panel {
        series.entry(row["product"].clone()).or_default().push(row["units"].parse().unwrap());
    }
    let treated = series.remove("P0").unwrap();
    let controls: Vec<Vec<f64>> = series.into_values().collect();
    let estimate = difference_in_differences(&treated, &controls, 14).unwrap();
    let reference: HashMap<String, f64> = read_csv(&testdata("reference/impact_statsmodels.csv"))
        .into_iter()
        .map(|r| (r["name"].clone(), r["value"].parse().unwrap()))
        .collect();
    let near = |got: f64, name: &str| {
        let want = reference[name];
        assert!((got - want).abs() <= 1e-8 * want.abs().max(1e-6), "{name}: {got} vs {want}");
    };
    near(estimate.effect, "effect");
    near(estimate.standard_error, "se");
    near(estimate.interval.0, "ci_low");
    near(estimate.interval.1, "ci_high");
    near(estimate.degrees_of_freedom, "df");
    near(estimate.p_positive, "p_positive");
}
