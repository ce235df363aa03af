// out[r] = the index of the largest of x[r*v .. r*v + v), with torch.argmax's
// rules: ties go to the lowest index, and a NaN counts as larger than
// anything, so the first NaN wins.
//
// One workgroup per row: each invocation scans a strided slice of the row,
// then the workgroup reduces its (key, index) pairs as a tree in workgroup
// memory. WG must be a power of two.
//
// Values are compared through an unsigned key that orders like the floats,
// not with float comparisons: WGSL lets a compiler assume that NaNs never
// occur, so a NaN test like x != x may be folded away, while integer
// compares cannot be.
struct Params {
    rows: u32,
    v: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> keys: array<u32, {{.WG}}>;
var<workgroup> idxs: array<u32, {{.WG}}>;

// key maps f32 bits to a u32 that orders as the floats do, with -0 equal to
// +0 and every NaN equal to the largest key. No finite or infinite value maps
// to 0, which therefore marks an empty slot.
fn key(f: f32) -> u32 {
    var b = bitcast<u32>(f);
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return 0xffffffffu;
    }
    if (b == 0x80000000u) {
        b = 0u;
    }
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

// beats says whether (k2, i2) wins over (k1, i1).
fn beats(k1: u32, i1: u32, k2: u32, i2: u32) -> bool {
    return k2 > k1 || (k2 == k1 && i2 < i1);
}

@compute @workgroup_size({{.WG}})
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Rows beyond 65535 spill into y; the row is uniform in the workgroup,
    // so returning before the barriers is allowed.
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.v;
    // Empty slot: key 0 loses to every value, index ~0 to every index.
    var bk = 0u;
    var bi = 0xffffffffu;
    // Each invocation sees its indices in increasing order, so a strict
    // comparison keeps the lowest index among its ties.
    for (var j = tid; j < p.v; j += {{.WG}}u) {
        let k = key(x[base + j]);
        if (k > bk) {
            bk = k;
            bi = j;
        }
    }
    keys[tid] = bk;
    idxs[tid] = bi;
    workgroupBarrier();
    for (var s = {{.WG}}u / 2u; s > 0u; s >>= 1u) {
        if (tid < s) {
            let k2 = keys[tid + s];
            let i2 = idxs[tid + s];
            if (beats(keys[tid], idxs[tid], k2, i2)) {
                keys[tid] = k2;
                idxs[tid] = i2;
            }
        }
        workgroupBarrier();
    }
    if (tid == 0u) {
        out[row] = idxs[0];
    }
}
