//! Length checks at the entry of every op: a wrong length is a bug in the caller (the
//! model code derives every shape), so it panics with the op and tensor named.

#[track_caller]
pub fn len(what: &str, got: usize, want: usize) {
    assert!(got == want, "{what}: {got} elements, expected {want}");
}
