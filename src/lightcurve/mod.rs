//! Light curves as the missions publish them: MAST FITS files (Kepler and K2 `*llc.fits`,
//! TESS SPOC `*lc.fits`) and text tables, one star per file, any length, with their own
//! time stamps and gaps.
//!
//! The path from files to a [`LightCurve`]: [`dataset::list_targets`] turns a directory, a
//! glob or one file into [`TargetFiles`] (file names only, grouped by star, so that 100,000
//! files cost a list of names); [`read_target`] then reads one star's files ([`fits`] or
//! [`text`]), drops the cadences its [`quality`] flags or non-finite values condemn and,
//! if asked, clips flares ([`clean`]), and joins the parts ([`stitch`]). Each target is
//! read on its own, so that targets can be read in parallel and dropped when done.

pub mod args;
pub mod clean;
pub mod dataset;
pub mod error;
pub mod fits;
pub mod fits_header;
pub mod gzip;
pub mod inspect;
pub mod quality;
pub mod stitch;
pub mod text;

pub use args::ReadArgs;
pub use clean::{clean, CleanOptions, CleanPart};
pub use dataset::{list_targets, read_labels, read_target, LabelRow, TargetFiles};
pub use error::LightCurveError;
pub use fits::FluxColumn;
pub use quality::QualityMask;
pub use stitch::stitch;

/// One star's light curve, ready for a transit search: every value finite, time ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct LightCurve {
    /// The mission's identifier ("KIC 11442793", "EPIC 201367065", "TIC 261136679"), or
    /// the file name's stem for files that do not carry one.
    pub target: String,
    /// The file names that made it, in stitch order.
    pub files: Vec<String>,
    /// "Kepler", "K2" or "TESS" when the file says so.
    pub mission: Option<String>,
    /// Days, strictly ascending, finite, in the files' own offset (BJD, BKJD = BJD -
    /// 2454833, BTJD = BJD - 2457000): the reader never shifts time.
    pub time: Vec<f64>,
    /// Relative flux: each part divided by its own median, so about 1.
    pub flux: Vec<f64>,
    /// The flux's 1-sigma errors on the same scale, when every part has usable errors.
    pub flux_err: Option<Vec<f64>>,
    /// What each part contributed, in stitch order (one per file).
    pub parts: Vec<PartSummary>,
}

/// What one file contributed to a [`LightCurve`].
#[derive(Clone, Debug, PartialEq)]
pub struct PartSummary {
    pub file: String,
    /// "Q3", "C1", "S1": the quarter, campaign or sector, when the file says.
    pub segment: Option<String>,
    /// Rows in the file.
    pub rows: usize,
    /// Rows kept.
    pub points: usize,
    /// Rows dropped for a quality flag in the mask.
    pub flagged: usize,
    /// Rows dropped for a non-finite time, flux or (where present) error.
    pub non_finite: usize,
    /// Rows dropped as upward outliers (flares), when clipping is on.
    pub clipped: usize,
    /// The median flux the part was divided by, in the file's units.
    pub median: f64,
}

/// How to read and clean light curves.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadOptions {
    /// Which FITS flux column to read.
    pub flux: FluxColumn,
    /// Which quality flags drop a cadence.
    pub quality: QualityMask,
    /// Text files: the flux column holds magnitudes (a column named `mag` always does).
    pub magnitudes: bool,
    /// Flare clipping and the other cleaning choices.
    pub clean: CleanOptions,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            flux: FluxColumn::Pdcsap,
            quality: QualityMask::Default,
            magnitudes: false,
            clean: CleanOptions::default(),
        }
    }
}

/// Where one file's points come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Source {
    /// The file's name as the user gave it (for messages).
    pub file: String,
    /// The mission's identifier from the header, when the file has one.
    pub target: Option<String>,
    pub mission: Option<String>,
    /// "Q3", "C1", "S1": the quarter, campaign or sector, when the file says.
    pub segment: Option<String>,
    /// Which column the flux came from ("PDCSAP_FLUX", "flux", ...), for messages.
    pub flux_column: String,
}

/// One file's columns as read, before cleaning: rows in file order, NaN where the file
/// has no value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawPart {
    pub source: Source,
    pub time: Vec<f64>,
    pub flux: Vec<f64>,
    pub flux_err: Option<Vec<f64>>,
    pub quality: Option<Vec<u32>>,
}

/// Reads one file of either kind, gzip-compressed or not: FITS by its first bytes
/// ("SIMPLE  ="), text otherwise.
pub fn read_file(path: &std::path::Path, opts: &ReadOptions) -> Result<RawPart, LightCurveError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LightCurveError::io(&name, source))?;
    read_bytes(&name, &gzip::decompressed(&name, bytes)?, opts)
}

/// Reads one file's bytes; `name` is what messages call it.
pub fn read_bytes(name: &str, bytes: &[u8], opts: &ReadOptions) -> Result<RawPart, LightCurveError> {
    if fits::looks_like_fits(bytes) {
        fits::parse(name, bytes, opts.flux)
    } else {
        text::parse(name, bytes, opts.magnitudes)
    }
}
