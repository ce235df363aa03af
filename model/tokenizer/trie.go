package tokenizer

import "sort"

// byteTrie maps byte strings to ids and enumerates, in order of length, the
// keys that are prefixes of a text: the one query Viterbi segmentation and
// special-token matching need. It is built once and only read afterwards,
// so it is safe for concurrent use.
type byteTrie struct {
	// root[b] is the node reached from the root by byte b, or 0 for none
	// (node 0 is the root itself, which no edge leads to).
	root [256]int32
	// nodes[i] holds the id of the key ending at node i (-1 for none) and
	// its children: labels[first:first+count] sorted, with the nodes in
	// targets at the same indices.
	nodes   []trieNode
	labels  []byte
	targets []int32
}

type trieNode struct {
	id           int32
	first, count int32
}

// newByteTrie builds a trie of keys[i] -> ids[i]. When a key repeats, the
// later id wins, as a Go map (and Hugging Face's token_to_ids) would have it.
func newByteTrie(keys []string, ids []int32) *byteTrie {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	t := &byteTrie{nodes: []trieNode{{id: -1}}}
	// Build breadth-first over the sorted keys so that each node's children
	// are contiguous: group keys by their prefix of length depth.
	type span struct {
		node   int32
		lo, hi int // keys[order[lo:hi]] share the node's prefix
		depth  int
	}
	queue := []span{{node: 0, lo: 0, hi: len(order), depth: 0}}
	for len(queue) > 0 {
		sp := queue[0]
		queue = queue[1:]
		lo := sp.lo
		// Keys that end exactly here come first in sorted order.
		for lo < sp.hi && len(keys[order[lo]]) == sp.depth {
			t.nodes[sp.node].id = ids[order[lo]]
			lo++
		}
		first := int32(len(t.labels))
		for lo < sp.hi {
			c := keys[order[lo]][sp.depth]
			hi := lo
			for hi < sp.hi && keys[order[hi]][sp.depth] == c {
				hi++
			}
			child := int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{id: -1})
			t.labels = append(t.labels, c)
			t.targets = append(t.targets, child)
			if sp.node == 0 {
				t.root[c] = child
			}
			queue = append(queue, span{node: child, lo: lo, hi: hi, depth: sp.depth + 1})
			lo = hi
		}
		t.nodes[sp.node].first = first
		t.nodes[sp.node].count = int32(len(t.labels)) - first
	}
	return t
}

// child returns the node reached from node by byte c, or 0 for none.
func (t *byteTrie) child(node int32, c byte) int32 {
	if node == 0 {
		return t.root[c]
	}
	n := &t.nodes[node]
	labels := t.labels[n.first : n.first+n.count]
	// Children lists are short except near the root; search them linearly
	// below a handful, by halves above.
	if len(labels) <= 8 {
		for i, l := range labels {
			if l == c {
				return t.targets[int(n.first)+i]
			}
		}
		return 0
	}
	lo, hi := 0, len(labels)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if labels[m] < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(labels) && labels[lo] == c {
		return t.targets[int(n.first)+lo]
	}
	return 0
}

// prefixes calls fn(id, length) for each key that is a prefix of s, shortest
// first.
func (t *byteTrie) prefixes(s string, fn func(id int32, n int)) {
	node := int32(0)
	for i := 0; i < len(s); i++ {
		node = t.child(node, s[i])
		if node == 0 {
			return
		}
		if id := t.nodes[node].id; id >= 0 {
			fn(id, i+1)
		}
	}
}
