//! The kernels behind the bench's device ceilings (shaders/bench.wgsl): what this device
//! can stream and compute at best, to judge each op's throughput against.

use super::pipelines::{Access::ReadWriteF32 as RW32, Kernel, Shader};
use super::recorder::{groups_1d, u};
use super::GpuBackend;
use crate::backend::{Backend, TensorId};

use super::kernel_params::Bench as Params;

// shaders/bench.wgsl is f32 at every precision: its tensors are `Storage::F32`.
static COPY_VEC4: Kernel = Kernel { shader: Shader::Bench, entry: "copy_vec4", bindings: &[RW32, RW32] };
static FMA_PEAK: Kernel = Kernel { shader: Shader::Bench, entry: "fma_peak", bindings: &[RW32] };

/// Independent vec4 FMA chains per invocation in `fma_peak`.
const FMA_CHAINS: f64 = 8.0;

fn vec4_count(be: &GpuBackend, t: TensorId) -> u32 {
    let len = be.len(t);
    assert!(
        len.is_multiple_of(4),
        "the bench kernels work on vec4s: tensor of {len} f32 is not a multiple of 4"
    );
    u(len / 4)
}

impl GpuBackend {
    /// The largest tensor, in bytes, this device can bind.
    pub fn max_binding_bytes(&self) -> u64 {
        let l = &self.rec.ctx.limits;
        l.max_storage_buffer_binding_size.min(l.max_buffer_size)
    }

    /// Records dst = src with 16-byte accesses: tensors of one length, a multiple of 4.
    pub fn record_copy_vec4(&mut self, src: TensorId, dst: TensorId) {
        assert_eq!(self.len(src), self.len(dst), "copy_vec4: tensors of different lengths");
        let n = vec4_count(self, dst);
        self.rec.dispatch(&COPY_VEC4, &Params { n, iters: 0 }, &[src, dst], groups_1d(n as usize, 64));
    }

    /// Records `iters` trips of the FMA loop, one invocation per vec4 of `out`; returns
    /// the FLOPs it performs (an FMA is 2).
    pub fn record_fma_peak(&mut self, out: TensorId, iters: u32) -> f64 {
        let n = vec4_count(self, out);
        self.rec.dispatch(&FMA_PEAK, &Params { n, iters }, &[out], groups_1d(n as usize, 64));
        n as f64 * iters as f64 * FMA_CHAINS * 4.0 * 2.0
    }
}
