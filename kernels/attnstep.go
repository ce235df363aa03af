package kernels

// AttnStep is one decoder step of T5 self-attention with the KV-cache
// append fused in: q, k and v of the new position come stacked in one row
// per batch item, k and v go into the caches at the position held in a
// state buffer, and the query attends to every cached key and the new one.
// Buffers: qkv, k cache, v cache, bias, buckets, state, out. Defines: WG
// (threads and keys per chunk, a power of two at least the head dim in
// vectors), V (1 or 4, the vector width of rows), DV (the head dim in
// vectors) and PRELOAD (load the first chunk's keys and values first).
var AttnStep = register(&Kernel{
	Name:     "attnstep",
	File:     "attnstep.wgsl",
	Buffers:  []Access{Read, ReadWrite, ReadWrite, Read, Read, Read, ReadWrite},
	Defaults: Defines{"WG": 64, "V": 1, "DV": 16, "PRELOAD": false, "RED2": false},
})
