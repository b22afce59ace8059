//! The fast CPU backend's matrix product: matrixmultiply's cache-blocked SGEMM behind a
//! bounds-checked strided view, so that no caller handles a raw pointer.

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
    // SAFETY: check_gemm proved every index the kernel touches lies inside its slice, and
    // c's rows do not overlap; c is borrowed mutably, so it cannot alias a or b.
    unsafe {
        matrixmultiply::sgemm(
            a.rows,
            a.cols,
            b.cols,
            alpha,
            a.data.as_ptr(),
            a.rs as isize,
            a.cs as isize,
            b.data.as_ptr(),
            b.rs as isize,
            b.cs as isize,
            beta,
            c.data.as_mut_ptr(),
            c.rs as isize,
            1,
        )
    }
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
