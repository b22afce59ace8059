// Conv1d, stride 1, channels-first. Each invocation keeps a 4 x 4 register tile (4
// channels x 4 positions): per step it loads 4 weights and 4 inputs and does 16
// multiply-adds. No workgroup memory, no barriers; every output is one sequential sum,
// so results are deterministic. Reads outside the signal are 0 (padding) via select on a
// clamped address, not a branch.
//
// conv1d_forward with `relu` set applies ReLU before its one store (Backend::
// conv1d_relu_forward): the pre-activation never goes to memory, and ReLU's backward
// needs only this output.

// Params, bound as `p`, is prepended from `Conv1d` in src/gpu/kernel_params.rs.

// conv1d_forward: x, w, bias -> y
@group(0) @binding(1) var<storage, read> x: array<store>;
@group(0) @binding(2) var<storage, read> w: array<store>;
@group(0) @binding(3) var<storage, read> bias: array<store>;
@group(0) @binding(4) var<storage, read_write> y: array<store>;

// conv1d_backward_input: dy, w -> dx
@group(0) @binding(1) var<storage, read> dy_in: array<store>;
@group(0) @binding(3) var<storage, read_write> dx: array<store>;

// conv1d_backward_weight: x, dy -> per-sample dw
@group(0) @binding(2) var<storage, read> dy_w: array<store>;
@group(0) @binding(3) var<storage, read_write> dw: array<store>;

const TILE: u32 = 4u;

// x[n, c, pos] with zeros outside 0..len_in.
fn x_at(row: u32, pos: i32) -> f32 {
    let inside = pos >= 0 && pos < i32(p.len_in);
    return select(0.0, f32(x[row + u32(clamp(pos, 0, i32(p.len_in) - 1))]), inside);
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
                acc[r] = acc[r] + f32(w[(o * p.c_in + c) * p.kernel + k]) * xv;
            }
        }
    }
    for (var r = 0u; r < TILE; r = r + 1u) {
        let o = o0 + r;
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (o < p.c_out && t0 + q < p.len_out) {
                let z = acc[r][q] + f32(bias[o]);
                y[(n * p.c_out + o) * p.len_out + t0 + q] = store(select(z, relu(z), p.relu != 0u));
            }
        }
    }
}

// dy[n, o, t] with zeros outside 0..len_out.
fn dy_at(row: u32, t: i32) -> f32 {
    let inside = t >= 0 && t < i32(p.len_out);
    return select(0.0, f32(dy_in[row + u32(clamp(t, 0, i32(p.len_out) - 1))]), inside);
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
                acc[r] = acc[r] + f32(w[(o * p.c_in + c) * p.kernel + k]) * dyv;
            }
        }
    }
    for (var r = 0u; r < TILE; r = r + 1u) {
        let c = c0 + r;
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (c < p.c_in && s0 + q < p.len_in) {
                dx[(n * p.c_in + c) * p.len_in + s0 + q] = store(acc[r][q]);
            }
        }
    }
}

// Partial weight gradients per sample and slice of output positions:
// partial[n, s, o, j] = sum over t in slice s of dy[n, o, t] x[n, c, t + k - pad_left],
// j = c * kernel + k (the (c, k) pairs flattened, as they lie in dw). A layer with few
// weights and long signals (the first conv: 176 weights, 3187 positions) would otherwise
// leave a few invocations each summing thousands of positions while the GPU idles;
// src/gpu/conv1d.rs then adds the partials up in order, so dw stays deterministic.
// Tiling (c, k) pairs rather than taps alone wastes no lanes on short kernels (k = 3 or 5
// filled 3/16 or 5/16 of a 4-tap x 4-channel tile): only the tail of c_in * kernel idles.
// gid.x: block of 4 (c, k) pairs, gid.y: block of 4 output channels,
// gid.z: sample x slices + slice.
@compute @workgroup_size(16, 4)
fn conv1d_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
    let taps = p.c_in * p.kernel;
    let j0 = gid.x * TILE;
    let o0 = gid.y * TILE;
    let n = gid.z / p.slices;
    let t_begin = (gid.z % p.slices) * p.t_slice;
    let t_end = min(t_begin + p.t_slice, p.len_out);
    if (j0 >= taps || o0 >= p.c_out) {
        return;
    }
    // x[n, c, t + k - pad_left] = x_at(row[q], t + shift[q]) for pair j0 + q (clamped at the tail)
    var row: array<u32, 4>;
    var shift: array<i32, 4>;
    for (var q = 0u; q < TILE; q = q + 1u) {
        let j = min(j0 + q, taps - 1u);
        row[q] = (n * p.c_in + j / p.kernel) * p.len_in;
        shift[q] = i32(j % p.kernel) - i32(p.pad_left);
    }
    var acc: array<vec4<f32>, 4>;
    for (var t = t_begin; t < t_end; t = t + 1u) {
        let ti = i32(t);
        let xv = vec4<f32>(
            x_at(row[0], ti + shift[0]),
            x_at(row[1], ti + shift[1]),
            x_at(row[2], ti + shift[2]),
            x_at(row[3], ti + shift[3]),
        );
        for (var r = 0u; r < TILE; r = r + 1u) {
            let o = min(o0 + r, p.c_out - 1u);
            acc[r] = acc[r] + f32(dy_w[(n * p.c_out + o) * p.len_out + t]) * xv;
        }
    }
    let sample = gid.z * p.c_out * taps;
    for (var r = 0u; r < TILE; r = r + 1u) {
        let o = o0 + r;
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (o < p.c_out && j0 + q < taps) {
                dw[sample + o * taps + j0 + q] = store(acc[r][q]);
            }
        }
    }
}
