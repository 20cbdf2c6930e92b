package targetsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// The simulator checks a request one level at a time, so each object and array is split
// into its members or elements here. jsontext's decoder validates as it reads (syntax,
// UTF-8, no duplicate names: what Unmarshal into a map enforced), and the raw values are
// slices of the input rather than copies: the bench's simulator spent half its CPU in
// Unmarshal's maps and copies.

// splitter is pooled: a jsontext.Decoder and its buffers are worth reusing per object.
type splitter struct {
	src bytes.Reader
	dec jsontext.Decoder
}

var splitters = sync.Pool{New: func() any { return new(splitter) }}

func withDecoder[T any](raw []byte, read func(dec *jsontext.Decoder) (T, error)) (T, error) {
	s := splitters.Get().(*splitter)
	defer splitters.Put(s)
	s.src.Reset(raw)
	s.dec.Reset(&s.src)
	out, err := read(&s.dec)
	if err == nil {
		if _, end := s.dec.ReadToken(); end != io.EOF {
			err = errors.New("data after the value")
		}
	}
	s.src.Reset(nil) // drop the reference to raw
	return out, err
}

// splitObject returns the members of the JSON object raw, values as slices of raw.
func splitObject(raw []byte) (map[string]json.RawMessage, error) {
	return withDecoder(raw, func(dec *jsontext.Decoder) (map[string]json.RawMessage, error) {
		if tok, err := dec.ReadToken(); err != nil {
			return nil, err
		} else if tok.Kind() != '{' {
			return nil, errors.New("not an object")
		}
		m := make(map[string]json.RawMessage, 8)
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			key := name.String()
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			end := int(dec.InputOffset())
			m[key] = raw[end-len(v) : end : end]
		}
		_, err := dec.ReadToken()
		return m, err
	})
}

// splitArray returns the elements of the JSON array raw, as slices of raw.
func splitArray(raw []byte) ([]json.RawMessage, error) {
	return withDecoder(raw, func(dec *jsontext.Decoder) ([]json.RawMessage, error) {
		if tok, err := dec.ReadToken(); err != nil {
			return nil, err
		} else if tok.Kind() != '[' {
			return nil, errors.New("not an array")
		}
		var a []json.RawMessage
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			end := int(dec.InputOffset())
			a = append(a, raw[end-len(v):end:end])
		}
		_, err := dec.ReadToken()
		return a, err
	})
}
