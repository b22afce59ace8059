//! Every kernel's parameter block, written once. Each block is the Rust `#[repr(C)]`
//! struct that `Recorder::dispatch` uploads and, through `Layout::wgsl`, the WGSL
//! `struct Params` (bound as `p` at binding 0) that `pipelines` prepends to its shader,
//! so the two cannot drift apart. An array field `off: [u32; 3]` is the WGSL members
//! off1, off2, off3 (WGSL uniform arrays need a 16-byte stride).

use super::params::params;

params! {
    /// shaders/adam.wgsl.
    Adam {
        n: u32,
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        /// 1 - beta1^t and 1 - beta2^t.
        correction1: f32,
        correction2: f32,
    }
    /// shaders/batchnorm.wgsl.
    BatchNorm {
        batch: u32,
        channels: u32,
        len: u32,
        eps: f32,
        momentum: f32,
        /// 1: the running variance gets the unbiased batch variance (PyTorch).
        unbiased: u32,
        /// 1: backward through the batch statistics (training mode).
        batch_stats: u32,
    }
    /// shaders/bench.wgsl.
    Bench {
        /// vec4 elements to copy / FMA invocations.
        n: u32,
        /// fma_peak: loop trips.
        iters: u32,
    }
    /// shaders/conv1d.wgsl.
    Conv1d {
        batch: u32,
        c_in: u32,
        c_out: u32,
        len_in: u32,
        kernel: u32,
        pad_left: u32,
        len_out: u32,
        /// conv1d_forward: 1 applies ReLU to the output.
        relu: u32,
        /// conv1d_backward_weight: output positions per slice, and slices per sample.
        t_slice: u32,
        slices: u32,
    }
    /// shaders/dense.wgsl.
    Dense {
        m: u32,
        n: u32,
        k: u32,
        /// A(i, l) = a[i * a_row + l * a_col]; B(l, j) = b[l * b_row + j * b_col].
        a_row: u32,
        a_col: u32,
        b_row: u32,
        b_col: u32,
        /// The row of the whole k where this chunk of k starts, and the rows of k per slice.
        k_first: u32,
        k_slice: u32,
        /// Where the chunk starts in a, b and c (see `Recorder::dispatch_rows`).
        off: [u32; 3],
    }
    /// shaders/elementwise.wgsl.
    Elementwise {
        n: u32,
        /// activation: 0 relu, 1 sigmoid, 2 tanh.
        kind: u32,
        /// fill value.
        value: f32,
        /// dropout: key, keep threshold (`dropout_threshold` in src/backend.rs), rate.
        key: u32,
        threshold: u32,
        rate: f32,
        /// The chunk's first element and where it starts in each binding (see
        /// `Recorder::dispatch_rows`).
        first: u32,
        off: [u32; 3],
    }
    /// shaders/heads.wgsl.
    Heads {
        batch: u32,
        classes: u32,
    }
    /// shaders/lstm.wgsl.
    Lstm {
        batch: u32,
        time: u32,
        input: u32,
        hidden: u32,
        /// Batch rows per workgroup of the sequence kernels (rows * hidden <= SLOTS).
        rows: u32,
        /// Where the chunk starts in the tensor at each binding (see `Recorder::dispatch_rows`).
        off: [u32; 5],
    }
    /// shaders/pool.wgsl.
    Pool {
        batch: u32,
        channels: u32,
        len_in: u32,
        pool: u32,
        stride: u32,
        len_out: u32,
    }
    /// shaders/reduce.wgsl.
    Reduce {
        batch: u32,
        channels: u32,
        len: u32,
        accumulate: u32,
        /// Where the chunk starts in x (see `Recorder::dispatch_rows`).
        off: [u32; 1],
    }
}
