//! PNG plots of a report and of training: history, confusion matrix, ROC and PR curves,
//! example light curves. Each function writes one file and names it in its errors.

pub mod confusion;
pub mod curves;
pub mod history;
pub mod light_curves;
mod style;

pub use confusion::plot_confusion;
pub use curves::{plot_pr, plot_roc};
pub use history::{plot_history, EpochPoint};
pub use light_curves::{plot_light_curves, CurveExample};
