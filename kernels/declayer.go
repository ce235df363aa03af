package kernels

// DecLayer is one T5 decoder layer of a one-row decode step in a single
// dispatch of resident workgroups that meet at barriers across the whole
// dispatch between its seven phases (see declayer.wgsl). It is composed
// of the planned step's kernels, and checked against them (gpu tests).
// Buffers: h, act (scratch and barrier words), the six weight matrices
// (q/k/v, self output, cross query, cross output, feed-forward in and
// out), self k and v caches, cross k and v, the relative position bias
// of each relative position, state, key lengths, rows. Defines: the
// model's sizes (D, INNER, FF, HEADS, DV the head dim in vectors of four), GATE and ACT, each matrix's dtype (WQKV,
// WO, WCQ, WCO, WIN, WOUT: "f16", "q8" or "f32"), act's regions in words (A_QKV,
// A_O, A_H2, A_CO, A_H3, A_FF), XS4, the widest input in vectors, PRE
// (load a phase's first weights while the barrier before it waits), KVPRE
// (the attention phases' first keys and values likewise), KVEARLY and
// KVEARLYX (the self- and the cross-attention's first keys and values
// loaded at the phase's start, with its query's loads, where KVPRE is
// off), RED2 (workgroup sums and maxima in two levels rather than a
// tree), TPQ (invocations to a row of the cross query's projection in the
// head's workgroup), and the
// products' invocations to a row (TPR_QKV, TPR_O for both output
// projections, TPR_IN, TPR_OUT: 8, 16 or 32). ACQUIRE puts a storage barrier after
// the grid barrier's wait as well as before its arrival. FANIN, where
// not 0, has the workgroups arrive in groups of that many (at most 60
// groups). WG is the workgroup size, a power of two from 64. CQP runs the
// cross-attention's norm and query projection as a phase of its own over
// every workgroup (TPR_CQ invocations to a row, into act from A_CQ), with
// a barrier after it, instead of in each head's workgroup. SKIP (1 to 7)
// leaves that phase's work out, barriers kept, to time the phases apart,
// and 8 every phase's, to time the barriers (wrong results; benchmarks
// only).
var DecLayer = register(&Kernel{
	Name: "declayer",
	File: "declayer.wgsl",
	Buffers: []Access{ReadWrite, ReadWrite, Read, Read, Read, Read, Read, Read,
		ReadWrite, ReadWrite, Read, Read, Read, Read, Read, Read},
	Defaults: Defines{
		"WG": 256, "V": 4, "PRE": true, "KVPRE": false, "KVEARLY": true, "KVEARLYX": true, "RED2": true, "ACQUIRE": true, "SKIP": 0, "FANIN": 0,
		"D": 32, "INNER": 32, "FF": 64, "HEADS": 4, "DV": 2, "GATE": true, "ACT": "gelu_new",
		"WQKV": "f16", "WO": "f16", "WCQ": "f16", "WCO": "f16", "WIN": "f16", "WOUT": "f16",
		"TPR_QKV": 32, "TPR_O": 32, "TPR_IN": 32, "TPR_OUT": 32,
		"A_QKV": 64, "A_O": 192, "A_H2": 256, "A_CO": 320, "A_H3": 384, "A_FF": 448, "A_CQ": 512, "XS4": 16,
		"CQP": false, "TPR_CQ": 32, "TPQ": 8,
	},
})
