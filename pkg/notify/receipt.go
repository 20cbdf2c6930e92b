package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Receipt outcomes.
const (
	OutcomeAcknowledged = "acknowledged"  // Target acknowledged the notification
	OutcomeDeadLettered = "dead_lettered" // the dead-letter topic holds the event, with Reason
)

// Receipt is one record of the receipts topic (kafka.receiptsTopic): the outcome of one
// event, written after Target's acknowledgement or the dead-letter write and before the
// commit that passes its offset. It is keyed like the event (its sessionId), so a session's
// receipts keep their order; it is at least once, like the delivery it reports.
type Receipt struct {
	ID      string        `json:"id"`     // the notification id (empty for an event too broken to read one)
	Source  ReceiptSource `json:"source"` // where the event was read
	Outcome string        `json:"outcome"`
	Reason  string        `json:"reason,omitempty"` // for dead letters: the dead-letter reason

	// From Target's response; empty for dead letters.
	RequestID string `json:"requestId,omitempty"` // to quote to Adobe support
	EdgeHost  string `json:"edgeHost,omitempty"`  // sets the visitor's mboxEdgeCluster cookie
	TntID     string `json:"tntId,omitempty"`     // Target's id.tntId for the visitor

	LocationHint string `json:"locationHint,omitempty"` // the edge cluster the request went to, when known
	Client       string `json:"client,omitempty"`
	SessionID    string `json:"sessionId,omitempty"`
	Status       int    `json:"status,omitempty"`    // HTTP status of Target's answer (200 when acknowledged)
	Attempts     int    `json:"attempts,omitempty"`  // requests the event's batch took
	EventTime    int64  `json:"eventTime,omitempty"` // the event's timestamp, ms since epoch
	AckTime      int64  `json:"ackTime"`             // when the outcome was reached, ms since epoch
}

// ReceiptSource is the event's position in the events topic.
type ReceiptSource struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

// DecodeReceipt reads one receipts-topic record value. Unknown fields are ignored, so a
// consumer keeps working when later versions add some.
func DecodeReceipt(value []byte) (Receipt, error) {
	var r Receipt
	if err := json.Unmarshal(value, &r); err != nil {
		return Receipt{}, fmt.Errorf("receipt: %w", err)
	}
	switch r.Outcome {
	case OutcomeAcknowledged, OutcomeDeadLettered:
	case "":
		return Receipt{}, errors.New("receipt: no outcome")
	default:
		return Receipt{}, fmt.Errorf("receipt: unknown outcome %q", r.Outcome)
	}
	if r.Source.Topic == "" {
		return Receipt{}, errors.New("receipt: no source topic")
	}
	return r, nil
}

// EncodeReceipt is the record value of r: the JSON of Receipt's tags, written by hand
// because encoding/json's reflection was 7 % of the daemon's CPU with receipts on.
func EncodeReceipt(r Receipt) ([]byte, error) { return AppendReceipt(make([]byte, 0, 512), r), nil }

// AppendReceipt appends the record value of r to b.
func AppendReceipt(b []byte, r Receipt) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"source":{"topic":`...)
	b = appendJSONString(b, r.Source.Topic)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(r.Source.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Source.Offset, 10)
	b = append(b, `},"outcome":`...)
	b = appendJSONString(b, r.Outcome)
	for _, f := range [...]struct{ name, value string }{
		{"reason", r.Reason}, {"requestId", r.RequestID}, {"edgeHost", r.EdgeHost}, {"tntId", r.TntID},
		{"locationHint", r.LocationHint}, {"client", r.Client}, {"sessionId", r.SessionID},
	} {
		if f.value != "" { // omitempty
			b = append(b, ',', '"')
			b = append(b, f.name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, f.value)
		}
	}
	for _, f := range [...]struct {
		name  string
		value int64
	}{{"status", int64(r.Status)}, {"attempts", int64(r.Attempts)}, {"eventTime", r.EventTime}} {
		if f.value != 0 { // omitempty
			b = append(b, ',', '"')
			b = append(b, f.name...)
			b = append(b, '"', ':')
			b = strconv.AppendInt(b, f.value, 10)
		}
	}
	b = append(b, `,"ackTime":`...)
	b = strconv.AppendInt(b, r.AckTime, 10)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, as encoding/json does without HTML escaping:
// quotes, backslashes, control characters, U+2028 and U+2029 escaped, invalid UTF-8 replaced
// by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b = append(b, `\ufffd`...)
			case r == '\u2028' || r == '\u2029': // as encoding/json: JSONP-safe
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			default:
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
