//! Operating points of a binary classifier: where to put the decision threshold.
//!
//! A rare positive class (37 planets in 5,087 stars) makes the default 0.5 a poor choice
//! more often than not; showing the points where sensitivity meets specificity and where
//! F1 peaks tells a user how much the threshold matters.

use serde::Serialize;

use super::confusion::BinaryCounts;
use super::ranking::Ranking;

/// How a threshold was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Positive when the score is at least 0.5.
    Default,
    /// The threshold where sensitivity and specificity are closest.
    RocCrossover,
    /// The threshold with the highest F1 for the positive class.
    BestF1,
}

impl Rule {
    pub fn describe(self) -> &'static str {
        match self {
            Rule::Default => "default 0.5",
            Rule::RocCrossover => "sensitivity = specificity",
            Rule::BestF1 => "best F1",
        }
    }
}

/// The classifier's behaviour when samples scoring at or above `threshold` are called
/// positive.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub rule: Rule,
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub specificity: f64,
    pub f1: f64,
    /// Rows true (negative, positive), columns predicted (negative, positive).
    pub confusion: [[u64; 2]; 2],
}

impl OperatingPoint {
    fn new(rule: Rule, threshold: f64, counts: BinaryCounts) -> Self {
        OperatingPoint {
            rule,
            threshold,
            precision: counts.precision(),
            recall: counts.recall(),
            specificity: counts.specificity(),
            f1: counts.f1(),
            confusion: counts.matrix(),
        }
    }

    pub fn counts(&self) -> BinaryCounts {
        let [[tn, fp], [fn_, tp]] = self.confusion;
        BinaryCounts { tp, fp, fn_, tn }
    }
}

pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// The default, crossover and best-F1 points, in that order. Candidate thresholds are the
/// distinct scores, so each point is reachable exactly; among equally good thresholds the
/// highest wins (it calls the fewest samples positive).
pub fn operating_points(ranking: &Ranking) -> Vec<OperatingPoint> {
    let candidates: Vec<(f64, BinaryCounts)> =
        (1..=ranking.steps()).map(|s| (ranking.threshold(s - 1), ranking.counts_after(s))).collect();
    let crossover = candidates.iter().min_by(|(_, a), (_, b)| {
        let gap = |c: &BinaryCounts| (c.recall() - c.specificity()).abs();
        let sum = |c: &BinaryCounts| c.recall() + c.specificity();
        gap(a).total_cmp(&gap(b)).then(sum(b).total_cmp(&sum(a)))
    });
    let best_f1 = candidates.iter().min_by(|(_, a), (_, b)| b.f1().total_cmp(&a.f1()));
    let default = OperatingPoint::new(Rule::Default, DEFAULT_THRESHOLD, ranking.counts_at(DEFAULT_THRESHOLD));
    std::iter::once(default)
        .chain(crossover.map(|&(t, c)| OperatingPoint::new(Rule::RocCrossover, t, c)))
        .chain(best_f1.map(|&(t, c)| OperatingPoint::new(Rule::BestF1, t, c)))
        .collect()
}
