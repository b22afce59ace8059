//! The LSTM's per-step products: c (rows, cols) += a (rows, k) b, where b (W_ih^T and
//! W_hh^T forward, W_hh backward) stays the same for a whole sequence and a is a group's
//! few rows. A general GEMM packs b again at every call; here b is packed once per
//! sequence into column panels of the SIMD width (`PackedB`), and each step runs a
//! register-blocked micro-kernel over the rows: a tile of MR rows by NR columns held in
//! registers while the panel streams from cache, one multiply-add per element of b and row.
//!
//! The micro-kernel is one generic body (`body`) over a register type (`Lanes`: zero,
//! load, multiply-add, store), instantiated per instruction set inside a
//! `#[target_feature]` function: AVX-512 (8 x 32 tile: 16 zmm accumulators), AVX2 + FMA
//! (6 x 16: 12 ymm), and four lanes in plain arithmetic, without fused multiply-adds, for
//! every other CPU (aarch64 included). Explicit registers, because the compiler left the
//! 8 x 32 tile as an array of scalars in memory when the body was written over scalars.
//! The path is chosen at run time (`Path::detect`), the same on every call on one
//! machine; each element of c is one sum in a fixed order, so its bits do not depend on
//! the other rows or on the thread count.

/// The instruction set a `PackedB` was packed for and its products run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Plain,
}

/// Rows and columns of the micro-kernel's register tile.
struct Tile {
    mr: usize,
    nr: usize,
}

#[cfg(target_arch = "x86_64")]
const AVX512: Tile = Tile { mr: 8, nr: 32 };
#[cfg(target_arch = "x86_64")]
const AVX2: Tile = Tile { mr: 6, nr: 16 };
const PLAIN: Tile = Tile { mr: 4, nr: 8 };

impl Path {
    /// The widest path this CPU runs.
    pub fn detect() -> Path {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                return Path::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Path::Avx2;
            }
        }
        Path::Plain
    }

    fn tile(self) -> Tile {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => AVX512,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => AVX2,
            Path::Plain => PLAIN,
        }
    }
}

/// b (k, cols) in column panels of the path's NR: panel p holds, for each of the k rows,
/// columns p NR .. p NR + NR contiguous, zeros past `cols`.
pub struct PackedB {
    path: Path,
    k: usize,
    cols: usize,
    panels: Vec<f32>,
}

impl PackedB {
    /// Packs b, whose element (i, j) is `b(i, j)`, for this CPU's path.
    pub fn new(k: usize, cols: usize, b: impl Fn(usize, usize) -> f32) -> Self {
        Self::for_path(Path::detect(), k, cols, b)
    }

    fn for_path(path: Path, k: usize, cols: usize, b: impl Fn(usize, usize) -> f32) -> Self {
        let nr = path.tile().nr;
        let mut panels = vec![0.0; cols.div_ceil(nr) * nr * k];
        if k > 0 {
            for (p, panel) in panels.chunks_mut(k * nr).enumerate() {
                for (i, row) in panel.chunks_mut(nr).enumerate() {
                    let width = nr.min(cols - p * nr);
                    for (j, v) in row[..width].iter_mut().enumerate() {
                        *v = b(i, p * nr + j);
                    }
                }
            }
        }
        PackedB { path, k, cols, panels }
    }

    /// c[r c_rs + j] += sum over i of a[r a_rs + i] b(i, j), for r < rows and j < cols.
    pub fn add_product(&self, a: &[f32], a_rs: usize, rows: usize, c: &mut [f32], c_rs: usize) {
        if rows == 0 || self.k == 0 || self.cols == 0 {
            return;
        }
        assert!(
            (rows - 1) * a_rs + self.k <= a.len() && (rows - 1) * c_rs + self.cols <= c.len(),
            "step product: {rows} rows of a ({} wide, {a_rs} apart, {} given) or c ({} wide, \
             {c_rs} apart, {} given) exceed their slices",
            self.k,
            a.len(),
            self.cols,
            c.len()
        );
        assert!(rows == 1 || c_rs >= self.cols, "step product: rows of c overlap");
        let view = Operands { b: self, a, a_rs, rows, c, c_rs };
        match self.path {
            // SAFETY: `Path::detect` chose these paths only where the CPU has the features
            // the functions are compiled for (and tests only on such a CPU).
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => unsafe { avx512(view) },
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => unsafe { avx2(view) },
            // SAFETY: the plain register needs no target feature.
            Path::Plain => unsafe {
                body::<[f32; 4], { PLAIN.mr }, { PLAIN.nr / <[f32; 4] as Lanes>::L }>(view)
            },
        }
    }
}

