//! The transit search: whitening, the box search, and the transit-search input channels.

pub mod bls;
mod rotation;
pub mod transit_view;
pub mod whiten;

pub use transit_view::{BoxScore, Detection, TransitView};
