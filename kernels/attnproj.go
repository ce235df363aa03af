package kernels

// AttnSelf is a decoder step's whole self-attention up to the output
// projection: the layer norm (folded weight) and the q/k/v projections of
// each head, the KV-cache append at the position in a state buffer, and
// attention with T5's relative position bias. Buffers: x, w (q, k, v
// stacked), k cache, v cache, bias, buckets, state, out. Defines: W, VEC
// (K a multiple of 8 for f16, 4 for f32), V (1 or 4: head dim vectors),
// WG, MODE "self".
var AttnSelf = register(&Kernel{
	Name:     "attn_self",
	File:     "attnproj.wgsl",
	Buffers:  []Access{Read, Read, ReadWrite, ReadWrite, Read, Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "VEC": false, "V": 1, "WG": 256, "MODE": "self", "DV": 16, "K": 64, "STAGE": false},
})

// AttnCross is a decoder step's cross-attention up to the output
// projection: the layer norm (folded weight) and the query projection of
// each head, then attention over the encoder's keys and values of the
// input each row reads. Buffers: x, w, k, v, key lengths, kv rows, out.
// Defines as AttnSelf, MODE "cross".
var AttnCross = register(&Kernel{
	Name:     "attn_cross",
	File:     "attnproj.wgsl",
	Buffers:  []Access{Read, Read, Read, Read, Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "VEC": false, "V": 1, "WG": 256, "MODE": "cross", "DV": 16, "K": 64, "STAGE": false},
})
