//! The fast CPU backend's matrix product: the `gemm` crate's cache-blocked SGEMM (AVX-512,
//! AVX2/FMA or portable kernels, picked at run time) behind a bounds-checked strided view,
//! so that no caller handles a raw pointer. It runs single-threaded inside each call;
//! `par_gemm` and the callers split the work over threads at fixed boundaries, so a call
//! gives the same bits on any thread count. The crate picks its blocking by the call's
//! shape, so a row's result may move in the last bit with the number of rows in the call
//! (a dense layer's batch size): not with the thread count.
//!
//! Why this crate and not matrixmultiply: on the products conv1d issues (small m or n, a
//! few channels times a long series) its kernels were 1.1-5.7x faster at one thread and
//! level on the large ones (benches/RESULTS.md, "GEMM kernels on the conv shapes").

use rayon::prelude::*;

/// A read-only strided matrix: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A contiguous row-major (rows, cols) matrix at the start of `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    /// Rows of `cols` contiguous elements, `rs` apart (e.g. one time step of a batch).
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        MatRef { data, rows, cols, rs, cs: 1 }
    }

    /// The transposed view of the same storage.
    pub fn t(self) -> Self {
        MatRef { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// A writable matrix with contiguous rows `rs` apart.
#[derive(Debug)]
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
}

impl<'a> MatMut<'a> {
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    pub fn strided(data: &'a mut [f32], rows: usize, cols: usize, rs: usize) -> Self {
        MatMut { data, rows, cols, rs }
    }

    fn fits(&self) -> bool {
        self.rows == 0 || self.cols == 0 || (self.rows - 1) * self.rs + self.cols <= self.data.len()
    }
}

/// The shape and bounds checks that make the raw-pointer call below sound.
fn check_gemm(a: &MatRef, b: &MatRef, c: &MatMut) {
    assert!(
        a.cols == b.rows && a.rows == c.rows && b.cols == c.cols,
        "gemm shapes: a {}x{}, b {}x{}, c {}x{}",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
    assert!(a.fits() && b.fits() && c.fits(), "gemm view exceeds its slice");
    assert!(c.rows <= 1 || c.rs >= c.cols, "gemm output rows overlap");
}

/// c = alpha * a b + beta * c. With beta = 0, c's old contents are never read.
pub fn gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    check_gemm(&a, &b, &c);
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    // SAFETY: check_gemm proved every index the kernel touches lies inside its slice, and
    // c's rows do not overlap; c is borrowed mutably, so it cannot alias a or b. The crate
    // computes dst = alpha' dst + beta' lhs rhs, reading dst only when told to.
    unsafe {
        ::gemm::gemm(
            c.rows,
            c.cols,
            a.cols,
            c.data.as_mut_ptr(),
            1,
            c.rs as isize,
            beta != 0.0,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            beta,
            alpha,
            false,
            false,
            false,
            ::gemm::Parallelism::None,
        )
    }
}

/// Rows of c per task of `par_gemm`: fixed, because the kernel's result for an element
/// can depend on where its row falls in the call's tiles, so the split must not follow the
/// thread count.
pub const PAR_ROWS: usize = 64;

/// `gemm` with c's rows split in blocks of `PAR_ROWS` over the rayon threads: each
/// element is computed by one task, in the same tiles on any thread count.
pub fn par_gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    check_gemm(&a, &b, &c);
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    let (cols, rs) = (c.cols, c.rs);
    c.data[..(c.rows - 1) * rs + cols].par_chunks_mut(PAR_ROWS * rs).enumerate().for_each(
        |(task, c_part)| {
            let first = task * PAR_ROWS;
            let rows = PAR_ROWS.min(a.rows - first);
            let a_part = MatRef { data: &a.data[first * a.rs..], rows, ..a };
            gemm(alpha, a_part, b, beta, MatMut::strided(c_part, rows, cols, rs));
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (2x3) * (3x2) through a transposed view, against the product written out.
    #[test]
    fn gemm_matches_hand_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2x3
        let bt = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0]; // b^T, 2x3, so b = [[7,8],[9,10],[11,12]]
        let mut c = [100.0f32; 4];
        gemm(
            1.0,
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&bt, 2, 3).t(),
            0.5,
            MatMut::row_major(&mut c, 2, 2),
        );
        assert_eq!(c, [58.0 + 50.0, 64.0 + 50.0, 139.0 + 50.0, 154.0 + 50.0]);
    }

    /// Split over threads by blocks of rows of c, through transposed and strided views:
    /// close to one call, and the same bits on any thread count.
    #[test]
    fn par_gemm_is_independent_of_thread_count() {
        let m = 2 * PAR_ROWS + 37;
        let a: Vec<f32> = (0..m * 23).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..23 * 19).map(|i| (i as f32 * 0.71).cos()).collect();
        let (va, vb) = (MatRef::row_major(&a, 23, m).t(), MatRef::row_major(&b, 23, 19));
        let mut one_call = vec![0.5f32; m * 21];
        gemm(1.5, va, vb, 0.25, MatMut::strided(&mut one_call, m, 19, 21));
        let mut want = vec![0.5f32; m * 21];
        par_gemm(1.5, va, vb, 0.25, MatMut::strided(&mut want, m, 19, 21));
        for (w, o) in want.iter().zip(&one_call) {
            assert!((w - o).abs() <= 1e-5 * (1.0 + o.abs()), "{w} vs {o}");
        }
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut got = vec![0.5f32; m * 21];
            pool.install(|| par_gemm(1.5, va, vb, 0.25, MatMut::strided(&mut got, m, 19, 21)));
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    #[should_panic(expected = "exceeds")]
    fn gemm_rejects_short_slice() {
        let a = [1.0f32; 5];
        let mut c = [0.0f32; 4];
        gemm(
            1.0,
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&a, 3, 2),
            0.0,
            MatMut::row_major(&mut c, 2, 2),
        );
    }
}
