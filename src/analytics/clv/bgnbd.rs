//! The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your Customers the
//! Easy Way"): while alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase
//! they drop out with probability p ~ Beta(a, b).
//!
//! Inputs per customer, in one time unit: x = repeat purchases, t_x = time of the last purchase
//! since the first, T = time from the first purchase to the end of observation.

use std::collections::HashMap;

use super::optimise::LogLikelihood;
use crate::analytics::special::hyp2f1;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    pub const NAMES: [&str; 4] = ["r", "alpha", "a", "b"];

    pub fn from_slice(p: &[f64]) -> Self {
        Self { r: p[0], alpha: p[1], a: p[2], b: p[3] }
    }

    /// P(alive | x, t_x, T) (eq. 11 of the paper, as the authors' 2008 note writes it).
    pub fn p_alive(&self, x: f64, t_x: f64, big_t: f64) -> f64 {
        if x <= 0.0 {
            return 1.0;
        }
        let Self { r, alpha, a, b } = *self;
        let ratio = (a / (b + x - 1.0)) * ((r + x) * ((alpha + big_t) / (alpha + t_x)).ln()).exp();
        1.0 / (1.0 + ratio)
    }

    /// E[Y(t) | x, t_x, T]: expected purchases in the next `t` units (eq. 10).
    ///
    /// ₂F₁(r+x, b+x; a+b+x−1; z) converges slowly for customers with many purchases, so it goes
    /// through Euler's transformation ₂F₁(α,β;γ;z) = (1−z)^(γ−α−β) ₂F₁(γ−α, γ−β; γ; z), whose
    /// parameters (a+b−1−r, a−1) do not grow with x. The (1−z) powers then combine into
    /// (1−z)^(a−1).
    pub fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, a, b } = *self;
        let z = t / (alpha + big_t + t);
        let hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z);
        let bracket = 1.0 - (1.0 - z).powf(a - 1.0) * hyp;
        let numerator = (a + b + x - 1.0) / (a - 1.0) * bracket;
        let denominator = if x > 0.0 { 1.0 + (a / (b + x - 1.0)) * ((r + x) * ((alpha + big_t) / (alpha + t_x)).ln()).exp() } else { 1.0 };
        numerator / denominator
    }
}

/// The BG/NBD likelihood over a set of customers, arranged so each evaluation is cheap: the
/// Gamma-function ratios depend only on x (an integer) and are sums of logs, computed once per
/// distinct x; ln(α + T) and ln(α + t_x) are computed once per distinct time (purchase
/// histories are kept in days, so a few hundred distinct values serve tens of thousands of
/// customers); one-time buyers are grouped by T.
pub struct BgNbdData {
    customers: f64,
    /// Customers with x repeat purchases, for x = 0, 1, 2, ….
    count_by_x: Vec<f64>,
    /// Distinct T and t_x values.
    times: Vec<f64>,
    /// One-time buyers: (index into `times` of T, how many).
    single: Vec<(usize, f64)>,
    /// Repeat buyers: (x, index of t_x, index of T).
    repeat: Vec<(u32, u32, u32)>,
}

impl BgNbdData {
    /// `customers` are (x, t_x, T) with x a whole number.
    pub fn new(customers: impl IntoIterator<Item = (f64, f64, f64)>) -> Self {
        let mut count_by_x: Vec<f64> = Vec::new();
        let mut time_index: HashMap<u64, u32> = HashMap::new();
        let mut times = Vec::new();
        let mut index_of = |t: f64| {
            *time_index.entry(t.to_bits()).or_insert_with(|| {
                times.push(t);
                (times.len() - 1) as u32
            })
        };
        let mut single: HashMap<u32, f64> = HashMap::new();
        let mut repeat = Vec::new();
        let mut n = 0.0;
        for (x, t_x, big_t) in customers {
            n += 1.0;
            let xi = x.round().max(0.0) as usize;
            if count_by_x.len() <= xi {
                count_by_x.resize(xi + 1, 0.0);
            }
            count_by_x[xi] += 1.0;
            let t = index_of(big_t);
            if xi == 0 {
                *single.entry(t).or_default() += 1.0;
            } else {
                repeat.push((xi as u32, index_of(t_x), t));
            }
        }
        let mut single: Vec<(usize, f64)> = single.into_iter().map(|(t, c)| (t as usize, c)).collect();
        single.sort_by_key(|s| s.0);
        Self { customers: n, count_by_x, times, single, repeat }
    }
}

impl BgNbdData {
    /// A starting point near typical fits: r = 1 with α matching the mean purchase rate Σx/ΣT,
    /// a = 1, b = 3 (dropout after about one purchase in four).
    pub fn start(&self) -> [f64; 4] {
        let purchases: f64 = self.count_by_x.iter().enumerate().map(|(x, n)| x as f64 * n).sum();
        let time: f64 = self.single.iter().map(|&(t, n)| self.times[t] * n).sum::<f64>()
            + self.repeat.iter().map(|&(_, _, t)| self.times[t as usize]).sum::<f64>();
        let alpha = if purchases > 0.0 && time > 0.0 { time / purchases } else { 1.0 };
        [1.0, alpha.clamp(1e-3, 1e6), 1.0, 3.0]
    }
}

impl LogLikelihood for BgNbdData {
    fn observations(&self) -> f64 {
        self.customers
    }

    fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let BgNbd { r, alpha, a, b } = BgNbd::from_slice(p);
        let ln_alpha = alpha.ln();
        let mut ll = self.customers * r * ln_alpha;
        let mut g = [self.customers * ln_alpha, self.customers * r / alpha, 0.0, 0.0];

