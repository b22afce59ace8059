// C (m x n) = A (m x k) B (k x n) [+ bias per column], A and B read through strides so one
// kernel serves x W^T, dy W and dy^T x without transposing anything in memory.
// Each invocation keeps a 4x4 tile of C in registers: per step of k it loads 4 values of
// A and 4 of B and does 16 multiply-adds. No workgroup memory and no barriers: on
// lavapipe barriers cost more than the reuse they buy. Each output is one sequential sum
// over k, so results are deterministic.
//
// A product too large for one storage binding runs as chunks (src/gpu/dense.rs): of rows
// of A and C, or of k. off1..off3 are where the chunk starts in a, b and c.
//
// A weight gradient (dy^T x over batch x time rows) has a small C and a k in the hundreds
// of thousands: one invocation per tile looping over all of k would leave the GPU idle.
// So k is cut into slices of k_slice rows, one per gid.z, each writing its partial C to
// its own slot (slot g at c + g m n); src/gpu/dense.rs adds the slots up in order. A
// chunk of k (starting at row k_first of the whole k) computes the parts of the slices it
// holds; a slice begun by an earlier chunk continues from the value its slot holds, so
// the sums run in the same order however k is chunked. Unsliced: k_slice = k, one slot.

// Params, bound as `p`, is prepended from `Dense` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read> a: array<store>;
@group(0) @binding(2) var<storage, read> b: array<store>;
@group(0) @binding(3) var<storage, read_write> c: array<store>;
@group(0) @binding(4) var<storage, read> bias: array<store>;

const TILE: u32 = 4u;

// The slot and the chunk's rows of k that invocation column z sums; empty past the end.
struct Slice {
    slot: u32,
    begin: u32,
    end: u32,
    resume: bool,
}

fn slice_of(z: u32) -> Slice {
    let slot = p.k_first / p.k_slice + z;
    let start = slot * p.k_slice;
    let begin = max(start, p.k_first) - p.k_first;
    let end = min(start + p.k_slice, p.k_first + p.k) - p.k_first;
    return Slice(slot, begin, max(begin, end), start < p.k_first);
}

// acc[r][q] = C(row0 + r, col0 + q) over the slice's k. Rows and columns past the edge
// read clamped (valid) addresses and are computed but never stored: no branch in the
// inner loop.
fn tile_product(row0: u32, col0: u32, sl: Slice, c0: u32) -> array<vec4<f32>, 4> {
    var acc: array<vec4<f32>, 4>;
    var a_base: array<u32, 4>;
    var b_base: vec4<u32>;
    for (var r = 0u; r < TILE; r = r + 1u) {
        a_base[r] = p.off1 + min(row0 + r, p.m - 1u) * p.a_row;
    }
    for (var q = 0u; q < TILE; q = q + 1u) {
        b_base[q] = p.off2 + min(col0 + q, p.n - 1u) * p.b_col;
    }
    if (sl.resume) {
        for (var r = 0u; r < TILE; r = r + 1u) {
            for (var q = 0u; q < TILE; q = q + 1u) {
                acc[r][q] = f32(c[c0 + min(row0 + r, p.m - 1u) * p.n + min(col0 + q, p.n - 1u)]);
            }
        }
    }
    for (var l = sl.begin; l < sl.end; l = l + 1u) {
        let bl = l * p.b_row;
        let bv = vec4<f32>(vec4<store>(b[bl + b_base.x], b[bl + b_base.y], b[bl + b_base.z], b[bl + b_base.w]));
        let al = l * p.a_col;
        acc[0] = acc[0] + f32(a[a_base[0] + al]) * bv;
        acc[1] = acc[1] + f32(a[a_base[1] + al]) * bv;
        acc[2] = acc[2] + f32(a[a_base[2] + al]) * bv;
        acc[3] = acc[3] + f32(a[a_base[3] + al]) * bv;
    }
    return acc;
}

fn write_tile(row0: u32, col0: u32, c0: u32, acc: array<vec4<f32>, 4>, add: vec4<f32>) {
    for (var r = 0u; r < TILE; r = r + 1u) {
        for (var q = 0u; q < TILE; q = q + 1u) {
            if (row0 + r < p.m && col0 + q < p.n) {
                c[c0 + (row0 + r) * p.n + col0 + q] = store(acc[r][q] + add[q]);
            }
        }
    }
}

// 8 x 8 invocations cover a 32 x 32 block of C; x runs along columns, z along slices of k.
@compute @workgroup_size(8, 8)
fn gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * TILE;
    let col0 = gid.x * TILE;
    let sl = slice_of(gid.z);
    if (row0 >= p.m || col0 >= p.n || sl.begin >= sl.end) {
        return;
    }
    let c0 = p.off3 + sl.slot * p.m * p.n;
    write_tile(row0, col0, c0, tile_product(row0, col0, sl, c0), vec4<f32>(0.0));
}

@compute @workgroup_size(8, 8)
fn gemm_bias(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * TILE;
    let col0 = gid.x * TILE;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    var add: vec4<f32>;
    for (var q = 0u; q < TILE; q = q + 1u) {
        add[q] = f32(bias[min(col0 + q, p.n - 1u)]);
    }
    write_tile(row0, col0, p.off3, tile_product(row0, col0, slice_of(0u), p.off3), add);
}
