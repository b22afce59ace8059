//! What a user needs to trust a light-curve classifier: confusion matrix, per-class
//! precision/recall/F1, ROC and precision-recall curves with their areas, operating
//! thresholds, a plain-text table, and PNG plots.

pub mod confusion;
pub mod plots;
pub mod ranking;
pub mod report;
pub mod table;
pub mod thresholds;

pub use plots::{
    plot_confusion, plot_history, plot_light_curves, plot_pr, plot_roc, CurveExample, EpochPoint,
};
pub use report::{BinaryReport, ClassStats, Report};
pub use table::render_table;
pub use thresholds::{OperatingPoint, Rule};
