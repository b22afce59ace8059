//! Any bytes as a MAST light-curve FITS file through lightcurve::fits::parse, then cleaning
//! and stitching: a light curve or a LightCurveError, never a panic, and what it returns
//! keeps the LightCurve promises (finite values, time strictly ascending).
#![no_main]

use libfuzzer_sys::fuzz_target;
use starskope::lightcurve::{clean, fits, stitch, FluxColumn, QualityMask};

fuzz_target!(|bytes: &[u8]| {
    for flux in [FluxColumn::Pdcsap, FluxColumn::Sap] {
        let Ok(raw) = fits::parse("fuzz.fits", bytes, flux) else { continue };
        assert_eq!(raw.flux.len(), raw.time.len());
        let Ok(part) = clean(raw, QualityMask::Default, &Default::default()) else { continue };
        if let Ok(curve) = stitch("fuzz", vec![part]) {
            assert!(curve.time.windows(2).all(|w| w[1] > w[0]));
            assert!(curve.time.iter().chain(&curve.flux).all(|v| v.is_finite()));
        }
    }
});
