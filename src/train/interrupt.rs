//! Ctrl-C finishes the current step and stops the run cleanly; a second Ctrl-C exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process-wide interrupt flag, with the SIGINT handler installed on first use.
pub fn flag() -> Arc<AtomicBool> {
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&flag);
        // Installing fails only if another handler exists (a host program's): then
        // Ctrl-C keeps its default meaning, and the per-epoch checkpoint still holds.
        let _ = ctrlc::set_handler(move || {
            if seen.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nInterrupt: finishing the current step and writing the checkpoint (Ctrl-C again to quit now)");
        });
        flag
    })
    .clone()
}
