//! Turns raw data into network input. Three kinds:
//! - plain, the seed notebook's (the default, and what user CSVs get unless told
//!   otherwise): each star standardized on its own, plus a second channel holding a
//!   moving average of the standardized flux;
//! - the transit search ([`TransitView`], the built-in synthetic main job's): the
//!   detrended, whitened time series and the light curve folded at the period of its
//!   strongest box-shaped dip, and two vetting channels (odd minus even transits, the
//!   fold half an orbit on). The notebook's 200-point average erases a 2-20 cadence
//!   transit; folding adds every transit up instead;
//! - survey features ([`FeatureScaling`]): a row of per-object features (computed by the
//!   survey module), each standardized with the training set's mean and std.

use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

use super::dataset::Dataset;
use super::feature_scaling::FeatureScaling;
use crate::series::{moving_average, standardize};
use crate::transit::{BoxScore, Detection, TransitView};

/// The preprocessing a model was trained with; stored in checkpoints so that evaluation
/// prepares data the same way. Checkpoints hold it as `{"kind": ..., ...}`; those written
/// when it was one struct read through [`deserialize_stored`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preprocess {
    /// A light curve as it is, per row.
    Plain {
        /// Per-row `(x - mean) / std` (population std, numpy's default); a constant row
        /// becomes zeros.
        standardize: bool,
        /// Adds a channel: the [`moving_average`] of channel 0 over this many samples.
        smooth_window: Option<usize>,
    },
    /// The transit search's channels.
    TransitSearch { view: TransitView },
    /// Per-object survey features, one channel, standardized per feature.
    SurveyFeatures { scaling: FeatureScaling },
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess::Plain { standardize: true, smooth_window: Some(200) }
    }
}

/// What checkpoints held before [`Preprocess`] was an enum: one struct whose
/// `transit_view`, when set, replaced the other two fields (absent before it existed).
#[derive(Deserialize)]
struct Legacy {
    standardize: bool,
    smooth_window: Option<usize>,
    #[serde(default)]
    transit_view: Option<TransitView>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Current(Preprocess),
    Legacy(Legacy),
}

/// A stored [`Preprocess`], in either layout (for a card's `deserialize_with`).
pub fn deserialize_stored<'de, D: Deserializer<'de>>(d: D) -> Result<Preprocess, D::Error> {
    Ok(match Stored::deserialize(d)? {
        Stored::Current(p) => p,
        Stored::Legacy(Legacy { transit_view: Some(view), .. }) => Preprocess::TransitSearch { view },
        Stored::Legacy(Legacy { standardize, smooth_window, transit_view: None }) => {
            Preprocess::Plain { standardize, smooth_window }
        }
    })
}

impl Preprocess {
    /// The transit-search mode with its default settings, and `detection` as its gate.
    pub fn transit_search(detection: Detection) -> Preprocess {
        Preprocess::TransitSearch {
            view: TransitView { detection: Some(detection), ..TransitView::default() },
        }
    }

    /// The transit search's settings, if this is it.
    pub fn transit_view(&self) -> Option<&TransitView> {
        match self {
            Preprocess::TransitSearch { view } => Some(view),
            _ => None,
        }
    }

    /// The transit search's detection gate, if it has one.
    pub fn detection(&self) -> Option<Detection> {
        self.transit_view().and_then(|v| v.detection)
    }

    /// What the channels hold, for plots: channel 0 drawn blue, channel 1 orange.
    pub fn channel_names(&self) -> &'static str {
        match self {
            Preprocess::TransitSearch { view } if !view.vetting => {
                "whitened flux (blue), folded at the best box period, transit at the centre (orange)"
            }
            Preprocess::TransitSearch { .. } => {
                "whitened flux (blue), folded at the best box period, transit at the centre (orange); \
                 the vetting channels are not drawn"
            }
            Preprocess::Plain { smooth_window: Some(_), .. } => {
                "standardized flux (blue), its moving average (orange)"
            }
            Preprocess::Plain { smooth_window: None, .. } => "standardized flux",
            Preprocess::SurveyFeatures { .. } => "standardized features",
        }
    }

    /// How many leading channels are time series (which roll augmentation may shift);
    /// the transit view's later channels are folded curves, centred on the transit, and
    /// survey features are no time series.
    pub fn time_channels(&self) -> usize {
        match self {
            Preprocess::Plain { .. } => self.channels(),
            Preprocess::TransitSearch { .. } => 1,
            Preprocess::SurveyFeatures { .. } => 0,
        }
    }

    pub fn channels(&self) -> usize {
        match self {
            Preprocess::Plain { smooth_window, .. } => 1 + usize::from(smooth_window.is_some()),
            Preprocess::TransitSearch { view } => view.channels(),
            Preprocess::SurveyFeatures { .. } => 1,
        }
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
        match self {
            Preprocess::TransitSearch { view } => return view.apply_row(series, dst),
            Preprocess::SurveyFeatures { scaling } => {
                scaling.apply_row(series.iter().map(|&v| f64::from(v)), dst)
            }
            Preprocess::Plain { standardize: scale, smooth_window } => {
                let (flux, rest) = dst.split_at_mut(series.len());
                if *scale {
                    standardize(series, flux);
                } else {
                    flux.copy_from_slice(series);
                }
                if let Some(window) = smooth_window {
                    moving_average(flux, *window, rest);
                }
            }
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
