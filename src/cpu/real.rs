//! The scalar type every CPU op is generic over: f32 for training, f64 for the
//! finite-difference and golden checks. Matrix products go through `Real::gemm`, which
//! dispatches to matrixmultiply's cache-blocked kernels behind a bounds-checked view.

use std::fmt::Debug;

/// A read-only strided matrix: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A contiguous row-major (rows, cols) matrix at the start of `data`.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    /// Rows of `cols` contiguous elements, `rs` apart (e.g. one time step of a batch).
    pub fn strided(data: &'a [T], rows: usize, cols: usize, rs: usize) -> Self {
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
pub struct MatMut<'a, T> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
}

impl<'a, T> MatMut<'a, T> {
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    pub fn strided(data: &'a mut [T], rows: usize, cols: usize, rs: usize) -> Self {
        MatMut { data, rows, cols, rs }
    }

    fn fits(&self) -> bool {
        self.rows == 0 || self.cols == 0 || (self.rows - 1) * self.rs + self.cols <= self.data.len()
    }
}

pub trait Real: num_traits::Float + num_traits::NumAssign + Send + Sync + Default + Debug + 'static {
    /// c = alpha * a b + beta * c. With beta = 0, c's old contents are never read.
    fn gemm(alpha: Self, a: MatRef<Self>, b: MatRef<Self>, beta: Self, c: MatMut<Self>);

    /// Converts a hyper-parameter or count; every value used here is representable.
    fn of(v: f64) -> Self {
        Self::from(v).expect("f64 converts to every Real")
    }
}

/// The shape and bounds checks that make the raw-pointer call below sound.
fn check_gemm<T>(a: &MatRef<T>, b: &MatRef<T>, c: &MatMut<T>) {
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

macro_rules! impl_real {
    ($t:ty, $gemm:path) => {
        impl Real for $t {
            fn gemm(alpha: Self, a: MatRef<Self>, b: MatRef<Self>, beta: Self, c: MatMut<Self>) {
                check_gemm(&a, &b, &c);
                // SAFETY: check_gemm proved every index the kernel touches lies inside its
                // slice, and c's rows do not overlap; c is borrowed mutably, so it cannot
                // alias a or b.
                unsafe {
                    $gemm(
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
        }
    };
}

impl_real!(f32, matrixmultiply::sgemm);
impl_real!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    /// (2x3) * (3x2) through a transposed view, against the product written out.
    #[test]
    fn gemm_matches_hand_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2x3
        let bt = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0]; // b^T, 2x3, so b = [[7,8],[9,10],[11,12]]
        let mut c = [100.0f64; 4];
        f64::gemm(
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
        f32::gemm(
            1.0,
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&a, 3, 2),
            0.0,
            MatMut::row_major(&mut c, 2, 2),
        );
    }
}
