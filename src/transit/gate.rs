//! Detect, then vet: the gate a light curve's box search must pass before a network may
//! call it a planet, and ruling the stopped rows out of the planet class.

use serde::{Deserialize, Serialize};

use super::bls;

/// A transit survey passes only its detections to vetting (Kepler's pipeline those above
/// 7.1 sigma, seen in at least three transits): a network shown the fold of every light
/// curve also sees the best box of pure noise and of lone dips, and takes some of those
/// for planets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// Lowest box-search S/N ([`bls::BoxFit::snr`]) of a candidate.
    pub min_snr: f32,
    /// Lowest S/N without the deepest transit ([`bls::BoxFit::snr_without_deepest`]).
    pub min_snr_without_deepest: f32,
    /// The class that undetected light curves are not.
    pub planet_label: i64,
}

impl Detection {
    /// Whether a light curve whose best box scored `found` is a detection.
    pub fn passes(&self, found: BoxScore) -> bool {
        found.snr >= self.min_snr && found.snr_without_deepest >= self.min_snr_without_deepest
    }
}

/// What the box search found in a light curve (zeros where it found nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BoxScore {
    pub snr: f32,
    pub snr_without_deepest: f32,
    /// The best box, in cadences of the series searched; None where there was none.
    pub fit: Option<bls::BoxFit>,
    /// The box's mean depth as a share of the series' median level (a relative flux's
    /// depth; meaningless for series around 0).
    pub depth: f32,
}

/// The rows a detection gate passed to the network; the others get probability 0 of
/// being `planet` ([`Detections::rule_out_stopped`]).
pub struct Detections {
    /// The planet class index.
    pub planet: usize,
    pub passed: Vec<bool>,
}

impl Detections {
    /// Gives the rows of `probs` ((rows, classes) row-major) that the gate stopped
    /// probability 0 of being `planet`.
    pub fn rule_out_stopped(&self, probs: &mut [f32], classes: usize) {
        for (row, _) in probs.chunks_mut(classes).zip(&self.passed).filter(|(_, &passed)| !passed) {
            rule_out(row, self.planet);
        }
    }
}

/// Probability 0 of class `c`, the others' shared out as before (evenly if they had none).
/// Their share is of their own sum, not of 1 - row[c]: an ensemble's mean probabilities
/// need not add up to 1 to the last bit, and a ruled-out binary row is exactly [1, 0].
fn rule_out(row: &mut [f32], c: usize) {
    let rest: f32 = row.iter().enumerate().filter(|(i, _)| *i != c).map(|(_, p)| p).sum();
    row[c] = 0.0;
    let others = (row.len() - 1).max(1) as f32;
    for (_, p) in row.iter_mut().enumerate().filter(|(i, _)| *i != c) {
        *p = if rest > 0.0 { *p / rest } else { 1.0 / others };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruling_out_a_class_shares_its_probability_among_the_others() {
        let cases: [(&[f32], usize, &[f32]); 4] = [
            (&[0.3, 0.7], 1, &[1.0, 0.0]),
            (&[0.2, 0.5, 0.3], 1, &[0.4, 0.0, 0.6]),
            (&[0.0, 1.0, 0.0], 1, &[0.5, 0.0, 0.5]),
            (&[0.9, 0.1], 0, &[0.0, 1.0]),
        ];
        for (row, c, want) in cases {
            let mut got = row.to_vec();
            rule_out(&mut got, c);
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{row:?} without {c}: {got:?}");
        }
    }

    #[test]
    fn stopped_rows_lose_the_planet_class_and_keep_the_others_shares() {
        let gate = Detections { planet: 1, passed: vec![true, false, false] };
        let mut probs = [0.2, 0.5, 0.3, 0.1, 0.6, 0.3, 0.0, 1.0, 0.0];
        gate.rule_out_stopped(&mut probs, 3);
        assert_eq!(&probs[..3], &[0.2, 0.5, 0.3], "a passed row is untouched");
        assert!((probs[3] - 0.25).abs() < 1e-6 && probs[4] == 0.0 && (probs[5] - 0.75).abs() < 1e-6);
        assert_eq!(&probs[6..], &[0.5, 0.0, 0.5], "no other share: evenly");
    }
}