        // ln Γ(r+x)/Γ(r) + ln B(a, b+x)/B(a, b) = Σ_{k<x} [ln(r+k) + ln(b+k) − ln(a+b+k)], summed over
        // customers by walking x upwards once; customers_with_more[k] = customers with x > k.
        let mut customers_with_more = vec![0.0; self.count_by_x.len()];
        let mut running = 0.0;
        for k in (0..self.count_by_x.len()).rev() {
            customers_with_more[k] = running;
            running += self.count_by_x[k];
        }
        for (k, &n) in customers_with_more.iter().enumerate() {
            if n == 0.0 {
                continue;
            }
            let k = k as f64;
            ll += n * ((r + k).ln() + (b + k).ln() - (a + b + k).ln());
            g[0] += n / (r + k);
            g[2] -= n / (a + b + k);
            g[3] += n * (1.0 / (b + k) - 1.0 / (a + b + k));
        }

        // Per distinct time: ln(α + t) and 1/(α + t); per distinct x: ln(b + x − 1).
        let ln_time: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        let inv_time: Vec<f64> = self.times.iter().map(|t| 1.0 / (alpha + t)).collect();
        let ln_bx: Vec<f64> = (0..self.count_by_x.len()).map(|x| (b + x as f64 - 1.0).ln()).collect();

        for &(t, n) in &self.single {
            ll -= n * r * ln_time[t];
            g[0] -= n * ln_time[t];
            g[1] -= n * r * inv_time[t];
        }

        let ln_a = a.ln();
        let (mut d_r, mut d_alpha, mut d_a, mut d_b) = (0.0, 0.0, 0.0, 0.0);
        for &(x, tx, t) in &self.repeat {
            let (x, tx, t) = (x as usize, tx as usize, t as usize);
            let rx = r + x as f64;
            let a3 = -rx * ln_time[t];
            let a4 = ln_a - ln_bx[x] - rx * ln_time[tx];
            // ln(e^a3 + e^a4) and the weight of the second term, without overflow.
            let d = a4 - a3;
            let (log_sum, w4) = if d > 0.0 {
                let e = (-d).exp();
                (a4 + e.ln_1p(), 1.0 / (1.0 + e))
            } else {
                let e = d.exp();
                (a3 + e.ln_1p(), e / (1.0 + e))
            };
            let w3 = 1.0 - w4;
            ll += log_sum;
            d_r -= w3 * ln_time[t] + w4 * ln_time[tx];
            d_alpha -= rx * (w3 * inv_time[t] + w4 * inv_time[tx]);
            d_a += w4;
            d_b -= w4 / (b + x as f64 - 1.0);
        }
        g[0] += d_r;
        g[1] += d_alpha;
        g[2] += d_a / a;
        g[3] += d_b;
        (ll, g.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::optimise::assert_gradient;

    fn small() -> BgNbdData {
        BgNbdData::new([(0.0, 0.0, 38.86), (2.0, 30.43, 38.86), (1.0, 1.71, 38.86), (0.0, 0.0, 12.0), (26.0, 30.86, 31.0)])
    }

    #[test]
    fn analytic_gradient_matches_differences() {
        assert_gradient(&small(), &[0.243, 4.414, 0.793, 2.426]);
        assert_gradient(&small(), &[1.7, 0.3, 3.0, 0.5]);
    }

    /// The per-customer log-likelihood, written directly from eq. 6 of the paper with Γ
    /// functions, must equal the rearranged sum.
    #[test]
    fn likelihood_equals_the_papers_formula() {
        use statrs::function::gamma::ln_gamma;
        let (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426);
        let mut want = 0.0;
        for (x, t_x, big_t) in [(0.0, 0.0, 38.86), (2.0, 30.43, 38.86), (1.0, 1.71, 38.86), (0.0, 0.0, 12.0), (26.0, 30.86, 31.0)] {
            let ln_beta = |p: f64, q: f64| ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q);
            let a1 = ln_gamma(r + x) - ln_gamma(r) + r * f64::ln(alpha);
            let a2 = ln_beta(a, b + x) - ln_beta(a, b);
            let a3 = -(r + x) * f64::ln(alpha + big_t);
            let a4 = if x > 0.0 { (a / (b + x - 1.0)).ln() - (r + x) * f64::ln(alpha + t_x) } else { f64::NEG_INFINITY };
            want += a1 + a2 + (a3.exp() + a4.exp()).ln();
        }
        let got = small().value_and_gradient(&[r, alpha, a, b]).0;
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    /// The published CDNOW model (r = 0.243, α = 4.414, a = 0.793, b = 2.426) evaluated with
    /// SciPy's hyp2f1 on the untransformed eq. 10 (see testdata/reference/make_cdnow_reference.py).
    #[test]
    fn expectation_matches_scipy_on_the_untransformed_formula() {
        let model = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
        for (t, x, t_x, big_t, want) in [
            (52.0, 26.0, 30.86, 31.0, 25.758_195_936_483_034),
            (39.0, 26.0, 30.86, 31.0, 20.749_726_140_857_376),
            (39.0, 2.0, 30.43, 38.86, 1.226_028_174_767_135),
            (39.0, 0.0, 0.0, 38.86, 0.195_098_052_011_253_96),
        ] {
            let e = model.expected_purchases(t, x, t_x, big_t);
            assert!((e - want).abs() < 1e-9 * want, "E[Y({t}) | {x}, {t_x}, {big_t}] = {e}, want {want}");
        }
    }
}
