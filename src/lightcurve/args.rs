//! The command-line options that say how to read light-curve files, shared by every
//! subcommand that takes `--data PATH` of mission files.

use std::path::PathBuf;

use super::{CleanOptions, FluxColumn, QualityMask, ReadOptions};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ReadArgs {
    /// Labels table, `target,label` per line (header optional); targets are the mission's
    /// identifier (e.g. "KIC 11442793") or the file name's stem. For `train`, it labels
    /// --train's light-curve files.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// FITS flux column: pdcsap (PDCSAP_FLUX, trends removed) or sap (SAP_FLUX).
    #[arg(long, value_enum, default_value_t)]
    pub flux: FluxColumn,
    /// Quality flags that drop a cadence: default (lightkurve's default bitmask for the
    /// file's mission), none, hardest (any flag), or a bitmask as an integer.
    #[arg(long, default_value_t)]
    pub quality: QualityMask,
    /// Text files: the flux column holds magnitudes (a column named mag always does).
    #[arg(long)]
    pub mag: bool,
    /// Drop upward outliers (flares) more than this many robust standard deviations above
    /// a half-day running median. Off by default.
    #[arg(long)]
    pub clip_flares: Option<f64>,
}

impl ReadArgs {
    pub fn options(&self) -> ReadOptions {
        ReadOptions {
            flux: self.flux,
            quality: self.quality,
            magnitudes: self.mag,
            clean: CleanOptions { clip_flares: self.clip_flares, ..CleanOptions::default() },
        }
    }
}
