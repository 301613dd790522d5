//! The Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma Model
//! of Monetary Value"): a customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ)
//! across customers (γ is called v here, as in `lifetimes`). Fitted on repeat buyers only, with
//! x = repeat purchases and m = their mean value. It assumes spend does not depend on how often
//! a customer buys; the caller checks that correlation.

use statrs::function::gamma::{digamma, ln_gamma};

use super::optimise::LogLikelihood;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    pub const NAMES: [&str; 3] = ["p", "q", "v"];

    pub fn from_slice(s: &[f64]) -> Self {
        Self { p: s[0], q: s[1], v: s[2] }
    }

    /// E[M | x, m]: the expected mean transaction value of a customer (eq. 5 of the note), a
    /// weighted mean of the population mean p·v/(q−1) and the customer's own mean. `None` when
    /// q ≤ 1, where the population mean does not exist.
    pub fn expected_average_value(&self, x: f64, m: f64) -> Option<f64> {
        let Self { p, q, v } = *self;
        (q > 1.0).then(|| if x > 0.0 { p * (v + x * m) / (p * x + q - 1.0) } else { p * v / (q - 1.0) })
    }
}

/// Repeat buyers' (x, m), with the Γ-function terms computed once per distinct x.
pub struct GammaGammaData {
    /// (x, ln x, how many customers have this x)
    by_x: Vec<(f64, f64, f64)>,
    /// (x, m, ln m, index into by_x)
    customers: Vec<(f64, f64, f64, usize)>,
}

impl GammaGammaData {
    /// Keeps customers with x > 0 and m > 0 (the model's domain).
    pub fn new(customers: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut index: std::collections::BTreeMap<u64, usize> = Default::default();
        let mut by_x: Vec<(f64, f64, f64)> = Vec::new();
        let mut rows = Vec::new();
        for (x, m) in customers {
            if !(x > 0.0 && m > 0.0) {
                continue;
            }
            let i = *index.entry(x.to_bits()).or_insert_with(|| {
                by_x.push((x, x.ln(), 0.0));
                by_x.len() - 1
            });
            by_x[i].2 += 1.0;
            rows.push((x, m, m.ln(), i));
        }
        Self { by_x, customers: rows }
    }

    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
}

impl GammaGammaData {
    /// A starting point with the right population mean spend: p = 1, q = 2, v = mean(m), so
    /// p·v/(q−1) equals the customers' mean spend.
    pub fn start(&self) -> [f64; 3] {
        let n = self.customers.len().max(1) as f64;
        let mean = self.customers.iter().map(|c| c.1).sum::<f64>() / n;
        [1.0, 2.0, if mean > 0.0 { mean } else { 1.0 }]
    }
}

impl LogLikelihood for GammaGammaData {
    fn observations(&self) -> f64 {
        self.customers.len() as f64
    }

    /// ℓ = Σ ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(xm+v).
    fn value_and_gradient(&self, s: &[f64]) -> (f64, Vec<f64>) {
        let GammaGamma { p, q, v } = GammaGamma::from_slice(s);
        let n = self.observations();
        let (ln_v, ln_gamma_q, digamma_q) = (v.ln(), ln_gamma(q), digamma(q));
        let mut ll = n * (q * ln_v - ln_gamma_q);
        let mut g = [0.0, n * (ln_v - digamma_q), n * q / v];
        // Per distinct x: ln Γ(px+q) − ln Γ(px) + px ln x, and its derivatives.
        let per_x: Vec<(f64, f64)> = self
            .by_x
            .iter()
            .map(|&(x, ln_x, count)| {
                let (px, pxq) = (p * x, p * x + q);
                ll += count * (ln_gamma(pxq) - ln_gamma(px) + px * ln_x);
                let psi = digamma(pxq);
                g[0] += count * x * (psi - digamma(px) + ln_x);
                g[1] += count * psi;
                (px, pxq)
            })
            .collect();
        for &(x, m, ln_m, i) in &self.customers {
            let (px, pxq) = per_x[i];
            let ln_xmv = (x * m + v).ln();
            ll += (px - 1.0) * ln_m - pxq * ln_xmv;
            g[0] += x * (ln_m - ln_xmv);
            g[1] -= ln_xmv;
            g[2] -= pxq / (x * m + v);
        }
        (ll, g.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::optimise::assert_gradient;

    #[test]
    fn analytic_gradient_matches_differences() {
        let data = GammaGammaData::new([(2.0, 22.35), (1.0, 11.77), (5.0, 40.0), (1.0, 3.5), (7.0, 18.2)]);
        assert_gradient(&data, &[6.25, 3.74, 15.44]);
        assert_gradient(&data, &[0.8, 1.2, 40.0]);
    }

    /// The note's example: a customer with x = 2 repeat purchases averaging $22.35 has an
    /// expected average value of p(v + x·m)/(px + q − 1) = 6.25·(15.44 + 44.70)/(12.5 + 2.74)
    /// = $24.66 (hand-computed).
    #[test]
    fn expected_average_value_by_hand() {
        let model = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };
        let e = model.expected_average_value(2.0, 22.35).unwrap_or_default();
        assert!((e - 6.25 * (15.44 + 44.70) / (12.5 + 2.74)).abs() < 1e-9, "{e}");
        assert!((e - 24.66).abs() < 0.01, "{e}");
        assert!(GammaGamma { p: 6.25, q: 0.9, v: 15.44 }.expected_average_value(2.0, 22.35).is_none());
    }
}
