//! Light curves in: CSV reading, preprocessing, synthetic K2-like data, batch sampling.

pub mod dataset;

pub use dataset::Dataset;
