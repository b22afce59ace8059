//! Turns raw light curves into network input. Two modes:
//! - the seed notebook's (the default, and what user CSVs get unless told otherwise):
//!   each star standardized on its own, plus a second channel holding a moving average
//!   of the standardized flux;
//! - the transit search ([`TransitView`], the built-in synthetic main job's): the
//!   detrended, whitened time series and the light curve folded at the period of its
//!   strongest box-shaped dip, and two vetting channels (odd minus even transits, the
//!   fold half an orbit on). The notebook's 200-point average erases a 2-20 cadence
//!   transit; folding adds every transit up instead.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use crate::series::{moving_average, standardize};
use crate::transit::{BoxScore, Detection, TransitView};

/// The preprocessing a model was trained with; stored in checkpoints so that evaluation
/// prepares data the same way.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Per-row `(x - mean) / std` (population std, numpy's default); a constant row
    /// becomes zeros.
    pub standardize: bool,
    /// Adds a channel: the [`moving_average`] of channel 0 over this many samples.
    pub smooth_window: Option<usize>,
    /// When set, the input is the transit search's channels instead, and
    /// `standardize` and `smooth_window` are not used. Absent in checkpoints written
    /// before it existed, which read as None.
    #[serde(default)]
    pub transit_view: Option<TransitView>,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess { standardize: true, smooth_window: Some(200), transit_view: None }
    }
}

impl Preprocess {
    /// The transit-search mode with its default settings, and `detection` as its gate.
    pub fn transit_search(detection: Detection) -> Preprocess {
        let view = TransitView { detection: Some(detection), ..TransitView::default() };
        Preprocess { transit_view: Some(view), ..Preprocess::default() }
    }

    /// The transit search's detection gate, if it has one.
    pub fn detection(&self) -> Option<Detection> {
        self.transit_view.and_then(|v| v.detection)
    }

    /// What the channels hold, for plots: channel 0 drawn blue, channel 1 orange.
    pub fn channel_names(&self) -> &'static str {
        match (self.transit_view.map(|v| v.vetting), self.smooth_window.is_some()) {
            (Some(false), _) => {
                "whitened flux (blue), folded at the best box period, transit at the centre (orange)"
            }
            (Some(true), _) => {
                "whitened flux (blue), folded at the best box period, transit at the centre (orange); \
                 the vetting channels are not drawn"
            }
            (None, true) => "standardized flux (blue), its moving average (orange)",
            (None, false) => "standardized flux",
        }
    }

    /// How many leading channels are time series (which roll augmentation may shift);
    /// the transit view's later channels are folded curves, centred on the transit.
    pub fn time_channels(&self) -> usize {
        if self.transit_view.is_some() {
            1
        } else {
            self.channels()
        }
    }

    pub fn channels(&self) -> usize {
        if let Some(view) = &self.transit_view {
            return view.channels();
        }
        1 + usize::from(self.smooth_window.is_some())
    }

    /// The prepared rows, shape (rows, channels, len), row-major.
    pub fn apply(&self, ds: &Dataset) -> Vec<f32> {
        let row_size = self.channels() * ds.len;
        let mut out = vec![0.0f32; ds.rows() * row_size];
        if row_size == 0 {
            return out;
        }
        out.par_chunks_mut(row_size).enumerate().for_each(|(row, dst)| {
            self.apply_series(ds.series(row), dst);
        });
        out
    }

    /// The same as [`apply`](Self::apply), in the data set's own buffer: each raw row moves
    /// to its place in the prepared layout and is prepared there from a one-row copy. With
    /// the room [`read_csv_with_room`] reserves, the buffer is never reallocated, so the
    /// data exist once: `4 * channels * len * rows` bytes, plus one row per thread. A data
    /// set without that room grows its buffer once, first.
    ///
    /// [`read_csv_with_room`]: super::read_csv_with_room
    pub fn apply_owned(&self, ds: Dataset) -> PreparedRows {
        let (rows, len) = (ds.rows(), ds.len);
        let row_size = self.channels() * len;
        let mut values = ds.values;
        values.reserve_exact(rows * row_size - values.len());
        values.resize(rows * row_size, 0.0);
        if row_size == 0 {
            return PreparedRows { values, boxes: vec![BoxScore::default(); rows] };
        }
        // Last row first: row r moves up to r * row_size >= r * len, over rows already moved.
        for row in (1..rows).rev() {
            values.copy_within(row * len..(row + 1) * len, row * row_size);
        }
        let boxes = values
            .par_chunks_mut(row_size)
            .map_init(
                || vec![0.0f32; len],
                |raw, dst| {
                    raw.copy_from_slice(&dst[..len]);
                    self.apply_series(raw, dst)
                },
            )
            .collect();
        PreparedRows { values, boxes }
    }

    /// Writes every value of `dst` (channels x series length) from `series`; returns what
    /// the transit search found (zeros without it).
    pub fn apply_series(&self, series: &[f32], dst: &mut [f32]) -> BoxScore {
        if let Some(view) = &self.transit_view {
            return view.apply_row(series, dst);
        }
        let (flux, rest) = dst.split_at_mut(series.len());
        if self.standardize {
            standardize(series, flux);
        } else {
            flux.copy_from_slice(series);
        }
        if let Some(window) = self.smooth_window {
            moving_average(flux, window, rest);
        }
        BoxScore::default()
    }
}

/// Prepared rows and what the transit search measured on each.
pub struct PreparedRows {
    /// (rows, channels, len), row-major.
    pub values: Vec<f32>,
    /// What the transit search found in each row ([`TransitView::apply_row`]).
    pub boxes: Vec<BoxScore>,
}
