//! Pooling over the last axis of (batch, channels, len).
//!
//! Max-pool: floor mode; ties go to the first position of the window. The backward pass
//! recomputes the argmax from x instead of saving indices.
//!
//! Global average pooling: (batch, channels, len) -> (batch, channels), the mean over len.

use super::check;
use super::real::Real;
use crate::backend::{ChannelShape, PoolShape};
use rayon::prelude::*;

fn check_shapes<T>(s: &PoolShape, x: &[T], y: &[T]) {
    assert!(s.pool >= 1 && s.stride >= 1 && s.len_in >= s.pool, "maxpool: bad shape {s:?}");
    assert!(
        s.len_out == (s.len_in - s.pool) / s.stride + 1,
        "maxpool: len_out {} but floor(({} - {}) / {}) + 1 = {}",
        s.len_out,
        s.len_in,
        s.pool,
        s.stride,
        (s.len_in - s.pool) / s.stride + 1
    );
    check::len("maxpool x", x.len(), s.batch * s.channels * s.len_in);
    check::len("maxpool y/dy", y.len(), s.batch * s.channels * s.len_out);
}

/// Input elements per parallel task: rows are grouped so that short rows (the last
/// layers' 37 positions) do not each cost a task.
const TASK: usize = 1 << 14;

/// Window j of a row.
fn window<'a, T>(s: &PoolShape, row: &'a [T], j: usize) -> &'a [T] {
    &row[j * s.stride..j * s.stride + s.pool]
}

/// Position of the window's maximum; the first one on ties. The comparison only picks
/// values (no branch on the data), so random inputs cost no mispredicted jumps.
fn argmax<T: Real>(window: &[T]) -> usize {
    let (mut best, mut max) = (0, window[0]);
    for (i, &v) in window.iter().enumerate().skip(1) {
        (best, max) = if v > max { (i, v) } else { (best, max) };
    }
    best
}

fn rows_per_task(s: &PoolShape) -> usize {
    (TASK / s.len_in).max(1)
}

pub fn maxpool_forward<T: Real>(s: &PoolShape, x: &[T], y: &mut [T]) {
    check_shapes(s, x, y);
    y.par_chunks_mut(s.len_out).zip(x.par_chunks(s.len_in)).with_min_len(rows_per_task(s)).for_each(
        |(y_row, x_row)| {
            for (j, out) in y_row.iter_mut().enumerate() {
                let w = window(s, x_row, j);
                *out = w[argmax(w)];
            }
        },
    );
}

/// dx[argmax of window j] += dy[j]; zero elsewhere (overlapping windows accumulate).
pub fn maxpool_backward<T: Real>(s: &PoolShape, x: &[T], dy: &[T], dx: &mut [T]) {
    check_shapes(s, x, dy);
    check::len("maxpool dx", dx.len(), x.len());
    dx.par_chunks_mut(s.len_in)
        .zip(x.par_chunks(s.len_in).zip(dy.par_chunks(s.len_out)))
        .with_min_len(rows_per_task(s))
        .for_each(|(dx_row, (x_row, dy_row))| {
            dx_row.fill(T::zero());
            for (j, &g) in dy_row.iter().enumerate() {
                dx_row[j * s.stride + argmax(window(s, x_row, j))] += g;
            }
        });
}

/// (batch, channels, len_out): the absolute position in 0..len_in of each window's
/// maximum, as the golden files' `indices` output records it.
pub fn argmax_indices<T: Real>(s: &PoolShape, x: &[T]) -> Vec<usize> {
    check::len("maxpool x", x.len(), s.batch * s.channels * s.len_in);
    x.chunks(s.len_in)
        .flat_map(|row| (0..s.len_out).map(move |j| j * s.stride + argmax(window(s, row, j))))
        .collect()
}

pub fn global_avg_pool_forward<T: Real>(s: &ChannelShape, x: &[T], y: &mut [T]) {
    check::len("global_avg_pool x", x.len(), s.batch * s.channels * s.len);
    check::len("global_avg_pool y", y.len(), s.batch * s.channels);
    assert!(s.len > 0, "global_avg_pool: the mean over 0 elements is undefined");
    let len = T::of(s.len as f64);
    for (out, row) in y.iter_mut().zip(x.chunks(s.len.max(1))) {
        *out = row.iter().fold(T::zero(), |sum, &v| sum + v) / len;
    }
}

/// dx[n, c, l] = dy[n, c] / len.
pub fn global_avg_pool_backward<T: Real>(s: &ChannelShape, dy: &[T], dx: &mut [T]) {
    check::len("global_avg_pool dy", dy.len(), s.batch * s.channels);
    check::len("global_avg_pool dx", dx.len(), s.batch * s.channels * s.len);
    let len = T::of(s.len as f64);
    for (row, &g) in dx.chunks_mut(s.len.max(1)).zip(dy) {
        row.fill(g / len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_past_pool_skips_positions_and_ties_go_first() {
        let s = PoolShape { batch: 1, channels: 1, len_in: 10, pool: 2, stride: 4, len_out: 3 };
        let x = [1.0, 3.0, 9.0, 9.0, 5.0, 5.0, 0.0, 0.0, -2.0, -1.0];
        let mut y = [0.0f32; 3];
        maxpool_forward(&s, &x, &mut y);
        assert_eq!(y, [3.0, 5.0, -1.0]);
        assert_eq!(argmax_indices(&s, &x), [1, 4, 9]);
        let mut dx = [7.0f32; 10];
        maxpool_backward(&s, &x, &[1.0, 2.0, 3.0], &mut dx);
        assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0]);
    }
}
