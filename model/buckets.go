package model

import "math"

// RelativeBucket is T5's relative position bucket of rel = key position -
// query position, as transformers' T5Attention._relative_position_bucket
// computes it: exact buckets for small distances, logarithmic ones up to
// maxDistance, and half the buckets per direction when bidirectional (the
// encoder). The logarithm is taken in float32, as torch does, so that
// boundary cases round the same way.
func RelativeBucket(rel int, bidirectional bool, numBuckets, maxDistance int) int {
	bucket := 0
	if bidirectional {
		numBuckets /= 2
		if rel > 0 {
			bucket += numBuckets
		}
		if rel < 0 {
			rel = -rel
		}
	} else {
		rel = -min(rel, 0)
	}
	maxExact := numBuckets / 2
	if rel < maxExact {
		return bucket + rel
	}
	ratio := float32(rel) / float32(maxExact)
	scaled := float32(math.Log(float64(ratio))) / float32(math.Log(float64(maxDistance)/float64(maxExact))) *
		float32(numBuckets-maxExact)
	large := maxExact + int(scaled)
	return bucket + min(large, numBuckets-1)
}

// BucketTable returns the buckets of relative positions -(n-1)..(n-1) for
// sequences of up to n positions, centred as gpu.AttentionArgs.Buckets
// expects: entry rel+n-1 is RelativeBucket(rel).
func BucketTable(n int, bidirectional bool, numBuckets, maxDistance int) []uint32 {
	out := make([]uint32, 2*n-1)
	for i := range out {
		out[i] = uint32(RelativeBucket(i-(n-1), bidirectional, numBuckets, maxDistance))
	}
	return out
}
