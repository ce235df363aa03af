// attention.wgsl laid out for a CPU (lavapipe, SwiftShader): one invocation
// per (batch item b, head h, query i), the keys in a loop, with no
// workgroup memory and no barriers. A CPU runs a workgroup's invocations as
// SIMD lanes on one thread, where attention.wgsl's cooperative chunks cost
// a barrier (a switch between the workgroup's SIMD vectors) per reduction
// step; here each lane keeps its query, running maximum m, running sum l
// and output in registers. Consecutive invocations are consecutive queries
// of one head, so a SIMD vector's lanes read the same key rows.
//
// Same parameters, bindings and results as attention.wgsl; DV, the head
// dim in vectors of V floats, is specialised so that q and the output sum
// are fixed-size private arrays.
struct Params {
    heads: u32,
    tq: u32,
    tk: u32,
    tcap: u32,
    dv: u32,
    rows: u32,
    has_bias: u32,
    has_lens: u32,
    causal: u32,
    center: u32,
    has_rows: u32,
}

alias VT = {{if eq .V 4}}vec4<f32>{{else}}f32{{end}};
// NEG stands for -inf: finite, so that exp(NEG - m) is 0 and never NaN.
const NEG = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<VT>;
@group(0) @binding(2) var<storage, read> k: array<VT>;
@group(0) @binding(3) var<storage, read> v: array<VT>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> buckets: array<u32>;
@group(0) @binding(6) var<storage, read> key_lens: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<VT>;
@group(0) @binding(8) var<storage, read> kv_rows: array<u32>;

const WG = {{.WG}}u;
const DV = {{.DV}}u;

fn vdot(a: VT, b: VT) -> f32 {
{{- if eq .V 4}}
    return dot(a, b);
{{- else}}
    return a * b;
{{- end}}
}

// visible returns how many leading keys query i may see in key batch
// item kb (as attention.wgsl's).
fn visible(kb: u32, i: u32) -> u32 {
    var n = p.tk;
    if (p.has_lens != 0u) {
        n = min(n, key_lens[kb]);
    }
    if (p.causal != 0u) {
        let last = i32(p.tk) - i32(p.tq) + i32(i);
        n = min(n, u32(max(last + 1, 0)));
    }
    return n;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = (wid.x + wid.y * nwg.x) * WG + t;
    if (row >= p.rows) {
        return;
    }
    let i = row % p.tq;
    let h = (row / p.tq) % p.heads;
    let b = row / (p.tq * p.heads);
    let width = p.heads * DV;
    let q_base = (b * p.tq + i) * width + h * DV;
    var kb = b;
    if (p.has_rows != 0u) {
        kb = kv_rows[b];
    }
    let kv_base = kb * p.tcap * width + h * DV;
    let n = visible(kb, i);
    // Key j's bucket is buckets[j + shift] (see attention.wgsl).
    let shift = p.center - (p.tk - p.tq + i);

    var qv: array<VT, DV>;
    var acc: array<VT, DV>;
    for (var e = 0u; e < DV; e++) {
        qv[e] = q[q_base + e];
        acc[e] = VT(0.0);
    }
    var m = NEG;
    var l = 0.0;
    for (var j = 0u; j < n; j++) {
        let kj = kv_base + j * width;
        var s = 0.0;
        for (var e = 0u; e < DV; e++) {
            s += vdot(qv[e], k[kj + e]);
        }
        if (p.has_bias != 0u) {
            s += bias[buckets[j + shift] * p.heads + h];
        }
        // Online softmax: the sums so far were made against m; a larger
        // score rescales them once, instead of a pass to find the maximum.
        if (s > m) {
            let scale = exp(m - s);
            l *= scale;
            for (var e = 0u; e < DV; e++) {
                acc[e] *= scale;
            }
            m = s;
        }
        let pj = exp(s - m);
        l += pj;
        for (var e = 0u; e < DV; e++) {
            acc[e] += pj * v[kj + e];
        }
    }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var e = 0u; e < DV; e++) {
        out[q_base + e] = acc[e] * inv;
    }
}
