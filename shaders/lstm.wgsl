// LSTM recurrences (gate order i, f, g, o). The input projection x W_ih^T + b of every
// step is one GEMM (dense.wgsl) written into `gates` beforehand; what is left is
// sequential in time, so ONE dispatch runs the whole sequence as a persistent kernel
// (Diamos et al. 2016, "Persistent RNNs"): each workgroup owns `rows` batch rows, loads
// W_hh into workgroup memory once and keeps it there for every step.
//
// Each step is a matrix-vector product per row (W_hh h_{t-1}, or W_hh^T dgates_{t+1}
// backward) and the cell's elementwise update. Invocation lid owns one (row, unit j)
// pair and computes unit j's whole sum itself, in order (deterministic, no partial sums
// to combine), so a step needs ONE barrier: the new h (or dgates) goes to the other half
// of a double-buffered workgroup array that the next step reads.
//
// The weights are packed so that a step reads them as vec4s, unit j's four gates at
// once, and neighbouring invocations read neighbouring vec4s (pack_forward,
// pack_backward): entry m * hidden + j of the packed matrix holds, forward, W_hh[q H + j][m]
// and, backward, W_hh[q H + m][j], for q = 0..3. Its first rows (as many whole rows of m
// as the adapter's workgroup memory holds beside the state) live on chip, in the storage
// precision (f16 storage: vec4<f16>, half the bytes, converted to f32 for the
// arithmetic); the rest are read from the packed storage buffer, in the same coalesced
// order, through the cache. No subgroup operations: a unit's sum is one invocation's.

// Every kernel here runs on a chunk of batch rows when its tensors do not fit one storage
// binding (src/gpu/lstm.rs): `batch` is the chunk's, and offN is where the chunk starts
// in the tensor at binding N.
// Params, bound as `p`, is prepended from `Lstm` in src/gpu/kernel_params.rs.

// (row, unit) pairs per workgroup of the sequence kernels, one per invocation: this bounds
// hidden (src/gpu/lstm.rs checks it) and sizes the state arrays.
const SLOTS: u32 = 256u;
// The adapter's max_compute_workgroup_storage_size, set by the host when it compiles this
// file (src/gpu/pipelines.rs); the default is WebGPU's guaranteed minimum.
override WORKGROUP_BYTES: u32 = 16384u;
// The most workgroup memory the state takes (lstm_backward_sequence: dgates_next and
// cell); the weights get the rest.
const STATE_BYTES: u32 = 2u * SLOTS * 16u + SLOTS * 4u;
override CHIP_ENTRIES: u32 = (WORKGROUP_BYTES - STATE_BYTES) / (4u * STORE_BYTES);

// the packed W_hh (see above), 4 hidden^2 elements
@group(0) @binding(1) var<storage, read> packed: array<vec4<store>>;

// lstm_forward_sequence
@group(0) @binding(2) var<storage, read_write> gates: array<store>;
@group(0) @binding(3) var<storage, read_write> h: array<store>;
@group(0) @binding(4) var<storage, read_write> c: array<store>;

// lstm_backward_sequence: packed, gates, c, dh -> dgates
@group(0) @binding(2) var<storage, read> gates_in: array<store>;
@group(0) @binding(3) var<storage, read> c_in: array<store>;
@group(0) @binding(4) var<storage, read> dh: array<store>;
@group(0) @binding(5) var<storage, read_write> dgates: array<store>;

// last_step_forward, last_step_backward, previous_h, pack_forward, pack_backward: src -> dst
@group(0) @binding(1) var<storage, read> src: array<store>;
@group(0) @binding(2) var<storage, read_write> dst: array<store>;

// The on-chip rows of the packed weights.
var<workgroup> chip: array<vec4<store>, CHIP_ENTRIES>;
// h_{t-1} of each owned row, double-buffered: step t reads one half and writes the other.
var<workgroup> h_prev: array<f32, 2u * SLOTS>;
// c_{t-1} and, backward, dc_{t+1} f_{t+1}: only ever touched by the pair's own invocation.
var<workgroup> cell: array<f32, SLOTS>;
// dgates of step t+1 (unit m's four gates as one vec4), double-buffered like h_prev.
var<workgroup> dgates_next: array<vec4<f32>, 2u * SLOTS>;

// The invocation's (row, unit) pair; `live` is false past the pairs or the chunk's rows.
struct Pair {
    slot: u32,
    row: u32,
    unit: u32,
    live: bool,
}

fn pair_of(wid: u32, lid: u32) -> Pair {
    let r = lid / p.hidden;
    let n = wid * p.rows + r;
    return Pair(lid, n, lid % p.hidden, r < p.rows && n < p.batch);
}

// The double-buffered state arrays (h_prev, dgates_next): the index of the pair's row
// block in the half that step `step` reads, and of its own slot in the half it writes.
fn read_half(step: u32, me: Pair) -> u32 {
    return (step % 2u) * SLOTS + me.slot - me.unit;
}

