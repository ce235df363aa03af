package cache

import (
	"reflect"
	"sync"
)

// Value is what an LRU holds: it knows its size and releases its resources
// on Close.
type Value interface {
	// Bytes returns the value's size in bytes; it must not change while an
	// LRU holds the value. A negative size counts as 0.
	Bytes() int64
	// Close releases the value's resources. An LRU calls it once for each
	// value it evicts, replaces, refuses or clears, never for one taken out
	// with Remove.
	Close()
}

// LRU is a cache of values under string keys that keeps the total of their
// sizes (Value.Bytes) within a byte budget by evicting the least recently
// used entries, and counts hits, misses and evictions for the daemon's
// statistics. It holds the encoder outputs (keyed by the input token ids)
// and the stored decoder states.
//
// An LRU is safe for concurrent use. It owns the values it holds: a value
// leaves it either closed (evicted by Put or SetBudget, replaced by Put
// under the same key, refused by Put as larger than the budget, or dropped
// by Clear) or through Remove, which hands it to the caller unclosed. Close
// is called after the LRU's lock is released, on the goroutine of the call
// that removed the value and before that call returns, so a slow Close
// (one that waits for the GPU) holds up no one else, and Close may itself
// use the LRU.
//
// A value returned by Get stays in the cache and may be closed by another
// goroutine's Put, SetBudget or Clear while the caller still uses it. A
// caller that needs a value for longer than the cache's other users leave
// it alone takes it out with Remove and Puts it back when done.
//
// The zero LRU has a budget of 0: it keeps only values of size 0. Use
// NewLRU.
type LRU[V Value] struct {
	mu sync.Mutex
	// Guarded by mu:
	items map[string]*lruEntry[V]
	// root is the sentinel of a circular list of the entries, the most
	// recently used at root.next and the least at root.prev.
	root                    lruEntry[V]
	bytes, budget           int64
	hits, misses, evictions uint64
}

type lruEntry[V Value] struct {
	key        string
	v          V
	size       int64
	prev, next *lruEntry[V]
}

// LRUStats is a consistent snapshot of an LRU's counters.
type LRUStats struct {
	// Hits and Misses count the lookups by Get that found an entry and that
	// did not.
	Hits, Misses uint64
	// Evictions counts the values closed to stay within the budget: by Put
	// (including a value refused as larger than the whole budget) and by
	// SetBudget. Replacements, Remove and Clear are not evictions.
	Evictions uint64
	// Entries is the number of values held.
	Entries int
	// Bytes is the total size of the values held, never more than Budget.
	Bytes int64
	// Budget is the byte budget.
	Budget int64
}

// NewLRU returns an empty LRU that holds at most budget bytes (a negative
// budget counts as 0).
func NewLRU[V Value](budget int64) *LRU[V] {
	c := &LRU[V]{}
	c.mu.Lock()
	c.initLocked()
	c.budget = max(budget, 0)
	c.mu.Unlock()
	return c
}

func (c *LRU[V]) initLocked() {
	if c.items == nil {
		c.items = map[string]*lruEntry[V]{}
		c.root.next, c.root.prev = &c.root, &c.root
	}
}

// Get returns the value under key and marks it the most recently used,
// counting a hit; or the zero V and false, counting a miss.
func (c *LRU[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		c.misses++
		var zero V
		return zero, false
	}
	c.hits++
	c.moveToFrontLocked(e)
	return e.v, true
}

// Put stores v under key as the most recently used entry. A value already
// under key is replaced and closed, unless it is v itself (the same
// comparable value), which is only re-measured and marked used. Then the
// least recently used entries are evicted and closed until the total size
// is within the budget. A value larger than the whole budget is not kept:
// it is closed at once (an eviction), and key is left empty.
func (c *LRU[V]) Put(key string, v V) {
	size := max(v.Bytes(), 0)
	var closing []V
	c.mu.Lock()
	c.initLocked()
	if old, ok := c.items[key]; ok {
		c.removeLocked(old)
		if !sameValue(old.v, v) {
			closing = append(closing, old.v)
		}
	}
	if size > c.budget {
		c.evictions++
		closing = append(closing, v)
	} else {
		e := &lruEntry[V]{key: key, v: v, size: size}
		c.items[key] = e
		c.bytes += size
		c.insertFrontLocked(e)
		closing = c.evictLocked(closing)
	}
	c.mu.Unlock()
	closeAll(closing)
}

// Remove takes the value under key out of the cache without closing it:
// the caller owns it from then on. It reports false when there is none.
// Hit and miss counts are not changed.
func (c *LRU[V]) Remove(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.removeLocked(e)
	return e.v, true
}

// SetBudget changes the byte budget (a negative one counts as 0), evicting
// and closing the least recently used entries at once until the values
// held fit. The daemon shrinks the budget when the GPU runs out of memory.
func (c *LRU[V]) SetBudget(b int64) {
	c.mu.Lock()
	c.initLocked()
	c.budget = max(b, 0)
	closing := c.evictLocked(nil)
	c.mu.Unlock()
	closeAll(closing)
}

// Clear closes and drops every value. The budget and the counters stay.
func (c *LRU[V]) Clear() {
	c.mu.Lock()
	var closing []V
	for e := c.root.prev; e != nil && e != &c.root; e = e.prev {
		closing = append(closing, e.v)
	}
	c.items = nil
	c.root = lruEntry[V]{}
	c.bytes = 0
	c.initLocked()
	c.mu.Unlock()
	closeAll(closing)
}

// Stats returns the counters, the number of entries, their total size and
// the budget, all taken at one moment.
func (c *LRU[V]) Stats() LRUStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return LRUStats{
		Hits: c.hits, Misses: c.misses, Evictions: c.evictions,
		Entries: len(c.items), Bytes: c.bytes, Budget: c.budget,
	}
}

// evictLocked removes least recently used entries until the values held
// fit the budget, appending them to closing.
func (c *LRU[V]) evictLocked(closing []V) []V {
	for c.bytes > c.budget && c.root.prev != &c.root {
		e := c.root.prev
		c.removeLocked(e)
		c.evictions++
		closing = append(closing, e.v)
	}
	return closing
}

func (c *LRU[V]) removeLocked(e *lruEntry[V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.items, e.key)
	c.bytes -= e.size
}

func (c *LRU[V]) insertFrontLocked(e *lruEntry[V]) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

func (c *LRU[V]) moveToFrontLocked(e *lruEntry[V]) {
	if c.root.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	c.insertFrontLocked(e)
}

func closeAll[V Value](vs []V) {
	for _, v := range vs {
		v.Close()
	}
}

// sameValue reports whether a and b are the same value: equal under ==
// where their dynamic types allow comparing (pointers, the usual case),
// and never otherwise, so that comparing cannot panic.
func sameValue[V any](a, b V) bool {
	x, y := any(a), any(b)
	if x == nil || y == nil {
		return x == y
	}
	if reflect.TypeOf(x) != reflect.TypeOf(y) || !reflect.ValueOf(x).Comparable() {
		return false
	}
	return x == y
}
