// out[i] = OP(x[i]) for i < n. OP is relu or gelu_new (the tanh form T5's
// gated-gelu uses).
struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

{{template "activations"}}

@compute @workgroup_size({{.WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{.WG}}u;
    if (i >= p.n) {
        return;
    }
    out[i] = {{.OP}}(x[i]);
}
