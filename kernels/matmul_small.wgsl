// out[m, n] = sum_k x[m, k] * w[n, k] for prompts of tens of rows: the
// prefill form of matmul.wgsl with small tiles, so that a 64-token prompt
// spreads over many workgroups (matmul.wgsl's 128x128 tiles leave all but
// a handful of an H100's 132 multiprocessors idle at M = 64).
//
// A workgroup of 128 invocations computes a 32x64 tile of out (32 rows of
// x, 64 rows of w); each invocation a 4x4 block. K advances by 32; both
// operand tiles sit k-major in workgroup memory. Weights are f32 or packed
// f16 (W), read one element at a time through load_w; x likewise. woff is
// the first row of w used.
struct Params {
    M: u32,
    N: u32,
    K: u32,
    woff: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const BM = 32u;
const BN = 64u;
const BK = 32u;
const AS = BK * BM;
const BS = BK * BN;

var<workgroup> As: array<f32, AS>;
var<workgroup> Bs: array<f32, BS>;

{{template "load_w" .}}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let m0 = wid.y * BM;
    let n0 = wid.x * BN;
    // Invocation (ty, tx) owns rows m0+4ty.. and columns n0+4tx.. of out.
    let tx = t % 16u;
    let ty = t / 16u;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.K; k0 += BK) {
        // x tile: 32 rows x 32 k, 8 elements per invocation, k fastest so
        // that neighbouring invocations read neighbouring addresses.
        for (var i = t; i < AS; i += 128u) {
            let r = i / BK;
            let k = i % BK;
            var v = 0.0;
            if (m0 + r < p.M && k0 + k < p.K) {
                v = x[(m0 + r) * p.K + k0 + k];
            }
            As[k * BM + r] = v;
        }
        // w tile: 64 rows x 32 k.
        for (var i = t; i < BS; i += 128u) {
            let r = i / BK;
            let k = i % BK;
            var v = 0.0;
            if (n0 + r < p.N && k0 + k < p.K) {
                v = load_w((p.woff + n0 + r) * p.K + k0 + k);
            }
            Bs[k * BN + r] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let a = vec4<f32>(As[kk * BM + 4u * ty], As[kk * BM + 4u * ty + 1u], As[kk * BM + 4u * ty + 2u], As[kk * BM + 4u * ty + 3u]);
            let b = vec4<f32>(Bs[kk * BN + 4u * tx], Bs[kk * BN + 4u * tx + 1u], Bs[kk * BN + 4u * tx + 2u], Bs[kk * BN + 4u * tx + 3u]);
            acc[0] += a.x * b;
            acc[1] += a.y * b;
            acc[2] += a.z * b;
            acc[3] += a.w * b;
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let m = m0 + 4u * ty + r;
        if (m >= p.M) {
            continue;
        }
        for (var c = 0u; c < 4u; c++) {
            let n = n0 + 4u * tx + c;
            if (n < p.N) {
                out[m * p.N + n] = acc[r][c];
            }
        }
    }
}
