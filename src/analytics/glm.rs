//! The one Poisson regression (log link) behind the price elasticity and the sales forecast.
//!
//! Fitted as statsmodels' `GLM(family=Poisson())` fits it: iteratively reweighted least squares,
//! i.e. Newton's method on the log-likelihood, with **step-halving**: a step that lowers the
//! (penalised) log-likelihood is halved until it does not, so the fit converges wherever the
//! likelihood has a maximum instead of overshooting on sparse data (a product that sells on few
//! days). Convergence is a relative change of the log-likelihood below 1e-12 or a step below
//! 1e-10. References: `tests/pricing.rs` (statsmodels, elasticity fixture) and `tests/events.rs`
//! (statsmodels, forecast fixture).
//!
//! Standard errors come in two kinds. The model-based ones assume Poisson variance (variance =
//! mean); real daily sales are overdispersed, so the **quasi-Poisson** ones scale the covariance
//! by Pearson's χ² over the residual degrees of freedom, as statsmodels' `fit(scale="X2")` does.

use linfa_linalg::cholesky::{InverseC, SolveC};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GlmError {
    #[error("too few observations ({observations}) for {coefficients} coefficients")]
    TooFewObservations { observations: usize, coefficients: usize },
    #[error("the design is singular: a column is constant or repeats another")]
    Singular,
    #[error("the fit did not converge in {0} iterations")]
    NoConvergence(usize),
}

/// A fitted Poisson regression.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonFit {
    pub coefficients: Array1<f64>,
    /// The inverse Fisher information at the estimate (Poisson variance, scale 1).
    pub covariance: Array2<f64>,
    /// Pearson's χ²: Σ (y − μ)² / μ.
    pub pearson_chi2: f64,
    /// Observations minus coefficients.
    pub residual_df: usize,
    pub iterations: usize,
}

impl PoissonFit {
    /// The quasi-Poisson dispersion: Pearson's χ² per residual degree of freedom (1 under the
    /// Poisson assumption; above 1 when the data vary more than a Poisson count would).
    pub fn dispersion(&self) -> f64 {
        if self.residual_df == 0 {
            return f64::NAN;
        }
        self.pearson_chi2 / self.residual_df as f64
    }

    /// The model-based standard error of coefficient `j`.
    pub fn standard_error(&self, j: usize) -> f64 {
        self.covariance[[j, j]].max(0.0).sqrt()
    }

    /// The quasi-Poisson standard error of coefficient `j` (statsmodels' `scale="X2"`).
    pub fn quasi_standard_error(&self, j: usize) -> f64 {
        self.standard_error(j) * self.dispersion().sqrt()
    }
}

const MAX_ITERATIONS: usize = 200;
const MAX_HALVINGS: usize = 40;
/// The linear predictor is capped so that one wild step cannot overflow `exp`.
const MAX_ETA: f64 = 50.0;

/// Fits `log E[y] = X·β` by maximum likelihood, minus `ridge` × n × Σβ² (0 for the plain MLE;
/// the forecast's small ridge keeps a coefficient finite when its feature never varies). The
/// first column of `x` must be the intercept: the fit starts from β₀ = ln(mean y), the rest 0.
pub fn fit_poisson(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, ridge: f64) -> Result<PoissonFit, GlmError> {
    let (n, width) = x.dim();
    if n <= width {
        return Err(GlmError::TooFewObservations { observations: n, coefficients: width });
    }
    let penalty = 2.0 * ridge * n as f64;
    let objective = |beta: &Array1<f64>| -> f64 {
        let eta = x.dot(beta).mapv(|e| e.min(MAX_ETA));
        let ll: f64 = eta.iter().zip(y).map(|(e, y)| y * e - e.exp()).sum();
        ll - 0.5 * penalty * beta.dot(beta)
    };
    let mut beta = Array1::zeros(width);
    beta[0] = (y.mean().unwrap_or(0.0).max(1e-3)).ln();
    let mut current = objective(&beta);
    // Whether a log-likelihood is no worse than `than` (to rounding); NaN never is.
    let no_worse = |value: f64, than: f64| value >= than - 1e-12 * than.abs();
    for iteration in 1..=MAX_ITERATIONS {
        let mu = means(x, &beta);
        let information = information(x, &mu, penalty);
        let score = x.t().dot(&(&y - &mu)) - penalty * &beta;
        // `solvec` factors its matrix in place: solve on a copy.
        let step = information.clone().solvec(&score.view().insert_axis(Axis(1)).to_owned()).map_err(|_| GlmError::Singular)?;
        let step = step.column(0).to_owned();
        let mut scale = 1.0;
        let mut next = &beta + &step;
        let mut value = objective(&next);
        let mut halvings = 0;
        while !no_worse(value, current) && halvings < MAX_HALVINGS {
            scale *= 0.5;
            next = &beta + &(scale * &step);
            value = objective(&next);
            halvings += 1;
        }
        if !no_worse(value, current) {
            // No step along Newton's direction improves: the estimate is at the maximum to
            // numerical precision when the score vanishes there.
            let done = score.iter().all(|s| s.abs() < 1e-6 * (1.0 + current.abs()));
            return if done { finish(x, y, beta, penalty, iteration) } else { Err(GlmError::NoConvergence(iteration)) };
        }
        let change = (value - current).abs();
        let largest_step = step.iter().fold(0.0_f64, |m, s| m.max((scale * s).abs()));
        beta = next;
        current = value;
        if change <= 1e-12 * (1.0 + current.abs()) || largest_step < 1e-10 {
            return finish(x, y, beta, penalty, iteration);
        }
    }
    Err(GlmError::NoConvergence(MAX_ITERATIONS))
}

