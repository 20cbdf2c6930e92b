package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/pkg/notify"
)

// HeaderID is the Kafka header carrying a generated message's id, so the accounting can find
// every message in the topic, even one whose value is not JSON.
const HeaderID = "notifierd-demo-id"

// Kinds of generated messages: the two valid ones and the three invalid on purpose.
const (
	KindDisplay     = notify.TypeDisplay
	KindClick       = notify.TypeClick
	KindBadJSON     = "bad_json"       // the event's JSON cut in half
	KindNoTokens    = "missing_tokens" // an empty tokens array
	KindUnknownType = "unknown_type"   // type "impression"
)

// invalidKinds are used in turn, so even a small run has one of each.
func invalidKinds() []string { return []string{KindBadJSON, KindNoTokens, KindUnknownType} }

// Message is one generated Kafka message and what should become of it.
type Message struct {
	ID    string // the event's explicit id (also in the HeaderID header)
	Kind  string // one of the Kind* constants
	Key   []byte // the Target session id, as producers are told to key
	Value []byte
}

// kafkaMessages are msgs as written: keyed, with the id in the HeaderID header.
func kafkaMessages(msgs []Message) []kafka.Message {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Key: m.Key, Value: m.Value, Headers: []kafka.Header{{Key: HeaderID, Value: []byte(m.ID)}}}
	}
	return out
}

// Valid reports whether notifierd should deliver the message to Target (else dead-letter it).
func (m Message) Valid() bool { return m.Kind == KindDisplay || m.Kind == KindClick }

// WantReason is the dead-letter reason notifierd should give an invalid message.
func (m Message) WantReason() string {
	switch m.Kind {
	case KindBadJSON:
		return event.ReasonBadJSON
	case KindNoTokens:
		return notify.ReasonMissing
	case KindUnknownType:
		return notify.ReasonBadValue
	}
	return ""
}

// GeneratorConfig shapes the traffic.
type GeneratorConfig struct {
	Events      int       // messages to generate
	Visitors    int       // distinct visitors (and sessions)
	InvalidRate float64   // fraction of messages invalid on purpose, rounded to a whole number of them
	Seed        uint64    // same seed, same traffic
	RunID       string    // prefix of every id, unique per run
	Now         time.Time // event timestamps fall in the 20 minutes before
}

func (c GeneratorConfig) check() error {
	var errs []error
	if c.Events < 1 {
		errs = append(errs, fmt.Errorf("events: must be at least 1, got %d", c.Events))
	}
	if c.Visitors < 1 {
		errs = append(errs, fmt.Errorf("visitors: must be at least 1, got %d", c.Visitors))
	}
	if c.InvalidRate < 0 || c.InvalidRate > 1 {
		errs = append(errs, fmt.Errorf("invalid rate: must be in [0,1], got %v", c.InvalidRate))
	}
	if c.RunID == "" {
		errs = append(errs, errors.New("run id: required"))
	}
	return errors.Join(errs...)
}

// Generate returns the traffic: visitors picked at random browse page after page, each page
// view giving its displays and then its clicks, in timestamp order per session. A whole
// number of messages (round(Events*InvalidRate)) are made invalid in place, spread at random.
func Generate(cfg GeneratorConfig) ([]Message, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	nowMs := cfg.Now.UnixMilli()
	visitors := make([]*visitor, cfg.Visitors)
	for i := range visitors {
		// Visits start 20 to 10 minutes ago; clocks stop at now, so a visitor with many
		// events does not run into the future.
		start := nowMs - 20*60_000 + rng.Int64N(10*60_000)
		visitors[i] = newVisitor(rng, i, start, cfg.Now)
	}
	invalid := pickInvalid(rng, cfg.Events, cfg.InvalidRate)
	pages := shop()
	kinds, broken := invalidKinds(), 0

	out := make([]Message, 0, cfg.Events)
	for len(out) < cfg.Events {
		v := visitors[rng.IntN(len(visitors))]
		for _, ev := range v.pageView(rng, pages) {
			if len(out) == cfg.Events {
				break
			}
			seq := len(out)
			ev.ID = fmt.Sprintf("%s-%06d", cfg.RunID, seq)
			kind := ev.Type
			if invalid[seq] {
				kind = kinds[broken%len(kinds)]
				broken++
			}
			msg, err := encode(ev, kind, v.sessionID)
			if err != nil {
				return nil, fmt.Errorf("generator: message %s: %w", ev.ID, err)
			}
			out = append(out, msg)
		}
	}
	return out, nil
}

// pickInvalid chooses which sequence numbers become invalid.
func pickInvalid(rng *rand.Rand, events int, rate float64) map[int]bool {
	n := int(math.Round(float64(events) * rate))
	picked := make(map[int]bool, n)
	for _, seq := range rng.Perm(events)[:n] {
		picked[seq] = true
	}
	return picked
}

// encode renders ev as a message of the given kind, breaking it on purpose for the invalid kinds.
func encode(ev notify.Event, kind, session string) (Message, error) {
	switch kind {
	case KindNoTokens:
		ev.Tokens = []string{}
	case KindUnknownType:
		ev.Type = "impression"
	}
	value, err := json.Marshal(ev)
	if err != nil {
		return Message{}, err
	}
	if kind == KindBadJSON {
		value = value[:len(value)/2]
	}
	return Message{ID: ev.ID, Kind: kind, Key: []byte(session), Value: value}, nil
}
