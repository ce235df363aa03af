// Masked softmax in place over the last dimension of x [B, H, tq, tk]. One
// workgroup per row (b, h, i); rows beyond the first 65535 come through the
// second grid dimension.
//
// Every mask T5 needs keeps a prefix of the keys: padding sits at the end of
// each sequence (keys j >= key_lens[b], bound only when LENS is true), and a
// causal query at absolute position tk - tq + i sees keys j <= tk - tq + i.
// So a row keeps n leading entries, softmaxed with its maximum subtracted,
// and the rest become exactly 0; a row with n == 0 becomes all zeros.
struct Params {
    rows: u32,
    heads: u32,
    tq: u32,
    tk: u32,
    causal: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
{{- if .LENS}}
@group(0) @binding(2) var<storage, read> key_lens: array<u32>;
{{- end}}

const WG = {{.WG}}u;

var<workgroup> red: array<f32, WG>;

// visible returns how many leading keys query i of batch item b may see.
fn visible(b: u32, i: u32) -> u32 {
    var n = p.tk;
{{- if .LENS}}
    n = min(n, key_lens[b]);
{{- end}}
    if (p.causal != 0u) {
        let last = i32(p.tk) - i32(p.tq) + i32(i);
        n = min(n, u32(max(last + 1, 0)));
    }
    return n;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let i = row % p.tq;
    let b = row / (p.tq * p.heads);
    let base = row * p.tk;
    let n = visible(b, i);

    var m = -3.0e38;
    for (var j = t; j < n; j += WG) {
        m = max(m, x[base + j]);
    }
    red[t] = m;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            red[t] = max(red[t], red[t + stride]);
        }
        workgroupBarrier();
    }
    m = red[0];
    workgroupBarrier();

    var s = 0.0;
    for (var j = t; j < n; j += WG) {
        s += exp(x[base + j] - m);
    }
    red[t] = s;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            red[t] += red[t + stride];
        }
        workgroupBarrier();
    }
    let total = red[0];
    // A row whose visible scores are all -inf sums to 0: zeros, not NaN.
    let inv = select(0.0, 1.0 / total, total > 0.0);
    for (var j = t; j < p.tk; j += WG) {
        var v = 0.0;
        if (j < n) {
            v = exp(x[base + j] - m) * inv;
        }
        x[base + j] = v;
    }
}
