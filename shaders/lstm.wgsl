// LSTM recurrences (gate order i, f, g, o). The input projection x W_ih^T + b of every
// step is one GEMM (dense.wgsl) written into `gates` beforehand; what is left is
// sequential in time, so ONE dispatch runs the whole sequence: one workgroup per batch
// row looping over t, the state in workgroup memory.
//
// Each step is a matrix-vector product (W_hh h_{t-1}, or W_hh^T dgates_{t+1} backward)
// and then the cell's elementwise update. The product is split over all SEQ_WG
// invocations: invocation lid works on hidden unit j = lid % hidden and on part
// lid / hidden of the sum, each part's sum goes to workgroup memory, and after a barrier
// the first `hidden` invocations add the parts up in order (deterministic) and update
// unit j; a second barrier ends the step. Forward reads W_hh transposed (a copy made by
// transpose_w_hh), so that neighbouring invocations read neighbouring weights.

// Every kernel here runs on a chunk of batch rows when its tensors do not fit one storage
// binding (src/gpu/lstm.rs): `batch` is the chunk's, and offN is where the chunk starts
// in the tensor at binding N.
struct Params {
    batch: u32,
    time: u32,
    input: u32,
    hidden: u32,
    off1: u32,
    off2: u32,
    off3: u32,
    off4: u32,
    off5: u32,
}

// Workgroup arrays need a size fixed at compile time; src/gpu/lstm.rs checks it.
const MAX_HIDDEN: u32 = 256u;
// Invocations per workgroup of the sequence kernels: WebGPU's default limit.
const SEQ_WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
// lstm_forward_sequence: W_hh^T (hidden x 4 hidden); lstm_backward_sequence: W_hh (4 hidden x hidden)
@group(0) @binding(1) var<storage, read> w_hh: array<store>;

// lstm_forward_sequence
@group(0) @binding(2) var<storage, read_write> gates: array<store>;
@group(0) @binding(3) var<storage, read_write> h: array<store>;
@group(0) @binding(4) var<storage, read_write> c: array<store>;

// lstm_backward_sequence: w_hh, gates, c, dh -> dgates
@group(0) @binding(2) var<storage, read> gates_in: array<store>;
@group(0) @binding(3) var<storage, read> c_in: array<store>;
@group(0) @binding(4) var<storage, read> dh: array<store>;
@group(0) @binding(5) var<storage, read_write> dgates: array<store>;

// last_step_forward, last_step_backward, previous_h, transpose_w_hh: src -> dst
@group(0) @binding(1) var<storage, read> src: array<store>;
@group(0) @binding(2) var<storage, read_write> dst: array<store>;

// h_{t-1}, double-buffered: step t reads one half and writes the other, so one barrier
// per step separates the writes from the next step's reads.
var<workgroup> h_prev: array<f32, 2u * MAX_HIDDEN>;
// c_{t-1} and, backward, dc_{t+1} f_{t+1}: only ever touched by the unit's own invocation.
var<workgroup> cell: array<f32, MAX_HIDDEN>;
// dgates of step t+1, double-buffered like h_prev.
var<workgroup> dgates_next: array<f32, 8u * MAX_HIDDEN>;
// Each invocation's part of the step's matrix-vector product (forward: four gates).
var<workgroup> parts4: array<vec4<f32>, SEQ_WG>;
var<workgroup> parts1: array<f32, SEQ_WG>;

// Invocation lid's share of a step's sum over `terms`: part lid / hidden of `count`
// parts, terms begin..end; invocations past the last part have none (`working` false).
struct Part {
    count: u32,
    working: bool,
    begin: u32,
    end: u32,
}

fn part_of(terms: u32, lid: u32) -> Part {
    let count = max(1u, SEQ_WG / p.hidden);
    let len = (terms + count - 1u) / count;
    let part = lid / p.hidden;
    let begin = min(part * len, terms);
    return Part(count, part < count, begin, min(begin + len, terms));
}

@compute @workgroup_size(SEQ_WG)
fn lstm_forward_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = wid.x;
    let hs = p.hidden;
    let g4 = 4u * hs;
    let sp = part_of(hs, lid);
    let j = lid % hs;
    if (lid < hs) {
        h_prev[lid] = 0.0;
        cell[lid] = 0.0;
    }
    workgroupBarrier();
    for (var t = 0u; t < p.time; t = t + 1u) {
        let read = (t % 2u) * MAX_HIDDEN;
        let write = MAX_HIDDEN - read;
        // this invocation's part of W_hh h_{t-1} for the four gate rows of j
        if (sp.working) {
            var acc = vec4<f32>(0.0);
            for (var m = sp.begin; m < sp.end; m = m + 1u) {
                let w = m * g4 + j;
                let wv = vec4<f32>(vec4<store>(w_hh[w], w_hh[w + hs], w_hh[w + 2u * hs], w_hh[w + 3u * hs]));
                acc = acc + wv * h_prev[read + m];
            }
            parts4[lid] = acc;
        }
        workgroupBarrier();
        if (lid < hs) {
            let g_row = p.off2 + (n * p.time + t) * g4;
            let h_row = p.off3 + (n * p.time + t) * hs;
            let c_row = p.off4 + (n * p.time + t) * hs;
            // the input projection and bias, then + the parts of W_hh h_{t-1} in order
            var pre = vec4<f32>(vec4<store>(gates[g_row + j], gates[g_row + hs + j], gates[g_row + 2u * hs + j], gates[g_row + 3u * hs + j]));
            for (var q = 0u; q < sp.count; q = q + 1u) {
                pre = pre + parts4[q * hs + j];
            }
            let i = sigmoid(pre.x);
            let f = sigmoid(pre.y);
            let g = tanh_stable(pre.z);
            let o = sigmoid(pre.w);
            gates[g_row + j] = store(i);
            gates[g_row + hs + j] = store(f);
            gates[g_row + 2u * hs + j] = store(g);
            gates[g_row + 3u * hs + j] = store(o);
            let cj = f * cell[j] + i * g;
            let hj = o * tanh_stable(cj);
            cell[j] = cj;
            c[c_row + j] = store(cj);
            h[h_row + j] = store(hj);
            h_prev[write + j] = hj;
        }
        workgroupBarrier();
    }
}

