//! The Gauss hypergeometric function ₂F₁, which the BG/NBD expectation needs and which statrs
//! does not provide. Gamma and digamma come from statrs.

/// ₂F₁(a, b; c; z) for 0 ≤ z < 1 by its power series, summed until terms stop mattering.
///
/// Callers keep the series short: the BG/NBD code applies Euler's transformation first, which
/// turns its parameters into ones whose terms fall off geometrically (see `clv::bgnbd`).
/// Returns NaN when the series does not settle within the iteration limit.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z == 0.0 {
        return 1.0;
    }
    if !(0.0..1.0).contains(&z) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..100_000 {
        let k = f64::from(k);
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() {
            return sum;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::hyp2f1;

    /// Reference values from scipy.special.hyp2f1 (SciPy 1.17).
    #[test]
    fn matches_scipy() {
        let cases = [
            (1.0, 1.0, 2.0, 0.5, 1.386_294_361_119_890_1),      // -ln(1-z)/z
            (0.5, 0.5, 1.5, 0.25, std::f64::consts::FRAC_PI_3), // asin(sqrt z)/sqrt z = (π/6)/(1/2)
            (2.3, 4.1, 7.2, 0.9, 8.601_310_808_993_322),
            (-0.21, 2.0, 30.0, 0.6, 0.991_398_125_199_618_6),
        ];
        for (a, b, c, z, want) in cases {
            let got = hyp2f1(a, b, c, z);
            assert!((got - want).abs() < 1e-10 * want.abs(), "2F1({a},{b};{c};{z}) = {got}, want {want}");
        }
    }
}
