package model

import "testing"

// Values of transformers' T5Attention._relative_position_bucket formula
// (computed independently in Python) with 32 buckets and max distance 128,
// the FLAN-T5 setting.
func TestRelativeBucket(t *testing.T) {
	cases := []struct {
		rel           int
		bidirectional bool
		want          int
	}{
		{0, true, 0}, {1, true, 17}, {-1, true, 1}, {7, true, 23}, {-7, true, 7},
		{8, true, 24}, {-8, true, 8}, {12, true, 25}, {-20, true, 10}, {-127, true, 15}, {500, true, 31},
		{0, false, 0}, {5, false, 0}, {-1, false, 1}, {-15, false, 15}, {-16, false, 16},
		{-32, false, 21}, {-64, false, 26}, {-100, false, 30}, {-128, false, 31}, {-5000, false, 31},
	}
	for _, c := range cases {
		if got := RelativeBucket(c.rel, c.bidirectional, 32, 128); got != c.want {
			t.Errorf("RelativeBucket(%d, %v) = %d, want %d", c.rel, c.bidirectional, got, c.want)
		}
	}
}

func TestBucketTableIsCentred(t *testing.T) {
	table := BucketTable(5, true, 32, 128)
	if len(table) != 9 || table[4] != 0 || table[5] != 17 || table[3] != 1 {
		t.Errorf("table %v: want 9 entries centred on relative position 0", table)
	}
}
