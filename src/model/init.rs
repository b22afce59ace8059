//! Initial parameter values, as Keras initializes the same layers (the seed notebooks
//! were Keras): Glorot-uniform kernels, zero biases, an orthogonal LSTM recurrent kernel
//! with the forget-gate bias at 1, batch norm at the identity.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::plan::LayerPlan;
use crate::model::spec::LayerSpec;

/// One host vector per parameter, in plan order.
pub fn initial_values(layers: &[LayerPlan], seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1417_5EED);
    let mut values = Vec::new();
    for layer in layers {
        for p in &layer.params {
            let part = p.name.rsplit('.').next().unwrap_or_default();
            let v = match (&layer.spec, part) {
                (LayerSpec::Conv1d { .. }, "weight") => {
                    let (out, inp, k) = (p.shape[0], p.shape[1], p.shape[2]);
                    glorot(&mut rng, p.numel(), inp * k, out * k)
                }
                (LayerSpec::Dense { .. }, "weight") => glorot(&mut rng, p.numel(), p.shape[1], p.shape[0]),
                (LayerSpec::Lstm { .. }, "w_ih") => glorot(&mut rng, p.numel(), p.shape[1], p.shape[0]),
                (LayerSpec::Lstm { .. }, "w_hh") => orthogonal_columns(&mut rng, p.shape[0], p.shape[1]),
                (LayerSpec::Lstm { units, .. }, "bias") => {
                    (0..4 * units).map(|i| if (*units..2 * units).contains(&i) { 1.0 } else { 0.0 }).collect()
                }
                (LayerSpec::BatchNorm { .. }, "gamma" | "running_var") => vec![1.0; p.numel()],
                _ => vec![0.0; p.numel()],
            };
            values.push(v);
        }
    }
    values
}

fn glorot(rng: &mut ChaCha8Rng, n: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    (0..n).map(|_| rng.gen_range(-limit..limit) as f32).collect()
}

/// A rows x cols matrix (rows >= cols) with orthonormal columns: Gram-Schmidt on a
/// Gaussian matrix, as Keras's Orthogonal initializer does through QR.
fn orthogonal_columns(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(cols);
    while columns.len() < cols {
        let mut v: Vec<f64> = (0..rows).map(|_| standard_normal(rng)).collect();
        for q in &columns {
            let dot: f64 = v.iter().zip(q).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(q).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        // a draw (numerically) in the span of the others is drawn again
        if norm > 1e-6 {
            columns.push(v.into_iter().map(|a| a / norm).collect());
        }
    }
    let mut m = vec![0.0; rows * cols];
    for (j, col) in columns.iter().enumerate() {
        for (i, &a) in col.iter().enumerate() {
            m[i * cols + j] = a as f32;
        }
    }
    m
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller; 1 - u keeps the log's argument in (0, 1]
    let (u1, u2): (f64, f64) = (rng.gen(), rng.gen());
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
