//! What can be wrong with a user's light-curve files, each said so that the user can fix it.
//!
//! The `Display` text is the message the CLI prints: it names the file (and the line and
//! column, or the FITS extension and column, where there is one) and says what to do.

#[derive(Debug, thiserror::Error)]
pub enum LightCurveError {
    #[error("{path}: no such file or directory. Check the path (relative paths start from the current directory).")]
    NotFound { path: String },

    #[error("{path}: cannot be read: {source}. Check the file's permissions.")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {what}. Give a directory of light-curve files (.fits, .csv, .dat, .txt, .tsv), a glob such as \"lc/*.fits\", or one file.")]
    NoFiles { path: String, what: String },

    #[error("{path}: not a readable FITS file: {what}. Download the file again; MAST light curves are FITS files whose first bytes read \"SIMPLE  =\".")]
    BadFits { path: String, what: String },

    #[error("{path}: not a readable gzip file: {what}. Download the file again, or give it uncompressed.")]
    BadGzip { path: String, what: String },

    #[error("{path}: the file is truncated: {hdu} needs {needed} bytes from byte {start}, but the file has {found} bytes. Download the file again.")]
    Truncated { path: String, hdu: String, start: u64, needed: u64, found: u64 },

    #[error("{path}: the file is truncated: it ends inside {which}. Download the file again.")]
    TruncatedHeader { path: String, which: String },

    #[error("{path}: has no light-curve table (a binary table extension named LIGHTCURVE with a TIME column){}. Give a MAST light-curve file (Kepler/K2 *llc.fits, TESS *lc.fits), not a target pixel file or an image.", found_list(.found))]
    NoLightCurveTable { path: String, found: Vec<String> },

    #[error("{path}: the {hdu} table has no column {column} (it has {}). {hint}", .available.join(", "))]
    MissingColumn { path: String, hdu: String, column: String, available: Vec<String>, hint: String },

    #[error("{path}: the {hdu} table's column {column} has format TFORM = '{tform}', which is not one number per row. Give a MAST light-curve file.")]
    BadColumnFormat { path: String, hdu: String, column: String, tform: String },

    #[error("{path}: the {hdu} table's header is inconsistent: {what}. Download the file again.")]
    BadTableHeader { path: String, hdu: String, what: String },

    #[error("{path}: no usable point in column {column}: of {rows} rows, {non_finite} have a non-finite time or flux and {flagged} are flagged by the quality mask. {hint}")]
    NoValidPoints {
        path: String,
        column: String,
        rows: usize,
        non_finite: usize,
        flagged: usize,
        hint: String,
    },

    #[error("{path}: only {points} usable point(s); a light curve needs at least 2 (time, flux) rows.")]
    TooFewPoints { path: String, points: usize },

    #[error("{path}: the file is empty. Expected one row per cadence: time, flux[, flux_err[, quality]].")]
    Empty { path: String },

    #[error("{path}: line {line}, column {column}{}: \"{text}\" is not a number. {what} must be a decimal number; fix or remove that row.", column_name(.name))]
    NotNumeric { path: String, line: usize, column: usize, name: Option<String>, text: String, what: String },

    #[error("{path}: line {line}: the row has {found} column(s), but the {role} is column {needed}. Every row needs time and flux (and the same columns as the first row).")]
    ShortRow { path: String, line: usize, found: usize, needed: usize, role: String },

    #[error("{path}: line {line}, column {column}{}: the quality flag \"{text}\" is not a non-negative integer. Fix the cell, or remove the quality column.", column_name(.name))]
    BadQuality { path: String, line: usize, column: usize, name: Option<String>, text: String },

    #[error("{path}: the median flux of column {column} is {median}, not a positive flux. If the column holds magnitudes, name it \"mag\" or pass --mag; if it is relative flux centred on 0, add 1 to it.")]
    NotAFlux { path: String, column: String, median: f64 },

    #[error("{path}: column {column} holds values too large against its median ({median}) for a relative flux. Check that the column is a flux.")]
    FluxOutOfRange { path: String, column: String, median: f64 },

    #[error("{path}: the file name says target {from_name}, but its header says {from_header}. Rename the file, or keep each star's files apart.")]
    TargetMismatch { path: String, from_name: String, from_header: String },

    #[error("{path}: line {line}: {what}. The labels table has two columns, target and label (a header line \"target,label\" is optional).")]
    BadLabelsRow { path: String, line: usize, what: String },

    #[error("{path}: line {line}: target \"{target}\" has no light-curve file in {data}. Check the spelling (targets are the mission's identifier such as \"KIC 11442793\", or the file name's stem), or remove the row.")]
    LabelWithoutFile { path: String, line: usize, target: String, data: String },

    #[error("{path}: line {line}: target \"{target}\" is labelled again (first on line {first}). Give each target one label.")]
    DuplicateLabel { path: String, line: usize, target: String, first: usize },
}

fn found_list(found: &[String]) -> String {
    if found.is_empty() {
        " (the file holds only its primary header)".to_string()
    } else {
        format!(" (it has: {})", found.join(", "))
    }
}

fn column_name(name: &Option<String>) -> String {
    match name {
        Some(name) => format!(" (\"{name}\")"),
        None => String::new(),
    }
}

impl LightCurveError {
    /// An I/O error on `path`: "no such file" is worth its own message.
    pub fn io(path: &str, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            Self::NotFound { path: path.to_string() }
        } else {
            Self::Unreadable { path: path.to_string(), source }
        }
    }
}
