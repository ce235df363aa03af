// state[0] += 1: the next decoder step's position, advanced on the GPU so
// that recorded steps can run back to back in one submission.
struct Params {
    unused: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;

@compute @workgroup_size(1)
fn main() {
    state[0] = state[0] + 1u;
}
