//! Any bytes as a checkpoint file: load returns a checkpoint or an error, never panics,
//! and a loaded checkpoint has every parameter its card's model needs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starskope::model::checkpoint;

fuzz_target!(|bytes: &[u8]| {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), bytes).expect("write temp file");
    if let Ok(ck) = checkpoint::load(file.path()) {
        let layers = ck.card.plan().expect("load checked the plan");
        assert_eq!(ck.param_values(&layers).len(), layers.iter().map(|l| l.params.len()).sum::<usize>());
    }
});
