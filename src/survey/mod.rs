//! Multi-band survey light curves (LSST/PLAsTiCC): irregular observations in six
//! passbands per object, turned into per-object features for a dense classifier.
//!
//! `reader` reads the PLAsTiCC CSV layout and `writer` writes it; `synth` generates a data
//! set in it; `features` summarizes each object per passband and overall; `standardize`
//! scales the features with training-set statistics; `metric` is the competition's
//! weighted log loss; `train` fits the `survey-mlp` preset with the engine's trainer on
//! either backend.

pub mod cli;
pub mod error;
pub mod features;
pub mod labels;
pub mod metric;
pub mod objects;
pub mod period;
pub mod reader;
pub mod standardize;
pub mod synth;
pub mod table;
pub mod train;
pub mod writer;

pub use error::SurveyError;
pub use features::{feature_names, object_features, FeatureTable};
pub use reader::{read_survey, Observation, Survey, SurveyObject, META_COLUMNS, PASSBANDS};
pub use writer::write_survey;
