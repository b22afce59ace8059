//! A labelled set of equal-length light curves, as read from one CSV file.

use std::ops::Range;

use super::error::DataError;
use super::label::{self, Label};

/// Raw series, one per row, all of length `len`, stored row-major in `values`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where the rows came from (a path, or "synthetic"), for messages.
    pub source: String,
    /// The label of each row as written in the file (integers or names).
    pub labels: Vec<Label>,
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
    pub fn classes(&self) -> Vec<Label> {
        label::distinct(&self.labels)
    }

    /// Series that did not come through the CSV reader (arrays in memory) must be checked
    /// as it checks its cells: the first NaN or infinite sample, 0-based, is an error.
    pub fn check_finite(&self) -> Result<(), DataError> {
        match self.values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(DataError::NonFinite {
                source_name: self.source.clone(),
                row: i / self.len,
                sample: i % self.len,
                value: self.values[i],
            }),
        }
    }

    /// Keeps only the rows in `rows`, in place.
    pub fn keep_rows(&mut self, rows: Range<usize>) {
        self.values.copy_within(rows.start * self.len..rows.end * self.len, 0);
        self.values.truncate(rows.len() * self.len);
        self.labels.truncate(rows.end);
        self.labels.drain(..rows.start);
    }

    /// Adds `other`'s rows after this set's own (same length).
    pub fn append(&mut self, other: Dataset) {
        assert_eq!(self.len, other.len, "appended rows must have the same length");
        self.labels.extend(other.labels);
        self.values.extend(other.values);
    }

    /// Moves the rows whose indices are given into a new data set (in that order, with
    /// room for `channels` prepared series per row, as [`read_csv_with_room`] leaves) and
    /// keeps the others here, in order, in the same buffer: only the moved rows are ever
    /// held twice.
    ///
    /// [`read_csv_with_room`]: super::read_csv_with_room
    pub fn split_off_rows(&mut self, rows: &[usize], channels: usize) -> Dataset {
        let len = self.len;
        let mut values = Vec::with_capacity(rows.len() * len * channels.max(1));
        let mut taken = vec![false; self.rows()];
        for &r in rows {
            values.extend_from_slice(self.series(r));
            taken[r] = true;
        }
        let split = Dataset {
            source: self.source.clone(),
            labels: rows.iter().map(|&r| self.labels[r].clone()).collect(),
            values,
            len,
        };
        let mut kept = 0;
        for row in (0..self.rows()).filter(|&r| !taken[r]) {
            self.values.copy_within(row * len..(row + 1) * len, kept * len);
            self.labels.swap(kept, row);
            kept += 1;
        }
        self.labels.truncate(kept);
        self.values.truncate(kept * len);
        // The room for this set's own prepared rows stays; what the moved rows used goes.
        self.values.shrink_to(kept * len * channels.max(1));
        split
    }
}
