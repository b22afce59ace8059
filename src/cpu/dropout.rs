//! Inverted dropout with the counter-based mask every backend shares
//! (`backend::dropout_keep`): out = in * keep_i / (1 - rate). The same function is
//! the forward (in = x) and the backward (in = dy) pass.

use super::check;
use super::real::Real;
use crate::backend::dropout_keep;
use rayon::prelude::*;

const TASK: usize = 1 << 14;

/// out[i] = input[i] / (1 - rate) where element i is kept, 0 where it is dropped.
pub fn apply<T: Real>(rate: f32, key: u32, input: &[T], out: &mut [T]) {
    check::len("dropout output", out.len(), input.len());
    assert!(
        u32::try_from(input.len()).is_ok(),
        "dropout: element indices must fit in u32 (the mask is drawn per u32 index)"
    );
    let scale = T::one() / (T::one() - T::of(rate.into()));
    out.par_chunks_mut(TASK).zip(input.par_chunks(TASK)).enumerate().for_each(|(task, (out, input))| {
        for (j, (o, &v)) in out.iter_mut().zip(input).enumerate() {
            let i = (task * TASK + j) as u32;
            *o = if dropout_keep(key, i, rate) { v * scale } else { T::zero() };
        }
    });
}
