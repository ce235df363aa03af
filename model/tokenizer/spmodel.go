package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// The SentencePiece ModelProto (sentencepiece_model.proto) fields nib
// reads. Decoding them by hand keeps the module free of a protobuf
// dependency for six fields; everything else is skipped by wire type.
const (
	fieldModelPieces     = 1 // repeated SentencePiece
	fieldModelTrainer    = 2 // TrainerSpec
	fieldModelNormalizer = 3 // NormalizerSpec

	fieldPiece      = 1 // string
	fieldPieceScore = 2 // float
	fieldPieceType  = 3 // Type enum

	fieldTrainerModelType = 3  // ModelType enum
	fieldTrainerUnkID     = 40 // int32

	fieldNormName          = 1 // string
	fieldNormCharsmap      = 2 // bytes
	fieldNormDummyPrefix   = 3 // bool
	fieldNormRemoveExtraWS = 4 // bool
	fieldNormEscapeWS      = 5 // bool
)

// pieceType is SentencePiece.Type.
type pieceType int

// The piece types of sentencepiece_model.proto.
const (
	pieceNormal      pieceType = 1
	pieceUnknown     pieceType = 2
	pieceControl     pieceType = 3
	pieceUserDefined pieceType = 4
	pieceUnused      pieceType = 5
	pieceByte        pieceType = 6
)

// spModel is the decoded part of a ModelProto.
type spModel struct {
	pieces    []string
	scores    []float32
	types     []pieceType
	modelType int // TrainerSpec.ModelType: 1 Unigram, 2 BPE, 3 word, 4 char
	unkID     int
	// The NormalizerSpec. transformers' T5Tokenizer ignores the three flags
	// and always behaves as if they were set (WhitespaceSplit and Metaspace
	// strip, collapse and escape whitespace and add the dummy prefix); they
	// are kept to show what the file says.
	normName                                string
	charsmap                                []byte
	addDummyPrefix, removeExtraWS, escapeWS bool
}

// parseSentencePiece decodes a serialised ModelProto into a spec.
func parseSentencePiece(b []byte) (spec, error) {
	m, err := parseSPModel(b)
	if err != nil {
		return spec{}, err
	}
	return m.spec()
}

// parseSPModel decodes a serialised ModelProto.
func parseSPModel(b []byte) (*spModel, error) {
	m := &spModel{modelType: 1, addDummyPrefix: true, removeExtraWS: true, escapeWS: true}
	err := walkFields(b, func(num int, wire int, v uint64, data []byte) error {
		switch {
		case num == fieldModelPieces && wire == wireBytes:
			return m.parsePiece(data)
		case num == fieldModelTrainer && wire == wireBytes:
			return walkFields(data, func(num int, wire int, v uint64, _ []byte) error {
				switch {
				case num == fieldTrainerModelType && wire == wireVarint:
					m.modelType = int(int32(v))
				case num == fieldTrainerUnkID && wire == wireVarint:
					m.unkID = int(int32(v))
				}
				return nil
			})
		case num == fieldModelNormalizer && wire == wireBytes:
			return walkFields(data, func(num int, wire int, v uint64, data []byte) error {
				switch {
				case num == fieldNormName && wire == wireBytes:
					m.normName = string(data)
				case num == fieldNormCharsmap && wire == wireBytes:
					m.charsmap = data
				case num == fieldNormDummyPrefix && wire == wireVarint:
					m.addDummyPrefix = v != 0
				case num == fieldNormRemoveExtraWS && wire == wireVarint:
					m.removeExtraWS = v != 0
				case num == fieldNormEscapeWS && wire == wireVarint:
					m.escapeWS = v != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// parsePiece decodes one SentencePiece message and appends it.
func (m *spModel) parsePiece(b []byte) error {
	i := len(m.pieces)
	piece, score, typ := "", float32(0), pieceNormal
	err := walkFields(b, func(num int, wire int, v uint64, data []byte) error {
		switch {
		case num == fieldPiece && wire == wireBytes:
			if !utf8.Valid(data) {
				return fmt.Errorf("piece %d is not valid UTF-8", i)
			}
			piece = string(data)
		case num == fieldPieceScore && wire == wireFixed32:
			score = math.Float32frombits(uint32(v))
		case num == fieldPieceType && wire == wireVarint:
			typ = pieceType(v)
			if typ < pieceNormal || typ > pieceByte {
				return fmt.Errorf("piece %d (%q) has unknown type %d", i, piece, v)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pieces[%d]: %w", i, err)
	}
	m.pieces = append(m.pieces, piece)
	m.scores = append(m.scores, score)
	m.types = append(m.types, typ)
	return nil
}

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// walkFields calls fn for each field of the protobuf message b, with the
// value of a varint or fixed field in v and the payload of a
// length-delimited one in data (a sub-slice of b).
func walkFields(b []byte, fn func(num, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("truncated field key")
		}
		b = b[n:]
		num, wire := key>>3, int(key&7)
		if num == 0 || num > 1<<29-1 {
			return fmt.Errorf("invalid field number %d", num)
		}
		var v uint64
		var data []byte
		switch wire {
		case wireVarint:
			if v, n = binary.Uvarint(b); n <= 0 {
				return fmt.Errorf("field %d: truncated varint", num)
			}
			b = b[n:]
		case wireFixed64:
			if len(b) < 8 {
				return fmt.Errorf("field %d: truncated fixed64", num)
			}
			v, b = binary.LittleEndian.Uint64(b), b[8:]
		case wireFixed32:
			if len(b) < 4 {
				return fmt.Errorf("field %d: truncated fixed32", num)
			}
			v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		case wireBytes:
			size, n := binary.Uvarint(b)
			if n <= 0 || size > uint64(len(b)-n) {
				return fmt.Errorf("field %d: length-delimited payload overruns the message", num)
			}
			data, b = b[n:n+int(size)], b[n+int(size):]
		default:
			// Groups (3, 4) are deprecated and absent from ModelProto.
			return fmt.Errorf("field %d: unsupported wire type %d", num, wire)
		}
		if err := fn(int(num), wire, v, data); err != nil {
			return err
		}
	}
	return nil
}

// spec converts a decoded ModelProto the way transformers' T5 conversion
// does: every piece with its score (float32 widened to float64), the
// control and unknown pieces (<pad>, </s>, <unk>) as special tokens, and
// 100 sentinels <extra_id_99>..<extra_id_0> with score 0 after the pieces.
func (m *spModel) spec() (spec, error) {
	if m.modelType != 1 {
		return spec{}, fmt.Errorf("trainer_spec.model_type is %d; only Unigram (1) is supported", m.modelType)
	}
	if len(m.pieces) == 0 {
		return spec{}, errors.New("no pieces")
	}
	s := spec{unk: m.unkID, charsmap: m.charsmap}
	if len(m.charsmap) == 0 {
		s.charsmap = nil
	}
	s.pieces = append(s.pieces, m.pieces...)
	for i, sc := range m.scores {
		s.scores = append(s.scores, float64(sc))
		if t := m.types[i]; t == pieceControl || t == pieceUnknown {
			s.added = append(s.added, addedToken{content: m.pieces[i], id: i, special: true})
		}
	}
	const sentinels = 100
	for n := sentinels - 1; n >= 0; n-- {
		p := "<extra_id_" + strconv.Itoa(n) + ">"
		s.added = append(s.added, addedToken{content: p, id: len(s.pieces), special: true})
		s.pieces = append(s.pieces, p)
		s.scores = append(s.scores, 0)
	}
	return s, nil
}
