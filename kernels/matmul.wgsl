// out[m, n] = sum_k x[m, k] * w[n, k]: activations times transposed weights,
// the layout of a Hugging Face Linear weight [out_features, in_features].
//
// Each workgroup of 256 invocations computes a 128x128 tile of out; each
// invocation an 8x8 block of it, as two 4x4 blocks 64 rows and 64 columns
// apart so that its workgroup-memory reads are contiguous vec4s. K advances
// in steps of 16: both operand tiles are stored transposed (k-major) in
// workgroup memory, and the next step's tiles are loaded into registers
// while this step computes.
//
// VEC (set when K is a multiple of 4) reads 4 consecutive k per load: one
// vec4<f32> of x, one vec4<f32> of f32 weights or one vec2<u32> holding 4
// packed f16 weights. Without it, elements are loaded one by one.
struct Params {
    M: u32,
    N: u32,
    K: u32,
    // woff is the first row of w used: one matrix may stack several
    // projections.
    woff: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
{{- if .VEC}}
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<{{if eq .W "f16"}}vec2<u32>{{else}}vec4<f32>{{end}}>;
{{- else}}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
{{- end}}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const BM = 128u;
const BN = 128u;
const BK = 16u;

// Tiles as [BK][B*/4] vec4s: a row of 4 consecutive m (or n) per vec4.
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

{{- if not .VEC}}
{{template "load_w" .}}
{{- end}}

// load_x returns x[m, k..k+3], zero outside the matrix.
fn load_x(m: u32, k: u32) -> vec4<f32> {
{{- if .VEC}}
    if (m >= p.M || k >= p.K) {
        return vec4<f32>(0.0);
    }
    return x[(m * p.K + k) / 4u];
{{- else}}
    var v = vec4<f32>(0.0);
    if (m < p.M) {
        for (var c = 0u; c < 4u; c++) {
            if (k + c < p.K) {
                v[c] = x[m * p.K + k + c];
            }
        }
    }
    return v;
{{- end}}
}

// load_b returns w[n, k..k+3] as f32, zero outside the matrix.
fn load_b(n: u32, k: u32) -> vec4<f32> {
{{- if .VEC}}
    if (n >= p.N || k >= p.K) {
        return vec4<f32>(0.0);
    }
{{- if eq .W "f16"}}
    let packed = w[((p.woff + n) * p.K + k) / 4u];
    return vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
{{- else}}
    return w[((p.woff + n) * p.K + k) / 4u];
{{- end}}
{{- else}}
    var v = vec4<f32>(0.0);
    if (n < p.N) {
        for (var c = 0u; c < 4u; c++) {
            if (k + c < p.K) {
                v[c] = load_w((p.woff + n) * p.K + k + c);
            }
        }
    }
    return v;
{{- end}}
}

// store_tile writes 4 consecutive k of row r (0..127) into a tile.
fn store_a(r: u32, k: u32, v: vec4<f32>) {
    As[(k + 0u) * 32u + r / 4u][r % 4u] = v.x;
    As[(k + 1u) * 32u + r / 4u][r % 4u] = v.y;
    As[(k + 2u) * 32u + r / 4u][r % 4u] = v.z;
    As[(k + 3u) * 32u + r / 4u][r % 4u] = v.w;
}

fn store_b(r: u32, k: u32, v: vec4<f32>) {
    Bs[(k + 0u) * 32u + r / 4u][r % 4u] = v.x;
    Bs[(k + 1u) * 32u + r / 4u][r % 4u] = v.y;
    Bs[(k + 2u) * 32u + r / 4u][r % 4u] = v.z;
    Bs[(k + 3u) * 32u + r / 4u][r % 4u] = v.w;
}

fn store_out(m: u32, n: u32, v: vec4<f32>) {
    if (m >= p.M) {
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        if (n + c < p.N) {
            out[m * p.N + n + c] = v[c];
        }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let m0 = wid.y * BM;
    let n0 = wid.x * BN;
    let tx = t % 16u;
    let ty = t / 16u;
    // Loading: 4 invocations per row, 4 k each; rows lr and lr + 64.
    let lr = t / 4u;
    let lk = (t % 4u) * 4u;

    var acc: array<vec4<f32>, 16>;
    var a0 = load_x(m0 + lr, lk);
    var a1 = load_x(m0 + lr + 64u, lk);
    var b0 = load_b(n0 + lr, lk);
    var b1 = load_b(n0 + lr + 64u, lk);
    for (var k0 = 0u; k0 < p.K; k0 += BK) {
        store_a(lr, lk, a0);
        store_a(lr + 64u, lk, a1);
        store_b(lr, lk, b0);
        store_b(lr + 64u, lk, b1);
        workgroupBarrier();
        let next = k0 + BK + lk;
        a0 = load_x(m0 + lr, next);
        a1 = load_x(m0 + lr + 64u, next);
        b0 = load_b(n0 + lr, next);
        b1 = load_b(n0 + lr + 64u, next);
        for (var kk = 0u; kk < BK; kk++) {
            let xa = As[kk * 32u + ty];
            let xb = As[kk * 32u + 16u + ty];
            let wa = Bs[kk * 32u + tx];
            let wb = Bs[kk * 32u + 16u + tx];
            acc[0] += xa.x * wa;
            acc[1] += xa.x * wb;
            acc[2] += xa.y * wa;
            acc[3] += xa.y * wb;
            acc[4] += xa.z * wa;
            acc[5] += xa.z * wb;
            acc[6] += xa.w * wa;
            acc[7] += xa.w * wb;
            acc[8] += xb.x * wa;
            acc[9] += xb.x * wb;
            acc[10] += xb.y * wa;
            acc[11] += xb.y * wb;
            acc[12] += xb.z * wa;
            acc[13] += xb.z * wb;
            acc[14] += xb.w * wa;
            acc[15] += xb.w * wb;
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let ma = m0 + ty * 4u + r;
        let mb = m0 + 64u + ty * 4u + r;
        store_out(ma, n0 + tx * 4u, acc[2u * r]);
        store_out(ma, n0 + 64u + tx * 4u, acc[2u * r + 1u]);
        store_out(mb, n0 + tx * 4u, acc[8u + 2u * r]);
        store_out(mb, n0 + 64u + tx * 4u, acc[8u + 2u * r + 1u]);
    }
}
