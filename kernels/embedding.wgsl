// out[r*d + c] = w[ids[r]*d + c], the token-embedding lookup, for every
// element of the output (n = rows*d of them). A row whose id is not below v
// is written as zeros: a shader cannot report an error, and zeros keep a bad
// id from reading another tensor's memory or leaving stale data behind. The
// model validates ids on the host before it gets here.
//
// One invocation per output element, not per row or per packed word, so that
// f16 tables with odd d, whose packed words straddle two rows, need no
// special case: load_w picks the half it needs.
struct Params {
    n: u32,
    d: u32,
    v: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<{{template "w_elem" .}}>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

{{template "load_w" .}}

@compute @workgroup_size({{.WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{.WG}}u;
    if (i >= p.n) {
        return;
    }
    let r = i / p.d;
    let c = i - r * p.d;
    let id = ids[r];
    var x = 0.0;
    if (id < p.v) {
        // id*d + c < v*d, which the host keeps below 2^31.
        x = load_w(id * p.d + c);
    }
    out[i] = x;
}