/// The fitted means e^(X·β).
fn means(x: ArrayView2<'_, f64>, beta: &Array1<f64>) -> Array1<f64> {
    x.dot(beta).mapv(|e| e.min(MAX_ETA).exp())
}

/// The (penalised) Fisher information X'WX + penalty·I, W = diag(μ).
fn information(x: ArrayView2<'_, f64>, mu: &Array1<f64>, penalty: f64) -> Array2<f64> {
    let mut information = x.t().dot(&(&x * &mu.view().insert_axis(Axis(1))));
    information.diag_mut().mapv_inplace(|d| d + penalty);
    information
}

fn finish(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    beta: Array1<f64>,
    penalty: f64,
    iterations: usize,
) -> Result<PoissonFit, GlmError> {
    let mu = means(x, &beta);
    let covariance = information(x, &mu, penalty).invc().map_err(|_| GlmError::Singular)?;
    let pearson_chi2 = y.iter().zip(&mu).map(|(y, m)| (y - m).powi(2) / m.max(1e-300)).sum();
    let (n, width) = x.dim();
    Ok(PoissonFit { coefficients: beta, covariance, pearson_chi2, residual_df: n - width, iterations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Hand-checked: with an intercept and one 0/1 indicator the MLE is the log of each group's
    /// mean, and the variance of the indicator's coefficient is 1/Σy₀ + 1/Σy₁.
    #[test]
    fn two_groups_give_the_log_of_their_means() {
        let x = array![[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]];
        let y = array![1.0, 2.0, 3.0, 6.0, 9.0, 12.0];
        let fit = fit_poisson(x.view(), y.view(), 0.0).unwrap();
        assert!((fit.coefficients[0] - 2.0_f64.ln()).abs() < 1e-9);
        assert!((fit.coefficients[1] - (9.0_f64 / 2.0).ln()).abs() < 1e-9);
        assert!((fit.standard_error(1) - (1.0 / 6.0 + 1.0 / 27.0_f64).sqrt()).abs() < 1e-9);
        // Pearson's χ²: (1−2)²/2 + 0 + (3−2)²/2 + (6−9)²/9 + 0 + (12−9)²/9 = 3, over 4 df.
        assert!((fit.dispersion() - 3.0 / 4.0).abs() < 1e-9);
    }

    /// A far start (counts in the thousands from β₀ = ln mean with a steep slope) needs the
    /// step-halving: plain Newton overshoots into e^50.
    #[test]
    fn a_steep_curve_converges() {
        let x = Array2::from_shape_fn((40, 2), |(i, j)| if j == 0 { 1.0 } else { i as f64 / 4.0 });
        let y = Array1::from_shape_fn(40, |i| (0.2 + 0.8 * i as f64 / 4.0).exp().round());
        let fit = fit_poisson(x.view(), y.view(), 0.0).unwrap();
        assert!((fit.coefficients[1] - 0.8).abs() < 0.01, "{fit:?}");
    }

    #[test]
    fn a_constant_column_is_singular_without_a_ridge() {
        let x = array![[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]];
        let y = array![1.0, 2.0, 3.0];
        assert_eq!(fit_poisson(x.view(), y.view(), 0.0), Err(GlmError::Singular));
        assert!(fit_poisson(x.view(), y.view(), 1e-6).is_ok());
    }
}
