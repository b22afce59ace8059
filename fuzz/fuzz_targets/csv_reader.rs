//! Any bytes as a CSV file: read_csv returns rows or a DataError under every NaN policy,
//! never panics, and what it returns is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starskope::data::{read_csv, NanPolicy, ReadOptions};

fuzz_target!(|bytes: &[u8]| {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), bytes).expect("write temp file");
    for nan in [NanPolicy::Error, NanPolicy::Fill, NanPolicy::Drop] {
        if let Ok(ds) = read_csv(file.path(), &ReadOptions { nan }) {
            assert!(ds.len >= 1 && ds.rows() >= 1);
            assert_eq!(ds.values.len(), ds.rows() * ds.len);
            assert!(ds.values.iter().all(|v| v.is_finite()));
        }
    }
});
