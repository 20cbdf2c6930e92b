package event

import (
	"encoding/json"
	"strings"

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

func (e *Envelope) computeKey() string {
	var b strings.Builder
	for _, part := range []string{e.Client, e.SessionID, e.TntID, e.ThirdPartyID, e.MCID, e.Hint, e.PropertyToken} {
		b.WriteString(part)
		b.WriteByte(0)
	}
	for _, c := range e.CustomerIDs {
		for _, part := range []string{c.ID, c.IntegrationCode, c.AuthenticatedState} {
			b.WriteString(part)
			b.WriteByte(1)
		}
	}
	b.WriteByte(0)
	b.Write(e.Context)
	b.WriteByte(0)
	b.Write(e.Analytics)
	return b.String()
}
