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
		e, c, err := s.encoded(j.prompt.IDs)
		if err != nil {
			return nil, nil, err
		}
		encs[i], cached[i] = e, c
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

// encoded returns the encoder output of a prompt, from the cache where it
// can (else encoded and cached), with a reference for the caller to close.
func (s *Service) encoded(ids []int) (*model.Encoded, Cached, error) {
	key := idsKey(ids)
	if e, ok := s.encoders.Get(key); ok {
		e.Retain()
		return e, CachedEncoder, nil
	}
	e, err := s.m.Encode([][]int{ids})
	if err != nil {
		return nil, CachedNone, err
	}
	s.mu.Lock()
	s.encodes++
	s.mu.Unlock()
	e.Retain() // one reference for the cache, one for the caller
	s.encoders.Put(key, e)
	return e, CachedNone, nil
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
