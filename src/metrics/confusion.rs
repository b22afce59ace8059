//! Counting predictions against truth: the confusion matrix and the ratios built on it.
//!
//! Every ratio whose denominator is zero is 0, as scikit-learn's `zero_division=0`, so a
//! report never holds NaN (which JSON cannot carry and which poisons averages).

/// `num / den`, or 0 when `den` is 0.
pub fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// One class against the rest (or the positive class of a binary problem) at one decision
/// rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCounts {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

impl BinaryCounts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fp) as f64)
    }

    /// Sensitivity, true-positive rate.
    pub fn recall(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fn_) as f64)
    }

    /// True-negative rate.
    pub fn specificity(&self) -> f64 {
        ratio(self.tn as f64, (self.tn + self.fp) as f64)
    }

    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp as f64, (self.fp + self.tn) as f64)
    }

    /// From counts rather than from precision and recall, so that a class that is never
    /// predicted (precision undefined) still gets F1 = 0 exactly as scikit-learn does.
    pub fn f1(&self) -> f64 {
        ratio(2.0 * self.tp as f64, (2 * self.tp + self.fp + self.fn_) as f64)
    }

    /// Intersection over union of the predicted and true positive sets.
    pub fn jaccard(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fp + self.fn_) as f64)
    }

    /// Geometric mean of precision and recall.
    pub fn fowlkes_mallows(&self) -> f64 {
        (self.precision() * self.recall()).sqrt()
    }

    /// Rows true (negative, positive), columns predicted (negative, positive).
    pub fn matrix(&self) -> [[u64; 2]; 2] {
        [[self.tn, self.fp], [self.fn_, self.tp]]
    }
}

/// Counts of (true class, predicted class) pairs over `k` classes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    k: usize,
    counts: Vec<u64>,
}

impl Confusion {
    /// `truth` and `predicted` hold class indices below `k`; the caller has checked that.
    pub fn new(k: usize, truth: &[usize], predicted: &[usize]) -> Self {
        let mut counts = vec![0; k * k];
        for (&t, &p) in truth.iter().zip(predicted) {
            counts[t * k + p] += 1;
        }
        Confusion { k, counts }
    }

    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.k + predicted]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples whose true class is `class`.
    pub fn support(&self, class: usize) -> u64 {
        (0..self.k).map(|p| self.count(class, p)).sum()
    }

    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts.chunks(self.k).map(<[u64]>::to_vec).collect()
    }

    /// Each row divided by its support: row t, column p is the fraction of class t
    /// predicted as p. A class with no samples has a row of zeros.
    pub fn row_normalized(&self) -> Vec<Vec<f64>> {
        self.counts
            .chunks(self.k)
            .map(|row| {
                let support = row.iter().sum::<u64>() as f64;
                row.iter().map(|&c| ratio(c as f64, support)).collect()
            })
            .collect()
    }

    /// `class` against all the others.
    pub fn one_vs_rest(&self, class: usize) -> BinaryCounts {
        let tp = self.count(class, class);
        let predicted = (0..self.k).map(|t| self.count(t, class)).sum::<u64>();
        let support = self.support(class);
        BinaryCounts {
            tp,
            fp: predicted - tp,
            fn_: support - tp,
            tn: self.total() + tp - predicted - support,
        }
    }

    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.k).map(|c| self.count(c, c)).sum();
        ratio(correct as f64, self.total() as f64)
    }

    /// Mean recall over the classes that occur in the truth; classes with no samples are
    /// left out, as scikit-learn's `balanced_accuracy_score` does.
    pub fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> =
            (0..self.k).filter(|&c| self.support(c) > 0).map(|c| self.one_vs_rest(c).recall()).collect();
        ratio(recalls.iter().sum(), recalls.len() as f64)
    }
}
