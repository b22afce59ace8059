//! Ranking samples by score: ROC and precision-recall curves and their areas, with
//! scikit-learn's semantics (`roc_curve`, `roc_auc_score`, `precision_recall_curve`,
//! `average_precision_score`).
//!
//! A sample is predicted positive when its score is at or above the threshold. Samples
//! with equal scores cannot be separated by any threshold, so they enter a curve together,
//! as one step; that is what makes tied scores count half in the ROC AUC.

use serde::Serialize;

use super::confusion::{ratio, BinaryCounts};

/// The cumulative counts at each distinct score, highest score first.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// Distinct scores, descending.
    thresholds: Vec<f64>,
    /// `tps[k]`, `fps[k]`: positives and negatives scoring at or above `thresholds[k]`.
    tps: Vec<u64>,
    fps: Vec<u64>,
    positives: u64,
    negatives: u64,
}

/// A point of the ROC curve. The first point, (0, 0), has threshold +inf (nothing is
/// predicted positive); serde_json writes it as `null`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RocPoint {
    pub fpr: f64,
    pub tpr: f64,
    pub threshold: f64,
}

/// A point of the precision-recall curve. The first point, (recall 0, precision 1), has
/// threshold +inf, as scikit-learn appends it; serde_json writes it as `null`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PrPoint {
    pub recall: f64,
    pub precision: f64,
    pub threshold: f64,
}

impl Ranking {
    /// `scores` must be free of NaN (the report checks its input); `positive[i]` says
    /// whether sample i belongs to the positive class.
    pub fn new(scores: &[f64], positive: &[bool]) -> Self {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let mut ranking =
            Ranking { thresholds: Vec::new(), tps: Vec::new(), fps: Vec::new(), positives: 0, negatives: 0 };
        for (rank, &i) in order.iter().enumerate() {
            if positive[i] {
                ranking.positives += 1;
            } else {
                ranking.negatives += 1;
            }
            let group_ends = order.get(rank + 1).is_none_or(|&next| scores[next] != scores[i]);
            if group_ends {
                ranking.thresholds.push(scores[i]);
                ranking.tps.push(ranking.positives);
                ranking.fps.push(ranking.negatives);
            }
        }
        ranking
    }

    pub fn positives(&self) -> u64 {
        self.positives
    }

    pub fn negatives(&self) -> u64 {
        self.negatives
    }

    /// The number of distinct scores: the thresholds worth trying.
    pub fn steps(&self) -> usize {
        self.thresholds.len()
    }

    /// The threshold of step `k` (0-based, highest score first).
    pub fn threshold(&self, k: usize) -> f64 {
        self.thresholds[k]
    }

    /// Counts when the top `steps` distinct scores are predicted positive (0: none).
    pub fn counts_after(&self, steps: usize) -> BinaryCounts {
        let (tp, fp) = match steps {
            0 => (0, 0),
            s => (self.tps[s - 1], self.fps[s - 1]),
        };
        BinaryCounts { tp, fp, fn_: self.positives - tp, tn: self.negatives - fp }
    }

    /// Counts when every sample scoring at or above `threshold` is predicted positive.
    pub fn counts_at(&self, threshold: f64) -> BinaryCounts {
        self.counts_after(self.thresholds.partition_point(|&t| t >= threshold))
    }

    fn roc_point(&self, steps: usize) -> RocPoint {
        let counts = self.counts_after(steps);
        RocPoint {
            fpr: counts.false_positive_rate(),
            tpr: counts.recall(),
            threshold: self.step_threshold(steps),
        }
    }

    /// Threshold that predicts exactly the top `steps` scores positive.
    fn step_threshold(&self, steps: usize) -> f64 {
        match steps {
            0 => f64::INFINITY,
            s => self.thresholds[s - 1],
        }
    }

    /// The ROC curve from (0, 0), with collinear points dropped as scikit-learn's
    /// `drop_intermediate=True` does (the area is unchanged).
    pub fn roc_curve(&self) -> Vec<RocPoint> {
        let n = self.steps();
        let bends = |k: usize| {
            k == 0
                || k + 1 == n
                || self.fps[k - 1] + self.fps[k + 1] != 2 * self.fps[k]
                || self.tps[k - 1] + self.tps[k + 1] != 2 * self.tps[k]
        };
        std::iter::once(self.roc_point(0))
            .chain((0..n).filter(|&k| bends(k)).map(|k| self.roc_point(k + 1)))
            .collect()
    }

    /// Area under the ROC curve by the trapezoid rule, or None when the truth holds only
    /// one class (scikit-learn raises there: the area is undefined, and 0 would read as a
    /// perfectly inverted classifier).
    pub fn roc_auc(&self) -> Option<f64> {
        if self.positives == 0 || self.negatives == 0 {
            return None;
        }
        let twice_area: u64 = (0..self.steps())
            .map(|k| {
                let (tp0, fp0) = k.checked_sub(1).map_or((0, 0), |j| (self.tps[j], self.fps[j]));
                (self.fps[k] - fp0) * (self.tps[k] + tp0)
            })
            .sum();
        Some(twice_area as f64 / (2 * self.positives * self.negatives) as f64)
    }

    /// The precision-recall curve from (recall 0, precision 1), thresholds descending.
    /// Of each run of thresholds that add only negatives (recall constant, a vertical
    /// line on the plot) only the ends are kept, as scikit-learn's
    /// `drop_intermediate=True` does; the average precision is unchanged.
    pub fn pr_curve(&self) -> Vec<PrPoint> {
        let n = self.steps();
        let corner = |k: usize| {
            k == 0 || k + 1 == n || self.tps[k - 1] != self.tps[k] || self.tps[k + 1] != self.tps[k]
        };
        let first = PrPoint { recall: 0.0, precision: 1.0, threshold: f64::INFINITY };
        std::iter::once(first)
            .chain((0..n).filter(|&k| corner(k)).map(|k| {
                let counts = self.counts_after(k + 1);
                PrPoint {
                    recall: counts.recall(),
                    precision: counts.precision(),
                    threshold: self.thresholds[k],
                }
            }))
            .collect()
    }

    /// Average precision: sum over thresholds of (R_k - R_{k-1}) * P_k, the step-wise
    /// area scikit-learn computes (no interpolation). 0 when there are no positives.
    pub fn average_precision(&self) -> f64 {
        (1..=self.steps())
            .map(|s| {
                let counts = self.counts_after(s);
                let previous_tp = self.counts_after(s - 1).tp;
                ratio((counts.tp - previous_tp) as f64, self.positives as f64) * counts.precision()
            })
            .sum()
    }
}

/// At most `cap` (>= 2) points, evenly spaced by index, keeping the first and last
/// exactly: enough to draw a curve, small enough for a JSON report.
pub fn thin<T: Copy>(points: &[T], cap: usize) -> Vec<T> {
    let n = points.len();
    if n <= cap {
        return points.to_vec();
    }
    (0..cap).map(|i| points[i * (n - 1) / (cap - 1)]).collect()
}