/// The checked arguments of one product.
struct Operands<'a> {
    b: &'a PackedB,
    a: &'a [f32],
    a_rs: usize,
    rows: usize,
    c: &'a mut [f32],
    c_rs: usize,
}

/// An f32 SIMD register and what the micro-kernel does with it. Safety: an
/// implementation is compiled for its instruction set; call it only where the CPU has it.
trait Lanes: Copy {
    const L: usize;
    unsafe fn zero() -> Self;
    /// The first L elements of `p`.
    unsafe fn load(p: &[f32]) -> Self;
    /// self + a b, lane by lane.
    unsafe fn madd(self, a: f32, b: Self) -> Self;
    /// Into the first L elements of `p`.
    unsafe fn store(self, p: &mut [f32]);
}

/// The plain path's register: four lanes in plain arithmetic, which the compiler maps to
/// the baseline SIMD of any target (SSE2, NEON) without fused multiply-adds.
impl Lanes for [f32; 4] {
    const L: usize = 4;

    unsafe fn zero() -> Self {
        [0.0; 4]
    }

    unsafe fn load(p: &[f32]) -> Self {
        p[..4].try_into().expect("four lanes")
    }

    unsafe fn madd(self, a: f32, b: Self) -> Self {
        std::array::from_fn(|l| self[l] + a * b[l])
    }

    unsafe fn store(self, p: &mut [f32]) {
        p[..4].copy_from_slice(&self)
    }
}

