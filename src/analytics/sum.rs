//! Compensated summation, for money summed over millions of rows in parallel parts: the cents
//! come out the same whatever the order of the rows or the number of parts.

/// A sum of many `f64`s with Neumaier's compensation: revenue over millions of lines comes out
/// to the cent whatever the order of the lines (a plain running sum drifts by cents at 10M).
#[derive(Debug, Default, Clone, Copy)]
pub struct Sum {
    total: f64,
    carry: f64,
}

impl Sum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.total + x;
        self.carry += if self.total.abs() >= x.abs() { (self.total - t) + x } else { (x - t) + self.total };
        self.total = t;
    }

    pub fn value(self) -> f64 {
        self.total + self.carry
    }

    pub fn merge(&mut self, other: Sum) {
        self.add(other.total);
        self.carry += other.carry;
    }
}
