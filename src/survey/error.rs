//! What can be wrong with a user's survey files, each said so that the user can fix it.
//!
//! The `Display` text of every variant is the message the CLI prints: it names the file,
//! the line and column where there is one, and the fix.

use crate::data::error::Column;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// Missing file, directory, permissions: the light-curve reader's messages fit as they are.
    #[error(transparent)]
    File(#[from] crate::data::DataError),

    #[error("{path}: the file is empty. Expected a header line ({expected}) and one row per {what}.")]
    Empty { path: String, expected: String, what: String },

    #[error("{path}: line 1: the header has no \"{column}\" column (it has: {found}). The {what} file needs the columns {expected}, in any order.")]
    MissingColumn { path: String, column: String, found: String, expected: String, what: &'static str },

    #[error("{path}: line {line}: the row has {found} columns, but the header has {expected}. Every row needs a cell for every header column.")]
    Ragged { path: String, line: u64, expected: usize, found: usize },

    #[error("{0}")]
    BadCell(Box<BadCell>),

    #[error("{path}: line {line}: object {object_id} appears a second time (first on line {first_line}). Each object needs exactly one metadata row.")]
    DuplicateObject { path: String, line: u64, object_id: i64, first_line: u64 },

    #[error("{path}: line {line}: object {object_id} is not in the metadata file {meta}. Give the metadata file that belongs to these observations, or remove the object's rows.")]
    UnknownObject { path: String, line: u64, object_id: i64, meta: String },

    #[error("{meta}: line {line}: object {object_id} has no rows in the observations file {obs}. Give the observations file that belongs to this metadata, or remove the object's row.")]
    NoObservations { meta: String, line: u64, object_id: String, obs: String },

    #[error("{path}: line {line}: object {object_id} has no target, but other rows of the file have one. Give every object its class, or remove the target column for unlabelled data.")]
    MissingTarget { path: String, line: u64, object_id: i64 },

    #[error("{path}: line {line}: object {object_id} appears a second time (first on line {first_line}). Each object needs exactly one label row.")]
    DuplicateLabel { path: String, line: u64, object_id: String, first_line: u64 },

    #[error("{labels}: line {line}: object {object_id} has no light-curve file {file}. Give the directory that holds the objects of this label table, or remove the row.")]
    MissingObjectFile { labels: String, line: u64, object_id: String, file: String },

    #[error("{dir}: no object has {min} or more points in any band, so there is nothing to classify. Check the directory holds the light curves (one <object_id>.csv per object).")]
    NoUsableObjects { dir: String, min: usize },

    #[error("{path}: cannot be read as a directory of light curves ({reason}). Give a directory holding one <object_id>.csv per object.")]
    NotADirectory { path: String, reason: String },

    #[error("{path}: line 1: the header has neither mag and magerr nor flux and fluxerr columns. A light-curve file needs time, band and one of those pairs.")]
    NoBrightness { path: String },

    #[error("{path}: line {line}: {problem}. Each line is `class,weight` with a class label and a non-negative weight.")]
    BadWeights { path: String, line: u64, problem: String },

    #[error("{path}: has no weight for class {class}. Add a line `{class},1` (the classes are {classes}).")]
    MissingWeight { path: String, class: crate::data::Label, classes: String },
}

/// A cell that cannot be read (boxed in [`SurveyError`]: it is the largest variant).
#[derive(Debug, thiserror::Error)]
#[error("{path}: line {line}, {column}: \"{text}\" {problem}. {fix}")]
pub struct BadCell {
    pub path: String,
    pub line: u64,
    pub column: Column,
    pub text: String,
    pub problem: &'static str,
    pub fix: &'static str,
}
