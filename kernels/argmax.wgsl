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

{{template "order" .}}

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
