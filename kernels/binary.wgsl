// out[i] = OP(a[i], b[i]) for i < n. OP is add (residual connections),
// gated_gelu or gated_relu, T5's gated feed-forward products act(a) * b.
struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

{{template "activations"}}

fn add(x: f32, y: f32) -> f32 {
    return x + y;
}

fn gated_gelu(gate: f32, up: f32) -> f32 {
    return gelu_new(gate) * up;
}

fn gated_relu(gate: f32, up: f32) -> f32 {
    return relu(gate) * up;
}

@compute @workgroup_size({{.WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{.WG}}u;
    if (i >= p.n) {
        return;
    }
    out[i] = {{.OP}}(a[i], b[i]);
}