fn write_half(step: u32, me: Pair) -> u32 {
    return SLOTS - (step % 2u) * SLOTS + me.slot;
}

// Loads the packed matrix's first rows into `chip`; returns how many rows of m it holds.
// Its barrier also publishes whatever the workgroup wrote before the call (the sequence
// kernels' zeroed state).
fn load_chip(lid: u32) -> u32 {
    let hs = p.hidden;
    let chip_rows = min(hs, CHIP_ENTRIES / hs);
    for (var e = lid; e < chip_rows * hs; e = e + SLOTS) {
        chip[e] = packed[e];
    }
    workgroupBarrier();
    return chip_rows;
}

@compute @workgroup_size(SLOTS)
fn lstm_forward_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    h_prev[lid] = 0.0;
    cell[lid] = 0.0;
    let chip_rows = load_chip(lid);
    let hs = p.hidden;
    let me = pair_of(wid.x, lid);
    let j = me.unit;
    for (var t = 0u; t < p.time; t = t + 1u) {
        let read = read_half(t, me);
        let write = write_half(t, me);
        if (me.live) {
            let g_row = p.off2 + (me.row * p.time + t) * 4u * hs;
            // the input projection and bias, then + W_hh h_{t-1}, m in order
            var pre = vec4<f32>(vec4<store>(gates[g_row + j], gates[g_row + hs + j], gates[g_row + 2u * hs + j], gates[g_row + 3u * hs + j]));
            for (var m = 0u; m < chip_rows; m = m + 1u) {
                pre = pre + vec4<f32>(chip[m * hs + j]) * h_prev[read + m];
            }
            for (var m = chip_rows; m < hs; m = m + 1u) {
                pre = pre + vec4<f32>(packed[m * hs + j]) * h_prev[read + m];
            }
            let i = sigmoid(pre.x);
            let f = sigmoid(pre.y);
            let g = tanh_stable(pre.z);
            let o = sigmoid(pre.w);
            gates[g_row + j] = store(i);
            gates[g_row + hs + j] = store(f);
            gates[g_row + 2u * hs + j] = store(g);
            gates[g_row + 3u * hs + j] = store(o);
            let cj = f * cell[lid] + i * g;
            let hj = o * tanh_stable(cj);
            cell[lid] = cj;
            let s_row = (me.row * p.time + t) * hs;
            c[p.off4 + s_row + j] = store(cj);
            h[p.off3 + s_row + j] = store(hj);
            h_prev[write] = hj;
        }
        workgroupBarrier();
    }
}

// Backpropagation through time, t from last to first. Writes dgates (N, T, 4H)
// (pre-activation gradients); the weight, bias and input gradients are GEMMs and
// reductions over it afterwards (src/gpu/lstm.rs).
@compute @workgroup_size(SLOTS)
fn lstm_backward_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    cell[lid] = 0.0;
    dgates_next[lid] = vec4<f32>(0.0);
    let chip_rows = load_chip(lid);
    let hs = p.hidden;
    let g4 = 4u * hs;
    let me = pair_of(wid.x, lid);
    let j = me.unit;
    for (var s = 0u; s < p.time; s = s + 1u) {
        let t = p.time - 1u - s;
        let read = read_half(s, me);
        let write = write_half(s, me);
        if (me.live) {
            let row = me.row * p.time + t;
            let g_row = p.off2 + row * g4;
            let c_row = p.off3 + row * hs;
            // dh_t = upstream + W_hh^T dgates_{t+1}, m in order
            var dht = f32(dh[p.off4 + row * hs + j]);
            for (var m = 0u; m < chip_rows; m = m + 1u) {
                dht = dht + dot(vec4<f32>(chip[m * hs + j]), dgates_next[read + m]);
            }
            for (var m = chip_rows; m < hs; m = m + 1u) {
                dht = dht + dot(vec4<f32>(packed[m * hs + j]), dgates_next[read + m]);
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
            let dc = dht * o * (1.0 - tc * tc) + cell[lid];
            cell[lid] = dc * f;
            let d = vec4<f32>(
                dc * g * i * (1.0 - i),
                dc * c_before * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dht * tc * o * (1.0 - o),
            );
            let dg_row = p.off5 + row * g4;
            for (var q = 0u; q < 4u; q = q + 1u) {
                dgates[dg_row + q * hs + j] = store(d[q]);
            }
            dgates_next[write] = d;
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

// dst = W_hh (4H x H) packed for lstm_forward_sequence (see the top of this file); one
// element per invocation.
@compute @workgroup_size(WG)
fn pack_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    let hs = p.hidden;
    if (i >= 4u * hs * hs) {
        return;
    }
    let e = i / 4u;
    dst[i] = src[((i % 4u) * hs + e % hs) * hs + e / hs];
}

// dst = W_hh packed for lstm_backward_sequence.
@compute @workgroup_size(WG)
fn pack_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    let hs = p.hidden;
    if (i >= 4u * hs * hs) {
        return;
    }
    let e = i / 4u;
    dst[i] = src[((i % 4u) * hs + e / hs) * hs + e % hs];
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
