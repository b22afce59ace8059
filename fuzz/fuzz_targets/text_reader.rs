//! Any bytes as a text light curve through lightcurve::text::parse (flux and magnitudes),
//! then cleaning with flare clipping and stitching: a light curve or a LightCurveError,
//! never a panic, and what it returns keeps the LightCurve promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starskope::lightcurve::{clean, stitch, text, CleanOptions, QualityMask};

fuzz_target!(|bytes: &[u8]| {
    for magnitudes in [false, true] {
        let Ok(raw) = text::parse("fuzz.csv", bytes, magnitudes) else { continue };
        assert_eq!(raw.flux.len(), raw.time.len());
        let opts = CleanOptions { clip_flares: Some(3.0), ..CleanOptions::default() };
        let Ok(part) = clean(raw, QualityMask::Default, &opts) else { continue };
        if let Ok(curve) = stitch("fuzz", vec![part]) {
            assert!(curve.time.windows(2).all(|w| w[1] > w[0]));
            assert!(curve.time.iter().chain(&curve.flux).all(|v| v.is_finite()));
        }
    }
});
