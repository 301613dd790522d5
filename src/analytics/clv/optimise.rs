//! Maximum likelihood fits for the CLV models: L-BFGS with a Moré–Thuente line search (argmin)
//! over the logarithms of the parameters, so every step stays in the positive domain.

use std::cell::RefCell;

use argmin::core::{CostFunction, Error, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

/// A model's log-likelihood over its data, in natural parameters.
pub trait LogLikelihood {
    /// Whether every parameter is positive (then the search runs on their logarithms).
    const POSITIVE: bool = true;
    /// Customers the likelihood sums over (to report the mean).
    fn observations(&self) -> f64;
    /// Σ log-likelihood and its gradient with respect to the natural parameters.
    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>);
}

/// Where a fit stopped and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    pub params: Vec<f64>,
    /// Σ log-likelihood at `params` (without the penalty).
    pub log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
    /// Parameters that ended at the edge of the search domain (name index), which means the
    /// data cannot pin them down.
    pub at_boundary: Vec<usize>,
}

/// Parameters below e⁻¹² or above e¹² count as having run off to a boundary.
const LOG_BOUND: f64 = 12.0;

/// An evaluated point: log-parameters, cost and gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// Mean negative log-likelihood plus `penalty` × Σ params², in log-parameters. The last
/// evaluation is cached: L-BFGS asks for the cost and the gradient at the same point.
struct Objective<'a, M> {
    model: &'a M,
    penalty: f64,
    cache: RefCell<Option<Evaluation>>,
}

impl<M: LogLikelihood> Objective<'_, M> {
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Some((at, cost, grad)) = self.cache.borrow().as_ref() {
            if at.as_slice() == theta {
                return (*cost, grad.clone());
            }
        }
        let params = natural::<M>(theta);
        let (ll, grad) = self.model.value_and_gradient(&params);
        let n = self.model.observations().max(1.0);
        let mut cost = -ll / n + self.penalty * params.iter().map(|p| p * p).sum::<f64>();
        let mut gradient: Vec<f64> = params
            .iter()
            .zip(&grad)
            .map(|(p, g)| {
                let d = -g / n + 2.0 * self.penalty * p;
                // Chain rule for log-parameters: d/dθ = p · d/dp.
                if M::POSITIVE {
                    p * d
                } else {
                    d
                }
            })
            .collect();
        if !cost.is_finite() {
            // Lets the line search back off instead of failing the fit.
            cost = f64::MAX;
            gradient.iter_mut().for_each(|g| *g = 0.0);
        }
        *self.cache.borrow_mut() = Some((theta.to_vec(), cost, gradient.clone()));
        (cost, gradient)
    }
}

impl<M: LogLikelihood> CostFunction for Objective<'_, M> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Self::Param) -> Result<f64, Error> {
        Ok(self.evaluate(theta).0)
    }
}

impl<M: LogLikelihood> Gradient for Objective<'_, M> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Self::Param) -> Result<Vec<f64>, Error> {
        Ok(self.evaluate(theta).1)
    }
}

/// Natural parameters from the searched ones.
fn natural<M: LogLikelihood>(theta: &[f64]) -> Vec<f64> {
    if M::POSITIVE {
        theta.iter().map(|t| t.clamp(-50.0, 50.0).exp()).collect()
    } else {
        theta.to_vec()
    }
}

/// Fits `model` from `start` (natural parameters).
pub fn fit<M: LogLikelihood>(model: &M, start: &[f64], penalty: f64) -> Result<FitOutcome, String> {
    let objective = Objective { model, penalty, cache: RefCell::new(None) };
    let theta0: Vec<f64> = if M::POSITIVE { start.iter().map(|p| p.ln()).collect() } else { start.to_vec() };
    let linesearch = MoreThuenteLineSearch::new();
    let solver =
        LBFGS::new(linesearch, 10).with_tolerance_grad(1e-9).and_then(|s| s.with_tolerance_cost(1e-14)).map_err(|e| e.to_string())?;
    let result = Executor::new(objective, solver)
        .configure(|state| state.param(theta0).max_iters(1_000))
        .run()
        .map_err(|e| format!("the optimiser failed: {e}"))?;
    let state = result.state();
    let theta = state.get_best_param().cloned().ok_or("the optimiser returned no parameters")?;
    // A line search that cannot improve any more also ends the run; that is convergence too
    // when the gradient there is flat.
    let flat = result.problem().problem.as_ref().map(|o| o.evaluate(&theta).1.iter().all(|g| g.abs() < 1e-6)).unwrap_or(false);
    let converged = flat
        || matches!(
            state.get_termination_status(),
            TerminationStatus::Terminated(TerminationReason::SolverConverged | TerminationReason::TargetCostReached)
        );
    let params = natural::<M>(&theta);
    let log_likelihood = model.value_and_gradient(&params).0;
    let at_boundary =
        if M::POSITIVE { theta.iter().enumerate().filter(|(_, t)| t.abs() >= LOG_BOUND).map(|(i, _)| i).collect() } else { Vec::new() };
    Ok(FitOutcome { params, log_likelihood, iterations: state.get_iter(), converged, at_boundary })
}

/// Checks an analytic gradient against central differences (used by the models' tests).
#[cfg(test)]
pub fn assert_gradient<M: LogLikelihood>(model: &M, params: &[f64]) {
    let (_, grad) = model.value_and_gradient(params);
    for i in 0..params.len() {
        let h = 1e-6 * params[i];
        let mut up = params.to_vec();
        let mut down = params.to_vec();
        up[i] += h;
        down[i] -= h;
        let numeric = (model.value_and_gradient(&up).0 - model.value_and_gradient(&down).0) / (2.0 * h);
        assert!((numeric - grad[i]).abs() <= 1e-5 * numeric.abs().max(1.0), "parameter {i}: analytic {} vs numeric {numeric}", grad[i]);
    }
}
