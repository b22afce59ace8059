//! Test data shared by the CSV-reading test binaries (data_input, large_input).

use std::path::PathBuf;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use starskope::data::{Dataset, Label};
use tempfile::TempDir;

/// Writes `contents` to `stars.csv` in a fresh directory (kept alive by the TempDir).
pub fn write_csv(contents: &[u8]) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stars.csv");
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

/// A random data set: labels from `classes`, samples of mixed magnitude and sign.
pub fn random_dataset(rng: &mut ChaCha8Rng, rows: usize, len: usize, classes: &[i64]) -> Dataset {
    Dataset {
        source: "random".to_string(),
        labels: (0..rows).map(|_| Label::Int(classes[rng.gen_range(0..classes.len())])).collect(),
        values: (0..rows * len)
            .map(|_| rng.gen_range(-1.0f32..1.0) * 10f32.powi(rng.gen_range(-3..6)))
            .collect(),
        len,
    }
}

/// `ds` as CSV text, `{}` printing each f32 so that it parses back to the same bits.
pub fn to_csv(ds: &Dataset, header: bool, eol: &str) -> String {
    let mut text = String::new();
    if header {
        text.push_str("LABEL");
        for i in 1..=ds.len {
            text.push_str(&format!(",FLUX.{i}"));
        }
        text.push_str(eol);
    }
    for (row, label) in ds.labels.iter().enumerate() {
        text.push_str(&label.to_string());
        for v in ds.series(row) {
            text.push_str(&format!(",{v}"));
        }
        text.push_str(eol);
    }
    text
}