/// Implements `Lanes` for an x86 register type from its intrinsics.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_lanes {
    ($reg:ty, $lanes:literal, $features:literal, $zero:ident, $load:ident, $fmadd:ident, $splat:ident, $store:ident) => {
        impl Lanes for $reg {
            const L: usize = $lanes;

            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn zero() -> Self {
                $zero()
            }

            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn load(p: &[f32]) -> Self {
                assert!(p.len() >= $lanes);
                $load(p.as_ptr())
            }

            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn madd(self, a: f32, b: Self) -> Self {
                $fmadd($splat(a), b, self)
            }

            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn store(self, p: &mut [f32]) {
                assert!(p.len() >= $lanes);
                $store(p.as_mut_ptr(), self)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
x86_lanes!(
    __m512,
    16,
    "avx512f",
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_fmadd_ps,
    _mm512_set1_ps,
    _mm512_storeu_ps
);
#[cfg(target_arch = "x86_64")]
x86_lanes!(
    __m256,
    8,
    "avx2,fma",
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_fmadd_ps,
    _mm256_set1_ps,
    _mm256_storeu_ps
);

/// The micro-kernel loop nest, over registers `R`, tiles of MR rows by V registers: per
/// panel (its k x NR values stay in L1 across the row tiles), per tile, MR x V register
/// sums over k, then added to c. A last partial tile repeats its last row in the missing
/// ones (computed, never stored); a last partial panel computes the zero columns of the
/// packing and stores only real ones. Safety: only where the CPU has `R`'s features.
#[inline(always)]
unsafe fn body<R: Lanes, const MR: usize, const V: usize>(o: Operands) {
    let Operands { b, a, a_rs, rows, c, c_rs } = o;
    let (k, nr) = (b.k, V * R::L);
    assert_eq!(nr, b.path.tile().nr, "step product: packed for another tile");
    for (p, panel) in b.panels.chunks_exact(k * nr).enumerate() {
        let (col, width) = (p * nr, nr.min(b.cols - p * nr));
        for first in (0..rows).step_by(MR) {
            let height = MR.min(rows - first);
            let a_rows: [&[f32]; MR] = std::array::from_fn(|r| &a[(first + r.min(height - 1)) * a_rs..][..k]);
            let mut acc = [[R::zero(); V]; MR];
            for (i, b_i) in panel.chunks_exact(nr).enumerate() {
                let b_i: [R; V] = std::array::from_fn(|v| R::load(&b_i[v * R::L..]));
                for (acc_r, a_r) in acc.iter_mut().zip(&a_rows) {
                    let a_ri = a_r[i];
                    for (s, &b_iv) in acc_r.iter_mut().zip(&b_i) {
                        *s = s.madd(a_ri, b_iv);
                    }
                }
            }
            let mut sums = [0.0f32; MAX_LANES];
            for (r, acc_r) in acc.iter().enumerate().take(height) {
                let c_r = &mut c[(first + r) * c_rs + col..][..width];
                for (c_v, s) in c_r.chunks_mut(R::L).zip(acc_r) {
                    s.store(&mut sums);
                    for (c_j, sum) in c_v.iter_mut().zip(&sums) {
                        *c_j += sum;
                    }
                }
            }
        }
    }
}

/// The widest register's lanes.
const MAX_LANES: usize = 16;

/// `body` compiled for one instruction set, with its register and tile. Safety: call
/// only on a CPU that has the features.
macro_rules! simd_path {
    ($name:ident, $features:literal, $reg:ty, $tile:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name(o: Operands) {
            body::<$reg, { $tile.mr }, { $tile.nr / <$reg as Lanes>::L }>(o)
        }
    };
}

simd_path!(avx512, "avx512f,fma", __m512, AVX512);
simd_path!(avx2, "avx2,fma", __m256, AVX2);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Every path this CPU runs.
    fn paths() -> Vec<Path> {
        let mut paths = vec![Path::Plain];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                paths.push(Path::Avx2);
            }
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                paths.push(Path::Avx512);
            }
        }
        paths
    }

    /// Against the product written out in f64, on fresh random operands with strided rows
    /// and NaN-poisoned gaps between c's rows (which must stay NaN), at sizes that leave
    /// partial row tiles and panels on every path (1, primes, 100) and full ones (64, 128).
    /// Each element is one f32 sum of k products and the start value, in another order
    /// than the f64 one: its error is at most about k eps times the sum of the magnitudes
    /// (eps = 6e-8), bounded here by 2k eps (|c| + sum |a_i b_ij|) + 1e-30.
    #[test]
    fn every_path_matches_the_product_written_out() {
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let sizes =
            [(1, 1, 1), (3, 1, 5), (16, 64, 256), (13, 100, 400), (7, 128, 512), (19, 37, 33), (9, 512, 128)];
        for path in paths() {
            for &(rows, k, cols) in &sizes {
                let (a_rs, c_rs) = (k + 3, cols + 5);
                let a: Vec<f32> = (0..rows * a_rs).map(|_| rng.gen_range(-1.0..1.0)).collect();
                let b: Vec<f32> = (0..k * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
                let mut c: Vec<f32> = (0..rows * c_rs).map(|_| rng.gen_range(-1.0..1.0)).collect();
                for r in 0..rows {
                    c[r * c_rs + cols..(r + 1) * c_rs].fill(f32::NAN);
                }
                let start = c.clone();
                let packed = PackedB::for_path(path, k, cols, |i, j| b[i * cols + j]);
                packed.add_product(&a, a_rs, rows, &mut c, c_rs);
                for r in 0..rows {
                    for j in 0..c_rs {
                        let got = c[r * c_rs + j];
                        if j >= cols {
                            assert!(
                                got.is_nan(),
                                "{path:?} {rows}x{k}x{cols}: c[{r}][{j}] past the row written"
                            );
                            continue;
                        }
                        let terms = (0..k).map(|i| a[r * a_rs + i] as f64 * b[i * cols + j] as f64);
                        let c0 = start[r * c_rs + j] as f64;
                        let want = c0 + terms.clone().sum::<f64>();
                        let size = c0.abs() + terms.map(f64::abs).sum::<f64>();
                        let tol = 2.0 * k as f64 * 6e-8 * size + 1e-30;
                        assert!(
                            (got as f64 - want).abs() <= tol,
                            "{path:?} {rows}x{k}x{cols}: c[{r}][{j}] = {got}, want {want} (tolerance {tol})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "exceed")]
    fn rejects_short_slice() {
        let packed = PackedB::new(4, 3, |_, _| 1.0);
        let mut c = [0.0f32; 6];
        packed.add_product(&[1.0; 7], 4, 2, &mut c, 3);
    }
}
