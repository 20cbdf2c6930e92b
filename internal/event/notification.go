package event

import (
	"encoding/binary"
	"encoding/json"
	"hash/maphash"

	"github.com/notifierd/notifierd/pkg/notify"
)

// Notification is a decoded event ready to join a request.
type Notification struct {
	ID        string
	Type      string
	Timestamp int64
	Envelope  *Envelope
	Body      []byte // the rendered element of the request's notifications array
}

// Envelope is everything of a request outside its notifications array, plus its route.
// Notifications batch together only when their envelopes are equal.
type Envelope struct {
	Client        string
	SessionID     string
	TntID         string
	ThirdPartyID  string
	MCID          string
	CustomerIDs   []notify.CustomerID
	PropertyToken string
	Context       json.RawMessage
	Analytics     json.RawMessage
	Hint          string // location hint known from the event itself
	key           EnvelopeKey
}

// EnvelopeKey identifies an envelope: equal keys mean equal requests apart from
// notifications.
type EnvelopeKey [16]byte

// Key identifies the envelope.
func (e *Envelope) Key() EnvelopeKey { return e.key }

// VisitorKey names the visitor for edge-host learning.
func (e *Envelope) VisitorKey() string {
	switch {
	case e.TntID != "":
		return "tnt:" + e.TntID
	case e.ThirdPartyID != "":
		return "3p:" + e.ThirdPartyID
	default:
		return "mcid:" + e.MCID
	}
}

// computeKey hashes every field that makes the request differ into 128 bits: a copy of the
// fields (the context alone can be hundreds of bytes) would be held by every buffered event.
// The seeds are random per process, so producers cannot aim at a collision, and two distinct
// envelopes share a key with probability about 2^-128.
func (e *Envelope) computeKey() EnvelopeKey {
	var stack [512]byte
	// The fields are laid out once, each after its length so that no two layouts are equal
	// (a field may hold any byte), then hashed twice in bulk.
	b := stack[:0]
	for _, v := range []string{e.Client, e.SessionID, e.TntID, e.ThirdPartyID, e.MCID, e.Hint, e.PropertyToken} {
		b = appendField(b, v)
	}
	b = appendField(b, e.Context)
	b = appendField(b, e.Analytics)
	b = binary.AppendUvarint(b, uint64(len(e.CustomerIDs)))
	for _, c := range e.CustomerIDs {
		b = appendField(b, c.ID)
		b = appendField(b, c.IntegrationCode)
		b = appendField(b, c.AuthenticatedState)
	}
	var key EnvelopeKey
	binary.LittleEndian.PutUint64(key[:8], maphash.Bytes(keySeeds[0], b))
	binary.LittleEndian.PutUint64(key[8:], maphash.Bytes(keySeeds[1], b))
	return key
}

func appendField[T string | json.RawMessage](b []byte, v T) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// keySeeds are fixed for the life of the process; keys are never stored or compared across
// processes.
var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
