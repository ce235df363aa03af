package completion

import (
	"strconv"
	"strings"

	"github.com/nib-editor/nib/model"
)

// The encoder cache: encoder outputs kept by prompt.

// decoderFor encodes the batch's prompts, from the cache where it can,
// and returns a decoder with one row per task.
func (s *Service) decoderFor(batch []*task) (*model.Decoder, []Cached, error) {
	encs := make([]*model.Encoded, len(batch))
	cached := make([]Cached, len(batch))
	defer func() {
		for _, e := range encs {
			if e != nil {
				e.Close()
			}
		}
	}()
	capacity := 0
	for i, j := range batch {
		capacity = max(capacity, 2*j.params.MaxTokens+1)
		key := idsKey(j.prompt.IDs)
		if e, ok := s.encoders.Get(key); ok {
			e.Retain()
			encs[i], cached[i] = e, CachedEncoder
			continue
		}
		e, err := s.m.Encode([][]int{j.prompt.IDs})
		if err != nil {
			return nil, nil, err
		}
		s.mu.Lock()
		s.encodes++
		s.mu.Unlock()
		e.Retain() // one reference for the cache, one for this batch
		s.encoders.Put(key, e)
		encs[i], cached[i] = e, CachedNone
	}
	enc := encs[0]
	if len(encs) > 1 {
		st, err := s.m.Stack(encs)
		if err != nil {
			return nil, nil, err
		}
		defer st.Close()
		enc = st
	}
	dec, err := s.m.NewDecoder(enc, capacity)
	if err != nil {
		return nil, nil, err
	}
	return dec, cached, nil
}

// idsKey is the cache key of a prompt.
func idsKey(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}
