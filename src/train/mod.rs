//! Training: the host scheduler, the epoch loop, evaluation, and the run directory.

pub mod atomic_file;
pub mod curve_scoring;
pub mod curve_set;
pub mod defaults;
pub mod driver;
pub mod evaluate;
pub mod fit;
pub mod guard;
pub mod infer;
pub mod interrupt;
pub mod k2_recipe;
pub mod predict_curves;
pub mod report;
pub mod run;
pub mod scheduler;
pub mod shard;
pub mod trainer;
