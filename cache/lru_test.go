package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// val is a test Value that counts its Close calls.
type val struct {
	name   string
	size   int64
	closes atomic.Int32
}

func (v *val) Bytes() int64 { return v.size }
func (v *val) Close()       { v.closes.Add(1) }

func newVal(name string, size int64) *val { return &val{name: name, size: size} }

// keysForTest lists the keys from the most to the least recently used,
// checking the list against the map and the byte total on the way.
func (c *LRU[V]) keysForTest(t *testing.T) []string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	var bytes int64
	for e := c.root.next; e != nil && e != &c.root; e = e.next {
		if c.items[e.key] != e {
			t.Fatalf("list entry %q is not the map's", e.key)
		}
		if e.next.prev != e {
			t.Fatalf("list broken after %q", e.key)
		}
		keys = append(keys, e.key)
		bytes += e.size
	}
	if len(keys) != len(c.items) || bytes != c.bytes {
		t.Fatalf("list has %d entries of %d bytes, map %d entries, total %d bytes", len(keys), bytes, len(c.items), c.bytes)
	}
	return keys
}

func wantKeys[V Value](t *testing.T, c *LRU[V], want ...string) {
	t.Helper()
	if got := c.keysForTest(t); !slices.Equal(got, want) {
		t.Fatalf("keys (most recent first) = %q, want %q", got, want)
	}
}

func wantCloses(t *testing.T, want int32, vs ...*val) {
	t.Helper()
	for _, v := range vs {
		if n := v.closes.Load(); n != want {
			t.Errorf("%s closed %d times, want %d", v.name, n, want)
		}
	}
}

