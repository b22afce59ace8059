//! The transit search: whitening (`whiten`, `rotation`), the box search (`bls`), the
//! transit-search input channels (`transit_view`) and the detection gate (`gate`).

pub mod bls;
pub mod gate;
mod rotation;
pub mod transit_view;
pub mod whiten;

pub use gate::{BoxScore, Detection, Detections};
pub use transit_view::TransitView;
