// T5's layer norm (RMSNorm) over rows of length d:
//   out[r, :] = w * x[r, :] / sqrt(mean(x[r, :]^2) + eps)
// with no mean subtraction and no bias. One workgroup per row sums the
// squares with a tree reduction in workgroup memory; rows beyond the first
// 65535 come through the second grid dimension. W is the weight dtype.
struct Params {
    rows: u32,
    d: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

{{template "load_w" .}}

const WG = {{.WG}}u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.d;
    var s = 0.0;
    for (var i = t; i < p.d; i += WG) {
        let v = x[base + i];
        s += v * v;
    }
    partial[t] = s;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    let inv = inverseSqrt(partial[0] / f32(p.d) + p.eps);
    for (var i = t; i < p.d; i += WG) {
        out[base + i] = load_w(i) * (x[base + i] * inv);
    }
}
