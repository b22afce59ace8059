//! A labelled set of equal-length light curves, as read from one CSV file.

/// Raw series, one per row, all of length `len`, stored row-major in `values`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where the rows came from (a path, or "synthetic"), for messages.
    pub source: String,
    /// The label of each row as written in the file (any integers).
    pub labels: Vec<i64>,
    pub values: Vec<f32>,
    pub len: usize,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn series(&self, row: usize) -> &[f32] {
        &self.values[row * self.len..(row + 1) * self.len]
    }

    /// The distinct label values, sorted: class k of the model is `classes()[k]`.
    pub fn classes(&self) -> Vec<i64> {
        let mut c = self.labels.clone();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// The rows whose indices are given, in that order.
    pub fn subset(&self, rows: &[usize]) -> Dataset {
        Dataset {
            source: self.source.clone(),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
            values: rows.iter().flat_map(|&r| self.series(r).iter().copied()).collect(),
            len: self.len,
        }
    }
}
