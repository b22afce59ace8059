//! Adam (Kingma & Ba, Algorithm 1), `t` the 1-based index of the step being taken:
//!   m' = b1 m + (1-b1) g;  v' = b2 v + (1-b2) g^2
//!   p' = p - lr * (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)

use super::check;
use super::real::Real;
use crate::backend::AdamConfig;

/// `AdamConfig` in the op's scalar type (the f64 checks use exact hyper-parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params<T> {
    pub lr: T,
    pub beta1: T,
    pub beta2: T,
    pub eps: T,
}

impl<T: Real> Params<T> {
    pub fn from_config(cfg: &AdamConfig) -> Self {
        Params {
            lr: T::of(cfg.lr.into()),
            beta1: T::of(cfg.beta1.into()),
            beta2: T::of(cfg.beta2.into()),
            eps: T::of(cfg.eps.into()),
        }
    }
}

/// Updates param, m and v in place.
pub fn step<T: Real>(p: &Params<T>, t: u32, param: &mut [T], grad: &[T], m: &mut [T], v: &mut [T]) {
    assert!(t >= 1, "adam: step index t is 1-based, got 0");
    check::len("adam grad", grad.len(), param.len());
    check::len("adam m", m.len(), param.len());
    check::len("adam v", v.len(), param.len());
    let one = T::one();
    let exponent = i32::try_from(t).unwrap_or(i32::MAX);
    let correction1 = one - p.beta1.powi(exponent);
    let correction2 = one - p.beta2.powi(exponent);
    for (((w, &g), m), v) in param.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = p.beta1 * *m + (one - p.beta1) * g;
        *v = p.beta2 * *v + (one - p.beta2) * g * g;
        *w -= p.lr * (*m / correction1) / ((*v / correction2).sqrt() + p.eps);
    }
}
