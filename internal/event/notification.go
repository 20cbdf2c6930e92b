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
	key           string
}

// Key identifies the envelope: equal keys mean equal requests apart from notifications.
func (e *Envelope) Key() string { return e.key }

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
func (e *Envelope) computeKey() string {
	var h [2]maphash.Hash
	h[0].SetSeed(keySeeds[0])
	h[1].SetSeed(keySeeds[1])
	for i := range h {
		for _, part := range []string{e.Client, e.SessionID, e.TntID, e.ThirdPartyID, e.MCID, e.Hint, e.PropertyToken} {
			h[i].WriteString(part)
			h[i].WriteByte(0)
		}
		for _, c := range e.CustomerIDs {
			for _, part := range []string{c.ID, c.IntegrationCode, c.AuthenticatedState} {
				h[i].WriteString(part)
				h[i].WriteByte(1)
			}
		}
		h[i].WriteByte(0)
		h[i].Write(e.Context)
		h[i].WriteByte(0)
		h[i].Write(e.Analytics)
	}
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], h[0].Sum64())
	binary.LittleEndian.PutUint64(key[8:], h[1].Sum64())
	return string(key[:])
}

// keySeeds are fixed for the life of the process; keys are never stored or compared across
// processes.
var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
