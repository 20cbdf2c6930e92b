package delivery

import (
	"bytes"
	"io"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeAck reads the body of a 200: the edge host and the acknowledged ids; every other
// member is skipped. The reference is JSON v2's Unmarshal into ackJSON. A walk over
// jsontext's tokens (the tokenizer Unmarshal uses, so it accepts the same syntax) reads the
// usual body at a fraction of the cost; whatever the walk does not handle itself (escapes,
// nulls, members of an unexpected kind, malformed input) goes to Unmarshal, which then
// gives the result or the error. FuzzDecodeAckMatchesUnmarshal holds the two together.
func decodeAck(payload []byte) (*Response, error) {
	if out, ok := walkAck(payload); ok {
		return out, nil
	}
	return unmarshalAck(payload)
}

// ackJSON is the part of Target's 200 a sender needs.
type ackJSON struct {
	// requestId and id are kept for receipts only: raw, so that an odd type in either never
	// fails an acknowledgement, as it did not before they were read.
	RequestID     jsontext.Value `json:"requestId"`
	ID            jsontext.Value `json:"id"`
	EdgeHost      string         `json:"edgeHost"`
	Notifications []struct {
		ID string `json:"id"`
	} `json:"notifications"`
}

func unmarshalAck(payload []byte) (*Response, error) {
	var decoded ackJSON
	if err := jsonv2.Unmarshal(payload, &decoded); err != nil { // unknown members are skipped
		return nil, err
	}
	out := &Response{EdgeHost: decoded.EdgeHost, RequestID: rawString(decoded.RequestID), TntID: tntID(decoded.ID), Acked: make([]string, len(decoded.Notifications))}
	for i, n := range decoded.Notifications {
		out.Acked[i] = n.ID
	}
	return out, nil
}

// ackWalker is pooled: a jsontext.Decoder and its buffers are worth reusing per request.
type ackWalker struct {
	src bytes.Buffer // jsontext reads a *bytes.Buffer without copying
	dec jsontext.Decoder
}

var ackWalkers = sync.Pool{New: func() any { return new(ackWalker) }}

// maxPooledAck bounds the buffer a pooled walker keeps: one huge response must not pin
// its size for the life of the process.
const maxPooledAck = 64 << 10

// walkAck decodes the usual 200, or reports false for Unmarshal to decide. The strings it
// returns are slices of one copy of payload: one allocation instead of one per id.
func walkAck(payload []byte) (_ *Response, ok bool) {
	w := ackWalkers.Get().(*ackWalker)
	defer func() {
		if w.src.Cap() <= maxPooledAck {
			ackWalkers.Put(w)
		}
	}()
	w.src.Reset()
	w.src.Write(payload)
	w.dec.Reset(&w.src)

	var text string // payload as a string, made on the first string kept
	// str reads a string value without escapes and returns it as a slice of text.
	str := func() (string, bool) {
		v, err := w.dec.ReadValue()
		if err != nil || len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 {
			return "", false
		}
		if text == "" {
			text = string(payload)
		}
		end := int(w.dec.InputOffset()) - 1
		return text[end-(len(v)-2) : end], true
	}
	// name reads a member name without escapes; the bytes are valid until the next read.
	name := func() ([]byte, bool) {
		if w.dec.PeekKind() != '"' {
			return nil, false
		}
		v, err := w.dec.ReadValue()
		if err != nil || bytes.IndexByte(v, '\\') >= 0 {
			return nil, false
		}
		return v[1 : len(v)-1], true
	}
	// delim reads the delimiter kind if it comes next.
	delim := func(kind jsontext.Kind) bool {
		if w.dec.PeekKind() != kind {
			return false
		}
		_, err := w.dec.ReadToken()
		return err == nil
	}

	out := &Response{}
	if !delim('{') {
		return nil, false
	}
	for !delim('}') {
		n, ok := name()
		if !ok {
			return nil, false
		}
		switch string(n) {
		case "edgeHost":
			if out.EdgeHost, ok = str(); !ok {
				return nil, false
			}
		case "requestId":
			if out.RequestID, ok = str(); !ok {
				return nil, false
			}
		case "id": // the visitor's ids: only tntId is kept
			if !delim('{') {
				return nil, false
			}
			for !delim('}') {
				n, ok := name()
				if !ok {
					return nil, false
				}
				if string(n) == "tntId" {
					if out.TntID, ok = str(); !ok {
						return nil, false
					}
				} else if w.dec.SkipValue() != nil {
					return nil, false
				}
			}
		case "notifications":
			if !delim('[') {
				return nil, false
			}
			out.Acked = make([]string, 0, 16) // one allocation for the usual request
			for !delim(']') {
				if !delim('{') {
					return nil, false
				}
				id := "" // a notification without an id acknowledges "", as Unmarshal has it
				for !delim('}') {
					n, ok := name()
					if !ok {
						return nil, false
					}
					if string(n) == "id" {
						if id, ok = str(); !ok {
							return nil, false
						}
					} else if w.dec.SkipValue() != nil {
						return nil, false
					}
				}
				out.Acked = append(out.Acked, id)
			}
		default:
			if w.dec.SkipValue() != nil {
				return nil, false
			}
		}
	}
	if _, err := w.dec.ReadToken(); err != io.EOF {
		return nil, false // trailing data, or a truncated body
	}
	return out, true
}

// rawString is v when it is a JSON string, "" otherwise.
func rawString(v jsontext.Value) string {
	var s string
	if v.Kind() != '"' || jsonv2.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// tntID is the tntId member of v when v is an object with a string there, "" otherwise.
func tntID(v jsontext.Value) string {
	var ids map[string]jsontext.Value
	if v.Kind() != '{' || jsonv2.Unmarshal(v, &ids) != nil {
		return ""
	}
	return rawString(ids["tntId"])
}

// acknowledged answers, for each notification of a request, whether Target acknowledged it.
// Target lists its acknowledgements in the order the request listed the notifications, so
// the usual check is one comparison with the id at the same place; a set is built only when
// an answer leaves one out or lists them in another order.
type acknowledged struct {
	ids []string
	set map[string]struct{}
}

// has reports whether id, the i-th notification of the request, was acknowledged.
func (a *acknowledged) has(i int, id string) bool {
	if a.set == nil {
		if i < len(a.ids) && a.ids[i] == id {
			return true
		}
		a.set = make(map[string]struct{}, len(a.ids))
		for _, acked := range a.ids {
			a.set[acked] = struct{}{}
		}
	}
	_, ok := a.set[id]
	return ok
}