func wantStats[V Value](t *testing.T, c *LRU[V], want LRUStats) {
	t.Helper()
	if got := c.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func TestLRUEvictionOrder(t *testing.T) {
	c := NewLRU[*val](10)
	a, b, d, e := newVal("a", 4), newVal("b", 4), newVal("d", 4), newVal("e", 2)
	c.Put("a", a)
	c.Put("b", b)
	wantKeys(t, c, "b", "a")
	if v, ok := c.Get("a"); !ok || v != a {
		t.Fatalf("Get(a) = %v, %v", v, ok)
	}
	wantKeys(t, c, "a", "b")
	c.Put("d", d) // 12 bytes: b, the least recently used, goes
	wantKeys(t, c, "d", "a")
	wantCloses(t, 1, b)
	wantCloses(t, 0, a, d)
	c.Put("e", e) // 10 bytes: fits
	wantKeys(t, c, "e", "d", "a")
	wantCloses(t, 0, a, d, e)
	if _, ok := c.Get("b"); ok {
		t.Fatal("evicted b still found")
	}
	wantStats(t, c, LRUStats{Hits: 1, Misses: 1, Evictions: 1, Entries: 3, Bytes: 10, Budget: 10})
}

func TestLRUEvictsSeveral(t *testing.T) {
	c := NewLRU[*val](10)
	vs := []*val{newVal("a", 3), newVal("b", 3), newVal("c", 3)}
	for _, v := range vs {
		c.Put(v.name, v)
	}
	big := newVal("big", 8) // needs all three gone
	c.Put("big", big)
	wantKeys(t, c, "big")
	wantCloses(t, 1, vs...)
	wantCloses(t, 0, big)
	wantStats(t, c, LRUStats{Evictions: 3, Entries: 1, Bytes: 8, Budget: 10})
}

func TestLRUReplace(t *testing.T) {
	c := NewLRU[*val](10)
	v1, v2, other := newVal("v1", 4), newVal("v2", 6), newVal("other", 1)
	c.Put("k", v1)
	c.Put("o", other)
	c.Put("k", v2)
	wantCloses(t, 1, v1)
	wantCloses(t, 0, v2, other)
	wantKeys(t, c, "k", "o")
	wantStats(t, c, LRUStats{Entries: 2, Bytes: 7, Budget: 10})
	if v, _ := c.Get("k"); v != v2 {
		t.Fatalf("Get(k) = %v, want v2", v.name)
	}

	// Putting the value already there re-measures it and closes nothing.
	c.Put("o", other)
	wantKeys(t, c, "o", "k")
	v2.size = 9 // grown in place: now 10 bytes in all
	c.Put("k", v2)
	wantCloses(t, 0, v2, other)
	wantStats(t, c, LRUStats{Hits: 1, Entries: 2, Bytes: 10, Budget: 10})
	v2.size = 10 // grown again: "o" must go
	c.Put("k", v2)
	wantKeys(t, c, "k")
	wantCloses(t, 0, v2)
	wantCloses(t, 1, other)
	wantStats(t, c, LRUStats{Hits: 1, Evictions: 1, Entries: 1, Bytes: 10, Budget: 10})
}

func TestLRUOversize(t *testing.T) {
	c := NewLRU[*val](10)
	small, huge := newVal("small", 5), newVal("huge", 11)
	c.Put("s", small)
	c.Put("h", huge)
	wantCloses(t, 1, huge)
	wantCloses(t, 0, small)
	wantKeys(t, c, "s")
	wantStats(t, c, LRUStats{Evictions: 1, Entries: 1, Bytes: 5, Budget: 10})

	// An oversize replacement closes the old value too: key ends empty.
	huge2 := newVal("huge2", 100)
	c.Put("s", huge2)
	wantCloses(t, 1, small, huge2)
	wantKeys(t, c)
	wantStats(t, c, LRUStats{Evictions: 2, Budget: 10})

	// The whole budget is not oversize.
	exact := newVal("exact", 10)
	c.Put("e", exact)
	wantKeys(t, c, "e")
	wantCloses(t, 0, exact)
}

func TestLRUZeroSizes(t *testing.T) {
	c := NewLRU[*val](0)
	z, neg, one := newVal("z", 0), newVal("neg", -5), newVal("one", 1)
	c.Put("z", z)
	c.Put("neg", neg) // counts as 0
	c.Put("one", one)
	wantKeys(t, c, "neg", "z")
	wantCloses(t, 1, one)
	wantCloses(t, 0, z, neg)
	wantStats(t, c, LRUStats{Evictions: 1, Entries: 2, Bytes: 0, Budget: 0})

	var zero LRU[*val] // the zero LRU: budget 0
	zero.Put("z", z)
	zero.Put("one", one)
	wantKeys(t, &zero, "z")
	wantCloses(t, 2, one)
}

func TestLRURemove(t *testing.T) {
	c := NewLRU[*val](10)
	a, b := newVal("a", 4), newVal("b", 5)
	c.Put("a", a)
	c.Put("b", b)
	v, ok := c.Remove("a")
	if !ok || v != a {
		t.Fatalf("Remove(a) = %v, %v", v, ok)
	}
	wantCloses(t, 0, a, b)
	wantKeys(t, c, "b")
	if v, ok := c.Remove("a"); ok || v != nil {
		t.Fatalf("second Remove(a) = %v, %v", v, ok)
	}
	wantStats(t, c, LRUStats{Entries: 1, Bytes: 5, Budget: 10})
	// Taken out, used, put back: the usual way to hold a value a while.
	c.Put("a", a)
	wantKeys(t, c, "a", "b")
	wantCloses(t, 0, a, b)
}

func TestLRUSetBudget(t *testing.T) {
	c := NewLRU[*val](100)
	vs := []*val{newVal("a", 10), newVal("b", 20), newVal("c", 30), newVal("d", 40)}
	for _, v := range vs {
		c.Put(v.name, v)
	}
	c.Get("a") // order now a, d, c, b
	c.SetBudget(80)
	wantKeys(t, c, "a", "d", "c") // b goes: 100 > 80
	wantCloses(t, 1, vs[1])
	c.SetBudget(45)
	wantKeys(t, c, "a") // c, then d
	wantCloses(t, 1, vs[2], vs[3])
	wantCloses(t, 0, vs[0])
	wantStats(t, c, LRUStats{Hits: 1, Evictions: 3, Entries: 1, Bytes: 10, Budget: 45})
	c.SetBudget(1000) // growing evicts nothing
	wantKeys(t, c, "a")
	c.SetBudget(-1) // counts as 0
	wantKeys(t, c)
	wantCloses(t, 1, vs...)
	wantStats(t, c, LRUStats{Hits: 1, Evictions: 4, Budget: 0})
}

func TestLRUClear(t *testing.T) {
	c := NewLRU[*val](100)
	vs := []*val{newVal("a", 10), newVal("b", 20)}
	for _, v := range vs {
		c.Put(v.name, v)
	}
	c.Get("a")
	c.Get("x")
	c.Clear()
	wantCloses(t, 1, vs...)
	wantKeys(t, c)
	wantStats(t, c, LRUStats{Hits: 1, Misses: 1, Budget: 100})
	c.Put("a", vs[0]) // usable after Clear
	wantKeys(t, c, "a")
	var zero LRU[*val]
	zero.Clear()
	wantStats(t, &zero, LRUStats{})
}

// reentrant is a Value whose Close uses the LRU that closes it: it would
// deadlock if Close were called with the lock held.
type reentrant struct {
	c      *LRU[*reentrant]
	size   int64
	closed bool
	seen   LRUStats
}

func (r *reentrant) Bytes() int64 { return r.size }
func (r *reentrant) Close() {
	r.closed = true
	r.seen = r.c.Stats()
	r.c.Get("probe")
}

func TestLRUCloseOutsideLock(t *testing.T) {
	c := NewLRU[*reentrant](10)
	a := &reentrant{c: c, size: 6}
	b := &reentrant{c: c, size: 6}
	c.Put("a", a)
	c.Put("b", b) // evicts a, whose Close calls Stats and Get
	if !a.closed || b.closed {
		t.Fatalf("closed: a %v, b %v", a.closed, b.closed)
	}
	// Close ran after the eviction was complete.
	if a.seen.Entries != 1 || a.seen.Bytes != 6 || a.seen.Evictions != 1 {
		t.Fatalf("Close saw %+v", a.seen)
	}
	c.SetBudget(0)
	c.Put("c", &reentrant{c: c, size: 1})
	c.Clear()
	if !b.closed {
		t.Fatal("b not closed by SetBudget")
	}
}

func TestSameValue(t *testing.T) {
	// A func field makes the struct itself uncomparable; its pointers
	// still compare.
	type noCompare struct {
		val
		_ func()
	}
	p, q := newVal("p", 1), newVal("q", 1)
	var nilValue Value
	tests := []struct {
		a, b Value
		want bool
	}{
		{p, p, true},
		{p, q, false},
		{nilValue, nilValue, true},
		{p, nilValue, false},
		{&noCompare{}, &noCompare{}, false}, // pointers: compared, distinct
	}
	for i, tt := range tests {
		if got := sameValue(tt.a, tt.b); got != tt.want {
			t.Errorf("%d: sameValue = %v, want %v", i, got, tt.want)
		}
	}
	// Values of a type == would panic on are never the same.
	type sliceValue struct {
		data []byte
	}
	s := sliceValue{data: []byte{1}}
	if sameValue(any(s), any(s)) {
		t.Error("sameValue of an uncomparable type = true")
	}
}

// model is the reference the fuzz test compares an LRU with: a slice of
// entries, most recently used first, and plain counters.
type model struct {
	entries []modelEntry
	budget  int64
	stats   LRUStats
	closes  map[*val]int32 // how often each value should have been closed
}

type modelEntry struct {
	key string
	v   *val
}

func (m *model) find(key string) int {
	return slices.IndexFunc(m.entries, func(e modelEntry) bool { return e.key == key })
}

func (m *model) bytes() int64 {
	var n int64
	for _, e := range m.entries {
		n += max(e.v.size, 0)
	}
	return n
}

func (m *model) get(key string) *val {
	i := m.find(key)
	if i < 0 {
		m.stats.Misses++
		return nil
	}
	m.stats.Hits++
	e := m.entries[i]
	m.entries = slices.Insert(slices.Delete(m.entries, i, i+1), 0, e)
	return e.v
}

func (m *model) put(key string, v *val) {
	if i := m.find(key); i >= 0 {
		if old := m.entries[i].v; old != v {
			m.closes[old]++
		}
		m.entries = slices.Delete(m.entries, i, i+1)
	}
	if v.size > m.budget {
		m.closes[v]++
		m.stats.Evictions++
		return
	}
	m.entries = slices.Insert(m.entries, 0, modelEntry{key, v})
	m.evict()
}

func (m *model) evict() {
	for m.bytes() > m.budget {
		last := m.entries[len(m.entries)-1]
		m.entries = m.entries[:len(m.entries)-1]
		m.closes[last.v]++
		m.stats.Evictions++
	}
}

func (m *model) remove(key string) *val {
	i := m.find(key)
	if i < 0 {
		return nil
	}
	v := m.entries[i].v
	m.entries = slices.Delete(m.entries, i, i+1)
	return v
}

func (m *model) clear() {
	for _, e := range m.entries {
		m.closes[e.v]++
	}
	m.entries = nil
}

func (m *model) wantStats() LRUStats {
	s := m.stats
	s.Entries, s.Bytes, s.Budget = len(m.entries), m.bytes(), m.budget
	return s
}

// FuzzLRU runs random operations on an LRU and on the model, and checks
// after each that they agree on results, order, statistics and which
// values have been closed how often.
func FuzzLRU(f *testing.F) {
	f.Add(byte(10), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add(byte(0), []byte{8, 0, 8, 1, 2, 9, 3, 3, 3, 40, 41, 42, 43, 44})
	f.Add(byte(100), []byte("put get remove setbudget clear: the quick brown fox jumps over the lazy dog"))
	f.Add(byte(30), []byte{24, 25, 26, 27, 28, 1, 9, 17, 3, 11, 19, 4, 12, 20, 5, 13, 21, 6, 14, 22, 7, 15, 23})
	f.Fuzz(func(t *testing.T, budget byte, ops []byte) {
		c := NewLRU[*val](int64(budget))
		m := &model{budget: int64(budget), closes: map[*val]int32{}}
		var all []*val
		held := map[*val]bool{} // values taken out with Remove: the test owns them
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			key := fmt.Sprintf("k%d", op/8%6)
			switch op % 8 {
			case 0, 1, 2: // Get
				v, ok := c.Get(key)
				w := m.get(key)
				if ok != (w != nil) || ok && v != w {
					t.Fatalf("op %d: Get(%s) = %v, %v; model has %v", i/2, key, v, ok, w)
				}
			case 3, 4: // Put a new value
				v := newVal(fmt.Sprintf("v%d", len(all)), int64(arg%64)-4)
				all = append(all, v)
				c.Put(key, v)
				m.put(key, v)
			case 5: // Put a value again under its key, perhaps resized, or one taken out
				var v *val
				if len(m.entries) > 0 {
					e := m.entries[int(arg)%len(m.entries)]
					key, v = e.key, e.v
					if arg&1 == 1 {
						v.size = int64(arg % 40)
					}
				} else {
					for h := range held {
						v = h
						break
					}
				}
				if v == nil {
					continue
				}
				delete(held, v)
				c.Put(key, v)
				m.put(key, v)
			case 6: // Remove
				v, ok := c.Remove(key)
				w := m.remove(key)
				if ok != (w != nil) || ok && v != w {
					t.Fatalf("op %d: Remove(%s) = %v, %v; model has %v", i/2, key, v, ok, w)
				}
				if ok {
					held[v] = true
				}
			case 7: // SetBudget, now and then Clear
				if arg == 255 {
					c.Clear()
					m.clear()
				} else {
					c.SetBudget(int64(arg) - 10)
					m.budget = max(int64(arg)-10, 0)
					m.evict()
				}
			}
			var want []string
			for _, e := range m.entries {
				want = append(want, e.key)
			}
			if got := c.keysForTest(t); !slices.Equal(got, want) {
				t.Fatalf("op %d: keys %q, model %q", i/2, got, want)
			}
			if got, w := c.Stats(), m.wantStats(); got != w {
				t.Fatalf("op %d: Stats = %+v, model %+v", i/2, got, w)
			}
			for _, v := range all {
				if got := v.closes.Load(); got != m.closes[v] {
					t.Fatalf("op %d: %s closed %d times, model %d", i/2, v.name, got, m.closes[v])
				}
			}
		}
	})
}

// TestLRUConcurrent hammers one LRU from several goroutines (run with
// -race): every value ends closed exactly once, by the LRU or, after
// Remove, by the test; the budget holds whenever anyone looks; and every
// Get is counted.
func TestLRUConcurrent(t *testing.T) {
	c := NewLRU[*val](1000)
	const workers, ops = 8, 2000
	var (
		mu  sync.Mutex
		all []*val
	)
	var gets atomic.Uint64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range ops {
				key := fmt.Sprintf("k%d", r.IntN(40))
				switch r.IntN(10) {
				case 0, 1, 2, 3:
					gets.Add(1)
					c.Get(key)
				case 4, 5, 6:
					v := newVal(fmt.Sprintf("w%d-%d", w, i), int64(r.IntN(120)))
					mu.Lock()
					all = append(all, v)
					mu.Unlock()
					c.Put(key, v)
				case 7:
					if v, ok := c.Remove(key); ok {
						v.Close() // the caller owns it now
					}
				case 8:
					if r.IntN(20) == 0 {
						c.SetBudget(int64(200 + r.IntN(1000)))
					}
				case 9:
					s := c.Stats()
					if s.Bytes > s.Budget || s.Bytes < 0 || s.Entries > 40 {
						t.Errorf("Stats = %+v", s)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	s := c.Stats()
	if s.Hits+s.Misses != gets.Load() {
		t.Errorf("hits %d + misses %d != %d Gets", s.Hits, s.Misses, gets.Load())
	}
	c.Clear()
	for _, v := range all {
		if n := v.closes.Load(); n != 1 {
			t.Fatalf("%s (size %d) closed %d times, want 1", v.name, v.size, n)
		}
	}
}
