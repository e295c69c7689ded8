//! Spread of a metric over the seeds of one configuration.

use serde::Serialize;

/// Mean, sample standard deviation (n - 1 in the denominator) and count of some values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation; `None` for fewer than two values, where it is undefined.
    pub std: Option<f64>,
    /// Number of values.
    pub n: usize,
}

impl Spread {
    /// The spread of `values`; `None` when there are none. Non-finite values (a diverged run) make
    /// the mean non-finite, which is then shown as such rather than hidden.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| {
            let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (squares / (n - 1) as f64).sqrt()
        });
        Some(Spread { mean, std, n })
    }

    /// `mean ± std` with `decimals` digits, or the mean alone for a single value.
    pub fn format(&self, decimals: usize) -> String {
        match self.std {
            Some(std) => format!("{:.decimals$} ± {:.decimals$}", self.mean, std),
            None => format!("{:.decimals$}", self.mean),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_standard_deviation_uses_n_minus_one() {
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.n, 4);
        assert!((s.mean - 2.5).abs() < 1e-12);
        // sum of squares 5, / 3.
        assert!((s.std.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.format(2), "2.50 ± 1.29");
    }

    #[test]
    fn one_value_has_no_std_and_none_has_no_spread() {
        let s = Spread::of(&[0.5]).unwrap();
        assert_eq!((s.mean, s.std, s.n), (0.5, None, 1));
        assert_eq!(s.format(3), "0.500");
        assert_eq!(Spread::of(&[]), None);
    }
}
