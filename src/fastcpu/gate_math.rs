//! The LSTM's gate functions in f32 without a library call: written branch-free over
//! plain arithmetic so that the cell loops vectorize (libm's expf and tanhf took a
//! quarter of the seed-lstm step; benches/RESULTS.md).
//!
//! `exp` is Cephes' expf: n = round(x / ln 2), a degree-6 polynomial on the remainder,
//! times 2^n; relative error about 2 ulp on [-87, 88], the input clamped to that range
//! (sigmoid and tanh saturate there long before). tanh(x) = 1 - 2 / (e^{2x} + 1) loses its
//! relative accuracy near 0 by cancellation, so |x| < 1/16 uses its Taylor series.

use crate::cpu::lstm::GateFunctions;

pub struct Approx;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// 1.5 * 2^23: adding and subtracting it rounds an f32 of magnitude < 2^22 to an integer.
const ROUND: f32 = 12_582_912.0;

#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 split in two so that n * LN2_HI is exact
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // 2^n built from `shifted`, whose low mantissa bits hold n (ROUND fixes its exponent,
    // whose bits the shift pushes out): `n as i32` would add the saturating conversion's
    // checks to the vectorized cell loops.
    e_r * f32::from_bits(shifted.to_bits().wrapping_add(127) << 23)
}

impl GateFunctions<f32> for Approx {
    #[inline(always)]
    fn sigmoid(v: f32) -> f32 {
        1.0 / (1.0 + exp(-v))
    }

    #[inline(always)]
    fn tanh(v: f32) -> f32 {
        let v2 = v * v;
        let series = v * (1.0 + v2 * (-1.0 / 3.0 + v2 * (2.0 / 15.0 + v2 * (-17.0 / 315.0))));
        let far = 1.0 - 2.0 / (exp(2.0 * v) + 1.0);
        if v.abs() < 0.0625 {
            series
        } else {
            far
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::lstm::Exact;

    /// Against the library functions in f64 over the range the gates see, and beyond it
    /// (saturation): the error stays at about two f32 ulp (1.2e-7) of 1, relative to
    /// max(|tanh|, 1/16) for tanh.
    #[test]
    fn gate_functions_match_the_library() {
        let mut worst = [0.0f64; 2];
        for k in -200_000..=200_000 {
            let v = k as f32 * 1e-4;
            let sigmoid = <Exact as GateFunctions<f64>>::sigmoid(v as f64);
            worst[0] = worst[0].max((Approx::sigmoid(v) as f64 - sigmoid).abs());
            let tanh = (v as f64).tanh();
            let err = (Approx::tanh(v) as f64 - tanh).abs() / tanh.abs().max(0.0625);
            worst[1] = worst[1].max(err);
        }
        assert!(worst[0] < 3e-7 && worst[1] < 3e-6, "worst errors: sigmoid {}, tanh {}", worst[0], worst[1]);
        for v in [-1e4f32, -100.0, 100.0, 1e4] {
            let sigmoid = Approx::sigmoid(v);
            assert!(
                if v > 0.0 { sigmoid == 1.0 } else { (0.0..1e-37).contains(&sigmoid) },
                "sigmoid({v}) = {sigmoid}"
            );
            assert_eq!(Approx::tanh(v), v.signum());
        }
        assert!(Approx::sigmoid(f32::NAN).is_nan() && Approx::tanh(f32::NAN).is_nan());
    }
}
