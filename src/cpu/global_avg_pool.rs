//! Global average pooling: (batch, channels, len) -> (batch, channels), the mean over len.

use super::check;
use super::real::Real;
use crate::backend::ChannelShape;

pub fn forward<T: Real>(s: &ChannelShape, x: &[T], y: &mut [T]) {
    check::len("global_avg_pool x", x.len(), s.batch * s.channels * s.len);
    check::len("global_avg_pool y", y.len(), s.batch * s.channels);
    assert!(s.len > 0, "global_avg_pool: the mean over 0 elements is undefined");
    let len = T::of(s.len as f64);
    for (out, row) in y.iter_mut().zip(x.chunks(s.len.max(1))) {
        *out = row.iter().fold(T::zero(), |sum, &v| sum + v) / len;
    }
}

/// dx[n, c, l] = dy[n, c] / len.
pub fn backward<T: Real>(s: &ChannelShape, dy: &[T], dx: &mut [T]) {
    check::len("global_avg_pool dy", dy.len(), s.batch * s.channels);
    check::len("global_avg_pool dx", dx.len(), s.batch * s.channels * s.len);
    let len = T::of(s.len as f64);
    for (row, &g) in dx.chunks_mut(s.len.max(1)).zip(dy) {
        row.fill(g / len);
    }
}
