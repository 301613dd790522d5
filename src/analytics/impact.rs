//! Did a price change work? The realised effect of one product's price change on its daily
//! units (or revenue, or profit) against comparable untouched products, as a
//! difference-in-differences (issue 33; this module is its estimator).
//!
//! Why this design: a product's sales move for reasons of their own (season, a campaign, the
//! month's payday), so its change from before to after a price change is not the change's effect.
//! Products of the same category whose price did not change in either window feel the same
//! season and campaigns; their change over the same days is what the product would have done
//! anyway. The effect is the product's change minus theirs. It assumes the controls would have
//! moved as the product did without the change (parallel trends, which the caller checks on the
//! days before), that the change did not move the controls' sales (no shoppers switching
//! between them), and that days without a sale are zero sales, not missing data.
//!
//! The estimate is the ordinary least squares of the daily figure on product and day fixed
//! effects and the treated-after indicator, over a balanced panel (every product every day of
//! both windows). On a balanced panel that regression has a closed form: with every series
//! demeaned by product and by day (x̃ = x − x̄ᵢ − x̄ₜ + x̄), the effect is Σ D̃ỹ / Σ D̃², which is
//! also (the product's after − before) − (the controls' after − before). Its standard error is
//! OLS's own (homoskedastic, as statsmodels' default): σ̂² / Σ D̃² with σ̂² the residual sum of
//! squares over N·T − N − T degrees of freedom. The 95% interval and P(effect > 0) come from
//! the t distribution on those degrees of freedom.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The effect of a change on one product, against its controls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DidEstimate {
    /// In the figure's units a day (units, money).
    pub effect: f64,
    pub standard_error: f64,
    /// Residual degrees of freedom: N·T − N − T.
    pub degrees_of_freedom: f64,
    /// The 95% interval.
    pub interval: (f64, f64),
    /// P(effect > 0) under the t distribution around the estimate.
    pub p_positive: f64,
}

/// Why no estimate can be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DidError {
    #[error("no comparable products left untouched in both windows")]
    NoControls,
    #[error("the windows need at least two days each (before: {before}, after: {after})")]
    TooFewDays { before: usize, after: usize },
    #[error("every series must cover the same days: the product has {treated} days, a control {control}")]
    Unbalanced { treated: usize, control: usize },
    #[error("nothing varies: no interval can be given")]
    NoVariation,
}

/// The difference-in-differences of `treated` against `controls` (each a daily series over the
/// same days: `before` days before the change, then the rest after it).
pub fn difference_in_differences(treated: &[f64], controls: &[Vec<f64>], before: usize) -> Result<DidEstimate, DidError> {
    let days = treated.len();
    let after = days.saturating_sub(before);
    if controls.is_empty() {
        return Err(DidError::NoControls);
    }
    if before < 2 || after < 2 {
        return Err(DidError::TooFewDays { before, after });
    }
    if let Some(control) = controls.iter().find(|c| c.len() != days) {
        return Err(DidError::Unbalanced { treated: days, control: control.len() });
    }
    let series: Vec<&[f64]> = std::iter::once(treated).chain(controls.iter().map(Vec::as_slice)).collect();
    let (n, t) = (series.len(), days);
    let indicator = |i: usize, d: usize| if i == 0 && d >= before { 1.0 } else { 0.0 };
    // Two-way demeaning of the figure and of the indicator.
    let demean = |value: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
        let grand = (0..n).flat_map(|i| (0..t).map(move |d| (i, d))).map(|(i, d)| value(i, d)).sum::<f64>() / (n * t) as f64;
        let by_unit: Vec<f64> = (0..n).map(|i| (0..t).map(|d| value(i, d)).sum::<f64>() / t as f64).collect();
        let by_day: Vec<f64> = (0..t).map(|d| (0..n).map(|i| value(i, d)).sum::<f64>() / n as f64).collect();
        (0..n).map(|i| (0..t).map(|d| value(i, d) - by_unit[i] - by_day[d] + grand).collect()).collect()
    };
    let y = demean(&|i, d| series[i][d]);
    let x = demean(&|i, d| indicator(i, d));
    let sxx: f64 = x.iter().flatten().map(|v| v * v).sum();
    let sxy: f64 = x.iter().flatten().zip(y.iter().flatten()).map(|(a, b)| a * b).sum();
    let effect = sxy / sxx;
    let ssr: f64 = x.iter().flatten().zip(y.iter().flatten()).map(|(a, b)| (b - effect * a).powi(2)).sum();
    let df = (n * t - n - t) as f64;
    let standard_error = (ssr / df / sxx).sqrt();
    // A fit with no residual left (rounding aside) has no spread to give an interval from.
    let total: f64 = y.iter().flatten().map(|v| v * v).sum();
    if ssr <= 1e-20 * total.max(1.0) || !standard_error.is_finite() {
        return Err(DidError::NoVariation);
    }
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|_| DidError::NoVariation)?;
    let q = dist.inverse_cdf(0.975);
    Ok(DidEstimate {
        effect,
        standard_error,
        degrees_of_freedom: df,
        interval: (effect - q * standard_error, effect + q * standard_error),
        p_positive: dist.cdf(effect / standard_error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: the product sells 10 then 6 a day, the controls 5 then 4 and 7 then 6:
    /// (6 − 10) − (5 − 6) = −3, whatever the noise-free spread.
    #[test]
    fn the_effect_is_the_products_change_minus_the_controls() {
        let treated = [10.0, 10.0, 10.0, 6.0, 6.0, 6.0];
        let controls = vec![vec![5.0, 5.0, 5.0, 4.0, 4.0, 4.0], vec![7.0, 7.0, 7.0, 6.0, 6.0, 6.0]];
        assert!(matches!(difference_in_differences(&treated, &controls, 3), Err(DidError::NoVariation)));
        // With a wobble the estimate is still the difference of the window means.
        let treated = [10.0, 11.0, 9.0, 6.0, 7.0, 5.0];
        let estimate = difference_in_differences(&treated, &controls, 3).unwrap();
        assert!((estimate.effect - (-3.0)).abs() < 1e-12, "{estimate:?}");
        assert_eq!(estimate.degrees_of_freedom, (3 * 6 - 3 - 6) as f64);
    }

    #[test]
    fn no_controls_or_days_say_so() {
        assert_eq!(difference_in_differences(&[1.0; 6], &[], 3), Err(DidError::NoControls));
        assert_eq!(difference_in_differences(&[1.0; 3], &[vec![1.0; 3]], 1), Err(DidError::TooFewDays { before: 1, after: 2 }));
        assert_eq!(difference_in_differences(&[1.0; 6], &[vec![1.0; 5]], 3), Err(DidError::Unbalanced { treated: 6, control: 5 }));
    }
}
