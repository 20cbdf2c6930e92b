package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/notifierd/notifierd/pkg/notify"
)

// Reason codes of decode failures that happen before validation; the rest are notify's.
const (
	ReasonTooLarge    = notify.ReasonTooLarge // the publisher refuses the same events
	ReasonInvalidUTF8 = "invalid_utf8"
	ReasonBadJSON     = "bad_json"
)

// Error is why a message is not a valid event. Reason is a fixed code for metrics and the
// dead-letter header; Error() is the human explanation.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return "invalid event: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Source is where a message came from; it makes derived ids stable across redelivery.
type Source struct {
	Topic     string
	Partition int
	Offset    int64
	// ReplayedFrom is the dead-letter entry (topic/partition/offset) a replayed message came
	// from; it replaces the position in derived ids, so every replay of an entry has one id.
	ReplayedFrom string
}

// Decoder holds the defaults and limits applied to every event.
type Decoder struct {
	Client   string // default client code
	Channel  string // default context.channel
	MaxBytes int    // largest message value accepted
	Limits   notify.Limits
	Now      func() time.Time

	contextOnce    sync.Once
	contextDefault json.RawMessage
}

// defaultContext is the context of an event that has none, built once: every buffered
// envelope of such an event shares it.
func (d *Decoder) defaultContext() json.RawMessage {
	d.contextOnce.Do(func() {
		d.contextDefault = json.RawMessage(`{"channel":` + string(appendString(nil, d.Channel)) + `}`)
	})
	return d.contextDefault
}

// Decode validates value and returns the notification it describes, or an *Error. The
// notification's strings are views of value, which must not change while it is in use.
func (d *Decoder) Decode(value []byte, src Source) (*Notification, error) {
	if d.MaxBytes > 0 && len(value) > d.MaxBytes {
		return nil, &Error{ReasonTooLarge, fmt.Errorf("%d bytes, the limit is %d", len(value), d.MaxBytes)}
	}
	if !utf8.Valid(value) {
		return nil, &Error{ReasonInvalidUTF8, errors.New("value is not valid UTF-8")}
	}
	var ev notify.Event
	if err := parseEvent(value, &ev); err != nil {
		return nil, &Error{ReasonBadJSON, fmt.Errorf("not an event object: %w", err)}
	}
	now := d.Now()
	if err := ev.Validate(now, d.Limits); err != nil {
		var ve *notify.ValidationError
		if errors.As(err, &ve) {
			return nil, &Error{ve.Reason, err}
		}
		return nil, &Error{notify.ReasonBadValue, err}
	}
	return d.build(&ev, src, now)
}

var renderBuffers = sync.Pool{New: func() any { return new([]byte) }}

// build derives the envelope and renders the notification.
func (d *Decoder) build(ev *notify.Event, src Source, now time.Time) (*Notification, error) {
	who := ev.Identity(now)
	for i := range ev.CustomerIDs {
		if ev.CustomerIDs[i].AuthenticatedState == "" {
			ev.CustomerIDs[i].AuthenticatedState = "unknown" // the API requires one
		}
	}
	// One allocation for both: they live and die together.
	decoded := new(struct {
		n   Notification
		env Envelope
	})
	env := &decoded.env
	*env = Envelope{
		Client:        firstNonEmpty(ev.Client, d.Client),
		SessionID:     who.SessionID,
		TntID:         who.TntID,
		ThirdPartyID:  who.ThirdPartyID,
		MCID:          who.MCID,
		CustomerIDs:   ev.CustomerIDs,
		PropertyToken: ev.PropertyToken,
		Analytics:     ev.Analytics, // compacted by the parser
	}
	env.Hint = firstNonEmpty(ev.LocationHint, notify.LocationHintFromTntID(env.TntID))
	ctx, err := d.context(ev.Context)
	if err != nil {
		return nil, err
	}
	env.Context = ctx
	env.key = env.computeKey()

	id := ev.ID
	if id == "" {
		id = DerivedID(src)
	}
	impression := ev.ImpressionID
	if impression == "" && ev.Type == notify.TypeDisplay {
		impression = ImpressionID(id)
	}
	wire := wireNotification{
		ID: id, Type: ev.Type, Timestamp: ev.Timestamp, ImpressionID: impression, Tokens: ev.Tokens,
		Mbox: ev.Mbox, View: ev.View, PageLoad: ev.PageLoad, Address: ev.Address,
		Parameters: ev.Parameters, ProfileParameters: ev.ProfileParameters,
		Order: ev.Order, Product: ev.Product,
	}
	// Rendered into a reused buffer and copied out at its exact size: the body is held
	// until Target acknowledges it, and an estimated capacity wasted a tenth of it.
	scratch := renderBuffers.Get().(*[]byte)
	*scratch = wire.appendJSON((*scratch)[:0])
	body := bytes.Clone(*scratch)
	renderBuffers.Put(scratch)
	decoded.n = Notification{ID: id, Type: ev.Type, Timestamp: ev.Timestamp, Envelope: env, Body: body}
	return &decoded.n, nil
}

