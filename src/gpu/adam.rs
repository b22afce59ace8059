//! Adam: shaders/adam.wgsl.

use super::pipelines::{
    Access::Read as R, Access::ReadWrite as RW, Access::ReadWriteF32 as RW32, Kernel, Shader,
};
use super::precision::Precision;
use super::recorder::{groups_1d, u, Recorder};
use crate::backend::AdamStep;

use super::kernel_params::Adam as Params;

static ADAM_STEP: Kernel =
    Kernel { shader: Shader::Adam, entry: "adam_step", bindings: &[RW, R, RW32, RW32] };
static ADAM_STEP_MASTER: Kernel =
    Kernel { shader: Shader::Adam, entry: "adam_step_master", bindings: &[RW, R, RW32, RW32, RW32] };

/// `t` changes every step: it reaches the kernel through the params arena. A parameter
/// with an f32 master (f16 storage) is updated there and rounded into `param`.
pub fn adam_step(r: &mut Recorder, op: &AdamStep) {
    let AdamStep { ref cfg, t, param, grad, m, v } = *op;
    let n = r.len(param);
    for other in [grad, m, v] {
        assert_eq!(r.len(other), n, "adam_step: tensors of different lengths");
    }
    let step = i32::try_from(t).expect("Adam step beyond i32");
    let p = Params {
        n: u(n),
        lr: cfg.lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        correction1: 1.0 - cfg.beta1.powi(step),
        correction2: 1.0 - cfg.beta2.powi(step),
    };
    match r.master(param) {
        Some(master) => r.dispatch(&ADAM_STEP_MASTER, &p, &[param, grad, m, v, master], groups_1d(n, 64)),
        None => {
            // without a master, f16 would round away every update below half an ulp
            assert!(
                r.elem(param) == Precision::F32,
                "adam_step on an f16 tensor without an f32 master: allocate it as Storage::Param"
            );
            r.dispatch(&ADAM_STEP, &p, &[param, grad, m, v], groups_1d(n, 64));
        }
    }
}
