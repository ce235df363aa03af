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
{{template "head_vectors" .}}
{{template "attention_io" .}}

const WG = {{.WG}}u;
const DV = {{.DV}}u;

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