// context applies the configured channel default and removes beacon, which would make
// Target answer 204 without the per-id acknowledgements that offsets depend on.
func (d *Decoder) context(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 { // the common case: no map to build
		return d.defaultContext(), nil
	}
	channel, hasBeacon, err := scanContext(raw)
	if err != nil {
		return nil, &Error{notify.ReasonBadValue, fmt.Errorf("context: %w", err)}
	}
	if channel != "" && channel != "web" && channel != "mobile" {
		return nil, &Error{notify.ReasonBadValue, fmt.Errorf("context.channel: %q is not \"web\" or \"mobile\"", channel)}
	}
	if channel != "" && !hasBeacon {
		return raw, nil // nothing to change (the parser compacted it): skip the map round trip
	}
	fields := map[string]json.RawMessage{}
	if err := jsonv2.Unmarshal(raw, &fields); err != nil {
		return nil, &Error{notify.ReasonBadValue, fmt.Errorf("context: %w", err)}
	}
	delete(fields, "beacon")
	if channel == "" {
		fields["channel"] = json.RawMessage(appendString(nil, d.Channel))
	}
	out, err := jsonv2.Marshal(fields, jsonv2.Deterministic(true))
	if err != nil {
		return nil, &Error{notify.ReasonBadValue, fmt.Errorf("context: %w", err)}
	}
	return out, nil
}

// scanContext reads the channel (with its type checked) and whether beacon is present,
// without building the object.
func scanContext(raw json.RawMessage) (channel string, hasBeacon bool, err error) {
	p := parser{data: raw}
	err = p.object("context", func(name []byte) error {
		switch string(name) {
		case "channel":
			if k := p.peek(); k != '"' {
				return fmt.Errorf("channel: a JSON %s is not \"web\" or \"mobile\"", kindName(k))
			}
			c, err := p.string("channel")
			if err == nil && c == "" {
				err = errors.New(`channel: "" is not "web" or "mobile"`)
			}
			channel = c
			return err
		case "beacon":
			hasBeacon = true
		}
		_, err := p.skipValue()
		return err
	})
	return channel, hasBeacon, err
}

// DerivedID is the notification id of an event that has none: stable for the message, so a
// redelivered event carries the same id.
func DerivedID(src Source) string {
	id := src.Topic + ":" + strconv.Itoa(src.Partition) + ":" + strconv.FormatInt(src.Offset, 10)
	if src.ReplayedFrom != "" {
		id = "replay:" + src.ReplayedFrom
	}
	if len(id) <= 200 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "nd-" + hex.EncodeToString(sum[:])
}

// ImpressionID derives a display's impressionId from its notification id; Target counts a
// repeated impressionId once, which makes a redelivered display harmless.
func ImpressionID(notificationID string) string {
	if len(notificationID) <= 128 {
		return notificationID
	}
	sum := sha256.Sum256([]byte(notificationID))
	return hex.EncodeToString(sum[:])
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
