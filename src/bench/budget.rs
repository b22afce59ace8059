//! How many times to repeat a measurement: at least `min_runs`, then more until
//! `seconds` have been spent or `max_runs` reached. Reported figures are medians.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Budget {
    pub min_runs: usize,
    pub max_runs: usize,
    pub seconds: f64,
}

impl Budget {
    pub const FULL: Budget = Budget { min_runs: 3, max_runs: 20, seconds: 2.0 };
    /// For slow devices (lavapipe) and `cargo bench`: one timed run after the warm-up
    /// unless that run was quick.
    pub const QUICK: Budget = Budget { min_runs: 1, max_runs: 5, seconds: 0.5 };

    /// Runs `measure` (which returns the seconds of one run) as the budget allows.
    pub fn repeat(&self, mut measure: impl FnMut() -> f64) -> Vec<f64> {
        let mut runs = Vec::new();
        let mut spent = 0.0;
        while runs.len() < self.min_runs || (runs.len() < self.max_runs && spent < self.seconds) {
            let s = measure();
            spent += s;
            runs.push(s);
        }
        runs
    }
}

/// The median (the mean of the middle two for an even count); 0 for no samples.
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn repeat_stops_at_the_time_budget_after_min_runs() {
        let b = Budget { min_runs: 2, max_runs: 10, seconds: 1.0 };
        assert_eq!(b.repeat(|| 0.6).len(), 2);
        assert_eq!(b.repeat(|| 0.3).len(), 4);
        assert_eq!(b.repeat(|| 0.0).len(), 10);
    }
}
