//! The scalar type every reference op is generic over: f32 for training, f64 for the
//! finite-difference and golden checks.

use std::fmt::Debug;

pub trait Real: num_traits::Float + num_traits::NumAssign + Send + Sync + Default + Debug + 'static {
    /// Converts a hyper-parameter or count; every value used here is representable.
    fn of(v: f64) -> Self {
        Self::from(v).expect("f64 converts to every Real")
    }
}

impl Real for f32 {}
impl Real for f64 {}
