//! What each synthetic light curve really holds, and recall measured against it.

use serde::{Deserialize, Serialize};

/// What a synthetic star is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Hosts one or two transiting planets (label 2).
    Planet,
    /// An eclipsing binary (label 1).
    Eb,
    /// Neither (label 1); may still show a single transit-like dip.
    Star,
}

/// One row of the truth table: the star of the same row of the data set.
///
/// For planet hosts the orbital columns describe the planet with the highest SNR; for
/// eclipsing binaries the primary eclipse (with `snr` 0); for other stars they are 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthRow {
    /// Row of the star in its data set, from 0.
    pub star: usize,
    pub label: i64,
    pub kind: Kind,
    pub n_planets: usize,
    pub period_days: f64,
    /// Time of the first mid-transit (or mid-primary-eclipse), days from the first sample.
    pub epoch_days: f64,
    /// Flux hidden at mid-transit, parts per million.
    pub depth_ppm: f64,
    /// First to fourth contact, hours.
    pub duration_hours: f64,
    /// depth / per-cadence scatter x sqrt(observed in-transit cadences), all transits.
    pub snr: f64,
    pub kepmag: f64,
}

/// Edges of the SNR bins used to report injection-recovery: bin i is
/// [edges[i], edges[i + 1]). 7.1 is Kepler's detection threshold.
pub fn snr_bins() -> &'static [f64] {
    &[0.0, 5.0, 7.1, 10.0, 15.0, 20.0, 30.0, 50.0, f64::INFINITY]
}

/// Planets found in one SNR bin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnrBin {
    pub lo: f64,
    pub hi: f64,
    /// Planet hosts whose strongest planet's SNR falls in [lo, hi).
    pub planets: usize,
    /// Of those, how many were predicted positive.
    pub recovered: usize,
    /// recovered / planets; None for an empty bin.
    pub recall: Option<f64>,
}

/// Injection-recovery: the share of planet hosts predicted positive, per bin of
/// `snr_bins()`. `predicted_positive[i]` is the prediction for `truth[i]`.
///
/// # Panics
/// If the two slices differ in length (a caller's bug: they describe the same rows).
pub fn recall_by_snr(truth: &[TruthRow], predicted_positive: &[bool]) -> Vec<SnrBin> {
    assert_eq!(truth.len(), predicted_positive.len(), "recall_by_snr: one prediction per truth row");
    snr_bins()
        .windows(2)
        .map(|edge| {
            let (lo, hi) = (edge[0], edge[1]);
            let in_bin = truth
                .iter()
                .zip(predicted_positive)
                .filter(|(row, _)| row.kind == Kind::Planet && row.snr >= lo && row.snr < hi);
            let (planets, recovered) =
                in_bin.fold((0, 0), |(n, found), (_, &positive)| (n + 1, found + usize::from(positive)));
            SnrBin {
                lo,
                hi,
                planets,
                recovered,
                recall: (planets > 0).then(|| recovered as f64 / planets as f64),
            }
        })
        .collect()
}
