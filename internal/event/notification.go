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
	if len(e.CustomerIDs) > 0 {
		ids, _ := json.Marshal(e.CustomerIDs) // plain strings: cannot fail
		b.Write(ids)
	}
	b.WriteByte(0)
	b.Write(e.Context)
	b.WriteByte(0)
	b.Write(e.Analytics)
	return b.String()
}

type wireNotification struct {
	ID                string            `json:"id"`
	Type              string            `json:"type"`
	Timestamp         int64             `json:"timestamp"`
	ImpressionID      string            `json:"impressionId,omitempty"`
	Tokens            []string          `json:"tokens"`
	Mbox              *notify.Mbox      `json:"mbox,omitempty"`
	View              *notify.View      `json:"view,omitempty"`
	PageLoad          *notify.PageLoad  `json:"pageLoad,omitempty"`
	Address           *notify.Address   `json:"address,omitempty"`
	Parameters        map[string]string `json:"parameters,omitempty"`
	ProfileParameters map[string]string `json:"profileParameters,omitempty"`
	Order             json.RawMessage   `json:"order,omitempty"`
	Product           json.RawMessage   `json:"product,omitempty"`
}
