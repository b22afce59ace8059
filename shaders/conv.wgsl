// Conv1d, stride 1, channels-first. Each invocation keeps a 4 x 4 register tile (4
// channels x 4 positions): per step it loads 4 weights and 4 inputs and does 16
// multiply-adds. No workgroup memory, no barriers; every output is one sequential sum,
// so results are deterministic. Reads outside the signal are 0 (padding) via select on a
// clamped address, not a branch.

struct Params {
    batch: u32,
    c_in: u32,
    c_out: u32,
    len_in: u32,
    kernel: u32,
    pad_left: u32,
    len_out: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// conv1d_forward: x, w, bias -> y
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// conv1d_backward_input: dy, w -> dx
@group(0) @binding(1) var<storage, read> dy_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// conv1d_backward_weight: x, dy -> per-sample dw
@group(0) @binding(2) var<storage, read> dy_w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

const TILE: u32 = 4u;

// x[n, c, pos] with zeros outside 0..len_in.
fn x_at(row: u32, pos: i32) -> f32 {
    let inside = pos >= 0 && pos < i32(p.len_in);
    return select(0.0, x[row + u32(clamp(pos, 0, i32(p.len_in) - 1))], inside);
}

// gid.x: block of 4 output positions, gid.y: block of 4 output channels, gid.z: sample.
@compute @workgroup_size(16, 4)
fn conv1d_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t0 = gid.x * TILE;
    let o0 = gid.y * TILE;
    let n = gid.z;
    if (t0 >= p.len_out || o0 >= p.c_out) {
        return;
    }
    var acc: array<vec4<f32>, 4>;
    for (var c = 0u; c < p.c_in; c = c + 1u) {
        let row = (n * p.c_in + c) * p.len_in;
        for (var k = 0u; k < p.kernel; k = k + 1u) {
            let pos = i32(t0 + k) - i32(p.pad_left);
            let xv = vec4<f32>(x_at(row, pos), x_at(row, pos + 1), x_at(row, pos + 2), x_at(row, pos + 3));
            for (var r = 0u; r < TILE; r = r + 1u) {
                let o = min(o0 + r, p.c_out - 1u);
                acc[r] = acc[r] + w[(o * p.c_in + c) * p.kernel + k] * xv;
            }
        }
    }
    for (var r = 0u; r < TILE; r = r + 1u) {
        let o = o0 + r;
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (o < p.c_out && t0 + q < p.len_out) {
                y[(n * p.c_out + o) * p.len_out + t0 + q] = acc[r][q] + bias[o];
            }
        }
    }
}

// dy[n, o, t] with zeros outside 0..len_out.
fn dy_at(row: u32, t: i32) -> f32 {
    let inside = t >= 0 && t < i32(p.len_out);
    return select(0.0, dy_in[row + u32(clamp(t, 0, i32(p.len_out) - 1))], inside);
}

// dx[n, c, s] = sum over o, k of w[o, c, k] dy[n, o, s - k + pad_left].
// gid.x: block of 4 input positions, gid.y: block of 4 input channels, gid.z: sample.
@compute @workgroup_size(16, 4)
fn conv1d_backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s0 = gid.x * TILE;
    let c0 = gid.y * TILE;
    let n = gid.z;
    if (s0 >= p.len_in || c0 >= p.c_in) {
        return;
    }
    var acc: array<vec4<f32>, 4>;
    for (var o = 0u; o < p.c_out; o = o + 1u) {
        let row = (n * p.c_out + o) * p.len_out;
        for (var k = 0u; k < p.kernel; k = k + 1u) {
            let t = i32(s0 + p.pad_left) - i32(k);
            let dyv = vec4<f32>(dy_at(row, t), dy_at(row, t + 1), dy_at(row, t + 2), dy_at(row, t + 3));
            for (var r = 0u; r < TILE; r = r + 1u) {
                let c = min(c0 + r, p.c_in - 1u);
                acc[r] = acc[r] + w[(o * p.c_in + c) * p.kernel + k] * dyv;
            }
        }
    }
    for (var r = 0u; r < TILE; r = r + 1u) {
        let c = c0 + r;
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (c < p.c_in && s0 + q < p.len_in) {
                dx[(n * p.c_in + c) * p.len_in + s0 + q] = acc[r][q];
            }
        }
    }
}

// Per-sample weight gradients: partial[n, o, c, k] = sum over t of
// dy[n, o, t] x[n, c, t + k - pad_left]. One sample per invocation column keeps the GPU
// busy when c_out * c_in * kernel is small; src/gpu/conv.rs then adds the samples up in
// order (reduce.wgsl column_sum), so dw stays deterministic.
// gid.x: block of 4 taps, gid.y: block of 4 output channels, gid.z: n * c_in + c.
// Kernels are short (3 to 11 taps): 4 x 16 invocations waste fewer lanes than 16 x 4.
@compute @workgroup_size(4, 16)
fn conv1d_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k0 = gid.x * TILE;
    let o0 = gid.y * TILE;
    let n = gid.z / p.c_in;
    let c = gid.z % p.c_in;
    if (k0 >= p.kernel || o0 >= p.c_out) {
        return;
    }
    var acc: array<vec4<f32>, 4>;
    let row = (n * p.c_in + c) * p.len_in;
    for (var t = 0u; t < p.len_out; t = t + 1u) {
        let pos = i32(t + k0) - i32(p.pad_left);
        let xv = vec4<f32>(x_at(row, pos), x_at(row, pos + 1), x_at(row, pos + 2), x_at(row, pos + 3));
        for (var r = 0u; r < TILE; r = r + 1u) {
            let o = min(o0 + r, p.c_out - 1u);
            acc[r] = acc[r] + dy_w[(n * p.c_out + o) * p.len_out + t] * xv;
        }
    }
    let sample = n * p.c_out * p.c_in * p.kernel;
    for (var r = 0u; r < TILE; r = r + 1u) {
        let o = o0 + r;
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (o < p.c_out && k0 + q < p.kernel) {
                dw[sample + (o * p.c_in + c) * p.kernel + k0 + q] = acc[r][q];
            }
        }
    }
}
