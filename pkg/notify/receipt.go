package notify

import (
	"encoding/json"
	"errors"
	"fmt"
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
	Status       int    `json:"status,omitempty"`   // HTTP status of Target's answer (200 when acknowledged)
	Attempts     int    `json:"attempts,omitempty"` // requests the event's batch took
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

// EncodeReceipt is the record value of r.
func EncodeReceipt(r Receipt) ([]byte, error) { return json.Marshal(r) }
