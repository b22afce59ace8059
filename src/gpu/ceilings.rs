//! The kernels behind the bench's device ceilings (shaders/bench.wgsl): what this device
//! can stream and compute at best, to judge each op's throughput against.

use anyhow::{ensure, Result};

use super::pipelines::{Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{groups_1d, u};
use super::GpuBackend;
use crate::backend::{Backend, TensorId};

/// Mirrors `Params` in shaders/bench.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    iters: u32,
}

static COPY_VEC4: Kernel = Kernel { shader: Shader::Bench, entry: "copy_vec4", bindings: &[RW, RW] };
static FMA_PEAK: Kernel = Kernel { shader: Shader::Bench, entry: "fma_peak", bindings: &[RW] };

/// Independent vec4 FMA chains per invocation in `fma_peak`.
const FMA_CHAINS: f64 = 8.0;

fn vec4_count(be: &GpuBackend, t: TensorId) -> Result<u32> {
    let len = be.len(t);
    ensure!(len % 4 == 0, "the bench kernels work on vec4s: tensor of {len} f32 is not a multiple of 4");
    Ok(u(len / 4))
}

impl GpuBackend {
    /// Records dst = src with 16-byte accesses; both tensors of the same length, a multiple
    /// of 4. Moves 8 bytes per element.
    pub fn record_copy_vec4(&mut self, src: TensorId, dst: TensorId) -> Result<()> {
        ensure!(self.len(src) == self.len(dst), "copy_vec4: tensors of different lengths");
        let n = vec4_count(self, dst)?;
        self.rec.dispatch(&COPY_VEC4, &Params { n, iters: 0 }, &[src, dst], groups_1d(n as usize, 64));
        Ok(())
    }

    /// Records `iters` trips of the FMA loop on one invocation per vec4 of `out`; returns
    /// the FLOPs it performs (an FMA is 2).
    pub fn record_fma_peak(&mut self, out: TensorId, iters: u32) -> Result<f64> {
        let n = vec4_count(self, out)?;
        self.rec.dispatch(&FMA_PEAK, &Params { n, iters }, &[out], groups_1d(n as usize, 64));
        Ok(n as f64 * iters as f64 * FMA_CHAINS * 4.0 * 2.0)
    }
}
