//! Starskøpe: train light-curve classifiers on any GPU, on hand-written WGSL kernels,
//! with a plain-Rust reference backend that every kernel is checked against.
//!
//! Layout (see README.md): `backend` is the list of ops; `cpu` and `gpu` implement it;
//! `model` writes networks once over it; `data` reads and prepares light curves; `train`
//! drives it all; `metrics` reports what a user needs to trust a classifier.

pub mod backend;
pub mod bench;
pub mod cpu;
pub mod data;
pub mod device;
pub mod fastcpu;
pub mod gpu;
pub mod lightcurve;
pub mod metrics;
pub mod model;
pub mod series;
pub mod survey;
pub mod synth;
pub mod train;
pub mod transit;
pub mod verify;
