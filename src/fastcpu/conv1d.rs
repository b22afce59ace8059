//! The fast CPU conv1d (the reference is `cpu::conv1d`), stride 1, channels-first, as a matrix product over an im2col buffer:
//! per sample, col (c_in*kernel, len_out) holds `col[(c,k), t] = x[c, t+k-pad_left]`
//! (0 outside the input), so that
//!   y_n  = W col_n + b            W viewed as (c_out, c_in*kernel)
//!   dW   = sum_n dy_n col_n^T      (as its transpose when c_in*kernel >= c_out)
//!   dx_n = col2im(W^T dy_n)
//! Samples run in parallel; dW and db are summed with `reduce::sum_over_batch`.

use super::gemm::{gemm, MatMut, MatRef};
use super::reduce::sum_over_batch;
use crate::backend::Conv1dShape;
use crate::cpu::check;
use crate::cpu::conv1d::check_shapes;
use rayon::prelude::*;

/// For row (c, k) of the im2col buffer, the output positions t whose input position
/// t + k - pad_left lies inside 0..len_in.
fn valid_range(s: &Conv1dShape, k: usize) -> std::ops::Range<usize> {
    let start = s.pad_left.saturating_sub(k);
    let end = (s.len_in + s.pad_left).saturating_sub(k).min(s.len_out);
    start..end.max(start)
}

/// Fills `col` (c_in*kernel, len_out) from one sample `x_n` (c_in, len_in).
fn im2col(s: &Conv1dShape, x_n: &[f32], col: &mut [f32]) {
    for (row_index, row) in col.chunks_mut(s.len_out).enumerate() {
        let (c, k) = (row_index / s.kernel, row_index % s.kernel);
        let range = valid_range(s, k);
        let first = c * s.len_in + range.start + k - s.pad_left;
        row[..range.start].fill(0.0);
        row[range.clone()].copy_from_slice(&x_n[first..first + range.len()]);
        row[range.end..].fill(0.0);
    }
}

/// The adjoint of `im2col`: dx_n (c_in, len_in) = sum over rows of col scattered back.
fn col2im(s: &Conv1dShape, col: &[f32], dx_n: &mut [f32]) {
    dx_n.fill(0.0);
    for (row_index, row) in col.chunks(s.len_out).enumerate() {
        let (c, k) = (row_index / s.kernel, row_index % s.kernel);
        let range = valid_range(s, k);
        let first = c * s.len_in + range.start + k - s.pad_left;
        for (d, &v) in dx_n[first..first + range.len()].iter_mut().zip(&row[range]) {
            *d += v;
        }
    }
}

/// The sum of a row in 16 interleaved partial sums, added up at the end: the compiler
/// keeps them in one vector register, where a single running sum waits on each add.
fn row_sum(row: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0.0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder().iter().sum::<f32>();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// An im2col buffer for one sample, (c_in*kernel, len_out).
fn col_buffer(s: &Conv1dShape) -> Vec<f32> {
    vec![0.0; s.c_in * s.kernel * s.len_out]
}

fn weight_matrix<'a>(s: &Conv1dShape, w: &'a [f32]) -> MatRef<'a> {
    MatRef::row_major(w, s.c_out, s.c_in * s.kernel)
}

pub fn forward(s: &Conv1dShape, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    check_shapes(s, x, w, y);
    check::len("conv1d bias", b.len(), s.c_out);
    let rows = s.c_in * s.kernel;
    let x_stride = s.c_in * s.len_in;
    y.par_chunks_mut((s.c_out * s.len_out).max(1)).enumerate().for_each_init(
        || col_buffer(s),
        |col, (n, y_n)| {
            im2col(s, &x[n * x_stride..(n + 1) * x_stride], col);
            for (row, &bias) in y_n.chunks_mut(s.len_out.max(1)).zip(b) {
                row.fill(bias);
            }
            gemm(
                1.0,
                weight_matrix(s, w),
                MatRef::row_major(col, rows, s.len_out),
                1.0,
                MatMut::row_major(y_n, s.c_out, s.len_out),
            );
        },
    );
}

/// dw and db are overwritten; dx (when given) too.
pub fn backward(
    s: &Conv1dShape,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    check_shapes(s, x, w, dy);
    check::len("conv1d dweight", dw.len(), w.len());
    check::len("conv1d dbias", db.len(), s.c_out);
    let rows = s.c_in * s.kernel;
    let x_stride = s.c_in * s.len_in;
    let y_stride = s.c_out * s.len_out;
    let dy_n = |n: usize| &dy[n * y_stride..(n + 1) * y_stride];

    // The kernel is faster when the longer side of the weight gradient runs down the
    // rows of its output: for c_in*kernel >= c_out (all but the one-channel first layers,
    // 1.2-2.3x) dW^T = sum_n col_n dy_n^T, transposed into dw at the end; otherwise
    // dW = sum_n dy_n col_n^T (benches/RESULTS.md, "GEMM kernels on the conv shapes").
    let transposed = rows >= s.c_out;
    let mut dw_t = if transposed { vec![0.0; dw.len()] } else { Vec::new() };
    sum_over_batch(
        s.batch,
        if transposed { &mut dw_t } else { &mut *dw },
        || col_buffer(s),
        |n, col, acc| {
            im2col(s, &x[n * x_stride..(n + 1) * x_stride], col);
            let (col, dy_n) =
                (MatRef::row_major(col, rows, s.len_out), MatRef::row_major(dy_n(n), s.c_out, s.len_out));
            if transposed {
                gemm(1.0, col, dy_n.t(), 1.0, MatMut::row_major(acc, rows, s.c_out));
            } else {
                gemm(1.0, dy_n, col.t(), 1.0, MatMut::row_major(acc, s.c_out, rows));
            }
        },
    );
    if transposed {
        for (o, dw_row) in dw.chunks_mut(rows.max(1)).enumerate() {
            for (r, d) in dw_row.iter_mut().enumerate() {
                *d = dw_t[r * s.c_out + o];
            }
        }
    }
    sum_over_batch(
        s.batch,
        db,
        || (),
        |n, _, acc| {
            for (a, row) in acc.iter_mut().zip(dy_n(n).chunks(s.len_out.max(1))) {
                *a += row_sum(row);
            }
        },
    );

    if let Some(dx) = dx {
        check::len("conv1d dx", dx.len(), x.len());
        dx.par_chunks_mut(x_stride.max(1)).enumerate().for_each_init(
            || col_buffer(s),
            |dcol, (n, dx_n)| {
                gemm(
                    1.0,
                    weight_matrix(s, w).t(),
                    MatRef::row_major(dy_n(n), s.c_out, s.len_out),
                    0.0,
                    MatMut::row_major(dcol, rows, s.len_out),
                );
                col2im(s, dcol, dx_n);
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight and bias gradients sum over the batch: same bits on any thread count.
    #[test]
    fn backward_is_independent_of_thread_count() {
        let s = Conv1dShape { batch: 7, c_in: 3, c_out: 4, len_in: 50, kernel: 5, pad_left: 0, len_out: 46 };
        let x: Vec<f32> = (0..7 * 3 * 50).map(|i| (i as f32 * 0.731).sin()).collect();
        let w: Vec<f32> = (0..4 * 3 * 5).map(|i| (i as f32 * 1.37).cos()).collect();
        let dy: Vec<f32> = (0..7 * 4 * 46).map(|i| (i as f32 * 0.377).sin()).collect();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; 4]);
                backward(&s, &x, &w, &dy, Some(&mut dx), &mut dw, &mut db);
                (dx, dw, db)
            })
        };
        assert_eq!(run(1), run(4));
    }
}
