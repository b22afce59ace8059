//! Op shapes shared by the CPU gradient checks (cpu_gradcheck), the GPU-vs-CPU tests
//! (gpu_ops) and the fast-CPU-vs-reference tests (cpu_fast_ops).

use starskope::backend::Conv1dShape;

/// A stride-1 convolution, "same" (Keras) or "valid" padding as `Conv1dShape` defines them.
pub fn conv_shape(
    batch: usize,
    c_in: usize,
    c_out: usize,
    len_in: usize,
    kernel: usize,
    same: bool,
) -> Conv1dShape {
    let (pad_left, len_out) = if same { ((kernel - 1) / 2, len_in) } else { (0, len_in - kernel + 1) };
    Conv1dShape { batch, c_in, c_out, len_in, kernel, pad_left, len_out }
}
