//! The built-in K2 recipe: the synthetic K2 data, injected transits, eclipsing binaries
//! and the injection set that measures recall by S/N.

pub mod injection;
