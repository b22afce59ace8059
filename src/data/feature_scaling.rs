//! Per-feature standardization with a training set's statistics: the survey features'
//! preprocessing, stored with the model so that new objects are scaled exactly as the
//! training objects were.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use self::exact::ExactF64s;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureScaling {
    /// The features, in column order.
    pub names: Vec<String>,
    #[serde(with = "ExactF64s")]
    pub mean: Vec<f64>,
    /// Population standard deviation; 1 for a feature constant over the training set.
    #[serde(with = "ExactF64s")]
    pub std: Vec<f64>,
}

impl FeatureScaling {
    /// The statistics of `rows` (each `names.len()` wide, row-major).
    pub fn fit(names: &[String], values: &[f64]) -> FeatureScaling {
        let f = names.len();
        let rows: Vec<&[f64]> = values.chunks(f.max(1)).collect();
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; f];
        let mut var = vec![0.0; f];
        for row in &rows {
            mean.iter_mut().zip(*row).for_each(|(m, v)| *m += v / n);
        }
        for row in &rows {
            var.iter_mut().zip(*row).zip(&mean).for_each(|((s, v), m)| *s += (v - m).powi(2) / n);
        }
        // A constant feature carries nothing; 1 keeps it at zero instead of NaN.
        let std = var.iter().map(|v| if v.sqrt() > 0.0 { v.sqrt() } else { 1.0 }).collect();
        FeatureScaling { names: names.to_vec(), mean, std }
    }

    /// `(x - mean) / std` per feature, as f32 rows, for features named `names`.
    pub fn apply(&self, names: &[String], values: &[f64]) -> Result<Vec<f32>> {
        if names != self.names {
            bail!(
                "the features ({} columns) are not the ones the model was trained on ({} columns): \
                 compute them with the same version of starskope",
                names.len(),
                self.names.len()
            );
        }
        let mut out = vec![0.0; values.len()];
        for (src, dst) in values.chunks(self.names.len().max(1)).zip(out.chunks_mut(self.names.len().max(1)))
        {
            self.apply_row(src.iter().copied(), dst);
        }
        Ok(out)
    }

    /// One row of features, in the model's column order, into `dst`.
    pub fn apply_row(&self, row: impl Iterator<Item = f64>, dst: &mut [f32]) {
        for (((o, v), m), s) in dst.iter_mut().zip(row).zip(&self.mean).zip(&self.std) {
            *o = ((v - m) / s) as f32;
        }
    }
}

/// f64s stored as their shortest exact decimal text. serde_json reads a JSON number only
/// to within an ulp or so (without its float_roundtrip feature), and where a feature's
/// mean is large and its std small, one ulp of the mean moves the standardized value
/// visibly: a model read back must scale as it did in training, and a resumed run's card
/// must equal the one it was started with. JSON numbers, as the `standardization.json`
/// of older survey models holds them, are read as serde_json reads them.
mod exact {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub struct ExactF64s;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Number(f64),
    }

    impl ExactF64s {
        pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(values.iter().map(f64::to_string))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<Stored>::deserialize(d)?
                .into_iter()
                .map(|v| match v {
                    Stored::Text(t) => {
                        t.parse().map_err(|_| D::Error::custom(format!("{t:?} is not a number")))
                    }
                    Stored::Number(x) => Ok(x),
                })
                .collect()
        }
    }
}
