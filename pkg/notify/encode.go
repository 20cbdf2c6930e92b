package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// DefaultMaxBytes is the largest message value a Publisher sends unless told otherwise:
// notifierd's default events.maxBytes, above which the daemon dead-letters an event.
const DefaultMaxBytes = 64 << 10

// ReasonTooLarge marks an event whose JSON is over the size bound; the daemon dead-letters
// such a message with the same code.
const ReasonTooLarge = "too_large"

// Encode validates ev at now and returns its Kafka message key, the session id (from
// sessionId, or else the targetCookie's live session entry), and its value, the event as
// contract JSON. It is what Publish sends, for producers that use another Kafka client.
func Encode(ev *Event, now time.Time, lim Limits) (key, value []byte, err error) {
	if err := ev.Validate(now, lim); err != nil {
		return nil, nil, err
	}
	// Validate passes json.RawMessage fields on their first byte only; Marshal would reject
	// the rest with an error naming no field.
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"order", ev.Order}, {"product", ev.Product}, {"context", ev.Context}, {"analytics", ev.Analytics}} {
		if len(f.raw) > 0 && !json.Valid(f.raw) {
			return nil, nil, &ValidationError{Field: f.name, Reason: ReasonBadValue, Detail: "is not valid JSON"}
		}
	}
	session := ev.Identity(now).SessionID
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep URLs and parameters as the producer wrote them
	if err := enc.Encode(ev); err != nil {
		return nil, nil, fmt.Errorf("encoding event %q as JSON: %w", ev.ID, err)
	}
	return []byte(session), bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
