//! Numeric helpers on one series, shared by preprocessing and the transit search. A leaf:
//! it imports nothing of the crate.

/// `out = (x - mean) / std` with the population std, in f64; zeros when std is 0.
pub fn standardize(x: &[f32], out: &mut [f32]) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    if std > 0.0 {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = ((f64::from(v) - mean) / std) as f32;
        }
    } else {
        // A flat row carries no shape; zeros keep NaN out of training.
        out.fill(0.0);
    }
}

/// Moving average with `scipy.ndimage.uniform_filter1d(x, size, mode='reflect', origin=0)`
/// semantics, summed in f64:
///
/// `out[i] = mean(x[j] for j in i - size/2 .. i - size/2 + size)` (integer division, end
/// exclusive), so an even window reaches one sample further left than right: size 4
/// averages `x[i-2], x[i-1], x[i], x[i+1]`.
///
/// Indices outside `0..n` reflect about the edges including the edge sample,
/// `d c b a | a b c d | d c b a`, repeating as often as needed, so a window longer than
/// the series is fine. A window of 0 is taken as 1 (the identity).
pub fn moving_average(x: &[f32], size: usize, out: &mut [f32]) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let size = size.max(1);
    let at = |j: isize| f64::from(x[reflect(j, n)]);
    let first = -((size / 2) as isize);
    let mut sum: f64 = (0..size as isize).map(|k| at(first + k)).sum();
    out[0] = (sum / size as f64) as f32;
    for i in 1..n as isize {
        let start = first + i;
        sum += at(start + size as isize - 1) - at(start - 1);
        out[i as usize] = (sum / size as f64) as f32;
    }
}

/// Index into `0..n` for any integer `j`, reflecting about both edges (period 2n).
fn reflect(j: isize, n: usize) -> usize {
    let period = 2 * n as isize;
    let m = j.rem_euclid(period) as usize;
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

/// 1.4826 x the median absolute value of the observed entries (the standard deviation
/// for Gaussian noise, unmoved by a few deep dips).
pub fn robust_scale(residual: &[f32], observed: &[bool]) -> f32 {
    1.4826 * median_abs(residual.iter().zip(observed).filter(|(_, &o)| o).map(|(r, _)| *r))
}

/// The median of `values` (reordered, not empty): the upper middle one for an even count.
pub fn median(values: &mut [f32]) -> f32 {
    let mid = values.len() / 2;
    *values.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// The median of the absolute values; 0 for none.
pub fn median_abs(values: impl Iterator<Item = f32>) -> f32 {
    let mut abs: Vec<f32> = values.map(f32::abs).collect();
    if abs.is_empty() {
        return 0.0;
    }
    median(&mut abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smoothed(x: &[f32], size: usize) -> Vec<f32> {
        let mut out = vec![f32::NAN; x.len()];
        moving_average(x, size, &mut out);
        out
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-5, "index {i}: got {g}, want {w}");
        }
    }

    // Hand-computed; scipy 1.17.1 uniform_filter1d(mode='reflect') gives the same sums.
    #[test]
    fn odd_window_is_centred_and_reflects_edges() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0];
        // Window i-1..=i+1; x[-1] = x[0] = 3, x[6] = x[5] = 9.
        let sums = [7.0, 8.0, 6.0, 10.0, 15.0, 23.0];
        assert_close(&smoothed(&x, 3), &sums.map(|s| s / 3.0));
    }

    #[test]
    fn even_window_reaches_further_left() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0];
        // Window i-2..=i+1; x[-2] = x[1] = 1, x[-1] = x[0] = 3, x[6] = x[5] = 9.
        let sums = [8.0, 11.0, 9.0, 11.0, 19.0, 24.0];
        assert_close(&smoothed(&x, 4), &sums.map(|s| s / 4.0));
    }

    #[test]
    fn window_longer_than_series_reflects_repeatedly() {
        // Extended: ... 2 1 | 1 2 | 2 1 ...; window i-2..=i+2.
        assert_close(&smoothed(&[1.0, 2.0], 5), &[8.0 / 5.0, 7.0 / 5.0]);
        // Extended: ... 7 2 1 | 1 2 7 | 7 2 1 | 1 ...; window i-4..=i+3.
        assert_close(&smoothed(&[1.0, 2.0, 7.0], 8), &[34.0 / 8.0, 29.0 / 8.0, 23.0 / 8.0]);
    }

    #[test]
    fn window_one_is_identity() {
        let x = [0.5, -2.0, 7.25];
        assert_close(&smoothed(&x, 1), &x);
        assert_close(&smoothed(&x, 0), &x);
    }

    #[test]
    fn standardize_gives_zero_mean_unit_std_and_zeros_for_flat_rows() {
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]; // mean 5, population std 2
        let mut out = [0.0; 8];
        standardize(&x, &mut out);
        assert_close(&out, &[-1.5, -0.5, -0.5, -0.5, 0.0, 0.0, 1.0, 2.0]);
        let mut flat = [f32::NAN; 4];
        standardize(&[1.0e6; 4], &mut flat);
        assert_eq!(flat, [0.0; 4]);
    }

    #[test]
    fn median_takes_the_upper_middle_and_robust_scale_only_observed() {
        assert_eq!(median(&mut [4.0, -1.0, 3.0, 2.0]), 3.0);
        assert_eq!(median(&mut [5.0, f32::NEG_INFINITY, 1.0]), 1.0);
        assert_eq!(median_abs([-3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median_abs(std::iter::empty()), 0.0);
        // The unobserved 100 would be the median absolute value if it counted.
        let scale = robust_scale(&[-2.0, 100.0, 100.0, 1.0, 2.0], &[true, false, false, true, true]);
        assert!((scale - 1.4826 * 2.0).abs() < 1e-6);
    }
}
