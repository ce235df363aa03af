package kernels

// AttnCross is a decoder step's cross-attention up to the output
// projection: the layer norm (folded weight) and the query projection of
// each head, then attention over the encoder's keys and values of the
// input each row reads. Buffers: x, w, k, v, key lengths, kv rows, out.
// Defines: W, VEC (K a multiple of 8 for f16, 4 for f32), V (1 or 4: head
// dim vectors), DV (head dim in vectors), K, WG, STAGE (x staged in
// workgroup memory), PRELOAD (the first chunk of keys and values loaded
// first).
var AttnCross = register(&Kernel{
	Name:     "attn_cross",
	File:     "attnproj.wgsl",
	Buffers:  []Access{Read, Read, Read, Read, Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "VEC": false, "V": 1, "WG": 256, "DV": 16, "K": 64, "STAGE": false, "PRELOAD": false, "RED2": false},
})