// Backpropagation through time for one batch row per workgroup, t from last to first.
// Writes dgates (N, T, 4H) (pre-activation gradients); the weight, bias and input
// gradients are GEMMs and reductions over it afterwards (src/gpu/lstm.rs).
@compute @workgroup_size(SEQ_WG)
fn lstm_backward_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = wid.x;
    let hs = p.hidden;
    let g4 = 4u * hs;
    let sp = part_of(g4, lid);
    let j = lid % hs;
    if (lid < hs) {
        cell[lid] = 0.0;
    }
    for (var k = lid; k < g4; k = k + SEQ_WG) {
        dgates_next[k] = 0.0;
    }
    workgroupBarrier();
    for (var s = 0u; s < p.time; s = s + 1u) {
        let t = p.time - 1u - s;
        let read = (s % 2u) * 4u * MAX_HIDDEN;
        let write = 4u * MAX_HIDDEN - read;
        // this invocation's part of (W_hh^T dgates_{t+1})_j
        if (sp.working) {
            var acc = 0.0;
            for (var k = sp.begin; k < sp.end; k = k + 1u) {
                acc = acc + dgates_next[read + k] * f32(w_hh[k * hs + j]);
            }
            parts1[lid] = acc;
        }
        workgroupBarrier();
        if (lid < hs) {
            let row = n * p.time + t;
            let g_row = p.off2 + row * g4;
            let c_row = p.off3 + row * hs;
            let dh_row = p.off4 + row * hs;
            let dg_row = p.off5 + row * g4;
            // dh_t = upstream + the parts of W_hh^T dgates_{t+1} in order
            var dht = f32(dh[dh_row + j]);
            for (var q = 0u; q < sp.count; q = q + 1u) {
                dht = dht + parts1[q * hs + j];
            }
            let i = f32(gates_in[g_row + j]);
            let f = f32(gates_in[g_row + hs + j]);
            let g = f32(gates_in[g_row + 2u * hs + j]);
            let o = f32(gates_in[g_row + 3u * hs + j]);
            let tc = tanh_stable(f32(c_in[c_row + j]));
            var c_before = 0.0;
            if (t > 0u) {
                c_before = f32(c_in[c_row - hs + j]);
            }
            let dc = dht * o * (1.0 - tc * tc) + cell[j];
            cell[j] = dc * f;
            let d = vec4<f32>(
                dc * g * i * (1.0 - i),
                dc * c_before * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dht * tc * o * (1.0 - o),
            );
            for (var q = 0u; q < 4u; q = q + 1u) {
                dgates[dg_row + q * hs + j] = store(d[q]);
                dgates_next[write + q * hs + j] = d[q];
            }
        }
        workgroupBarrier();
    }
}

// y (N, H) = h (N, T, H) at t = T - 1; one element per invocation.
@compute @workgroup_size(WG)
fn last_step_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.hidden) {
        return;
    }
    let n = i / p.hidden;
    dst[p.off2 + i] = src[p.off1 + (n * p.time + p.time - 1u) * p.hidden + i % p.hidden];
}

// dh (N, T, H) = dy at t = T - 1, 0 elsewhere.
@compute @workgroup_size(WG)
fn last_step_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.time * p.hidden) {
        return;
    }
    let t = (i / p.hidden) % p.time;
    let n = i / (p.hidden * p.time);
    dst[p.off2 + i] = select(0.0, src[p.off1 + n * p.hidden + i % p.hidden], t == p.time - 1u);
}

// dst (H, 4H) = W_hh^T for lstm_forward_sequence; one element per invocation.
@compute @workgroup_size(WG)
fn transpose_w_hh(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    let g4 = 4u * p.hidden;
    if (i >= g4 * p.hidden) {
        return;
    }
    dst[i] = src[(i % g4) * p.hidden + i / g4];
}

// dst (N, T, H) = h_{t-1}, 0 at t = 0: the right operand of dW_hh = dgates^T h_{t-1}.
@compute @workgroup_size(WG)
fn previous_h(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.time * p.hidden) {
        return;
    }
    let t = (i / p.hidden) % p.time;
    dst[p.off2 + i] = select(0.0, src[p.off1 + max(i, p.hidden) - p.hidden], t > 0u);
}
