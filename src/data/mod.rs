//! Light curves in: CSV reading, preprocessing (survey features' scaling included), batch sampling.

pub mod csv_reader;
pub mod curve_input;
pub mod dataset;
pub mod error;
pub mod feature_scaling;
pub mod label;
pub mod preprocess;
pub mod sampler;
pub mod split;
pub mod time_grid;

pub use csv_reader::{read_csv, read_csv_report, read_csv_with_room, NanPolicy, ReadOptions, ReadReport};
pub use dataset::Dataset;
pub use error::DataError;
pub use feature_scaling::FeatureScaling;
pub use label::Label;
pub use preprocess::{PreparedRows, Preprocess};
pub use sampler::{gather_batch, BatchPlan, EpochBatches, Layout, Pick, SampleMode};
pub use split::{
    balanced_class_weights, check_known_classes, check_known_labels, check_training_classes, stratified_split,
};
