//! What can be wrong with a user's data, each said so that the user can fix it.
//!
//! The `Display` text of every variant is the message the CLI prints: it names the file
//! (and line and column where there is one) and says what to do.

use std::fmt;

use super::label::{label_list, Label};

/// A 1-based column of a CSV file, with its header name when the file has a header.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub index: usize,
    pub name: Option<String>,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "column {} (\"{}\")", self.index, name),
            None => write!(f, "column {}", self.index),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: no such file. Check the path (relative paths start from the current directory).")]
    NotFound { path: String },

    #[error("{path}: is a directory, not a CSV file. Give the path of the .csv file inside it.")]
    IsDirectory { path: String },

    #[error("{path}: cannot be read: {source}. Check the file's permissions.")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: the file is empty. Expected one light curve per row: a class label, then the samples.")]
    Empty { path: String },

    #[error("{path}: has a header but no data rows. Expected one light curve per row after the header.")]
    NoRows { path: String },

    #[error("{path}: line {line}: the row has only a label column, no samples. Expected a class label followed by the light curve's samples.")]
    NoSamples { path: String, line: u64 },

    #[error("{path}: line {line}: the row has {found} columns, but {expected_from} has {expected}. Every row needs the same number of columns: a label and the same number of samples.")]
    Ragged {
        path: String,
        line: u64,
        expected: usize,
        found: usize,
        /// Which row set the expected width, e.g. "the header (line 1)".
        expected_from: String,
    },

    #[error("{path}: line {line}, {column}: \"{text}\" is not a number. Every sample must be a decimal number; remove or fix that cell.")]
    NotNumeric { path: String, line: u64, column: Column, text: String },

    #[error("{path}: line {line}, {column}: {what}. Fix the file, or pass --nan fill (interpolate missing samples) or --nan drop (skip rows with missing samples).")]
    Missing {
        path: String,
        line: u64,
        column: Column,
        /// "the cell is empty" or "\"NaN\" is not a finite number".
        what: String,
    },

    #[error("{path}: line {line}, {column}: \"{text}\" is too large for a 32-bit float. Rescale the data (for example divide by a constant) so that samples stay below 3.4e38.")]
    OutOfRange { path: String, line: u64, column: Column, text: String },

    #[error("{path}: line {line}, column 1: the label \"{text}\" is not an integer or a name. The first column must be the class label: an integer class label (such as 1 or 2) or a name (such as ab); a fractional number there means the file has no label column.")]
    BadLabel { path: String, line: u64, text: String },

    #[error("{path}: line {line}: every sample of the row is missing, so --nan fill has nothing to interpolate from. Remove the row or use --nan drop.")]
    AllMissing { path: String, line: u64 },

    #[error("{path}: every row was dropped by --nan drop ({dropped} rows had missing samples). Fix the missing cells or use --nan fill.")]
    AllDropped { path: String, dropped: usize },

    #[error("{source_name}: every row has label {class}, but training needs at least 2 classes. Add rows of another class to the training file.")]
    SingleClass { source_name: String, class: Label },

    #[error("{source_name}: has no rows to train on.")]
    NoTrainingRows { source_name: String },

    #[error("{source_name}: {count} row(s) have label {label}, which the model was not trained on (it knows {}). Evaluate on data with those labels only, or retrain with class {label} in the training set.", label_list(.known))]
    UnknownClass { source_name: String, label: Label, count: usize, known: Vec<Label> },

    #[error(
        "validation fraction {fraction} is not between 0 and 1 (exclusive). Use for example --val-split 0.2."
    )]
    BadFraction { fraction: f64 },

    #[error("batch size must be at least 1 (got {batch}).")]
    BadBatch { batch: usize },
}
