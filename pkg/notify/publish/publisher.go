// Package publish is the producer of notifierd's event contract (package notify): a Publisher
// that validates events and writes them to Kafka keyed by their Target session, so one
// session's events stay in order on one partition, and the kafka-go writer it expects.
package publish

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/tracing/kafkaheaders"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Writer is the part of a kafka-go *kafka.Writer a Publisher uses. It must write
// synchronously and return only once the brokers acknowledged every message.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// KafkaConfig says where a Publisher writes.
type KafkaConfig struct {
	Brokers []string
	Topic   string
	// Transport carries TLS and SASL settings; nil means kafka.DefaultTransport.
	Transport kafka.RoundTripper
}

// NewKafkaWriter returns the writer a Publisher expects: synchronous, acknowledged by every
// in-sync replica, and partitioned by murmur2 of the key, as Kafka's Java client does, so a
// session lands on the same partition whichever client produced it.
func NewKafkaWriter(c KafkaConfig) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        c.Topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		// Publish waits for its messages; kafka-go's default 1 s linger would be added to every call.
		BatchTimeout: 5 * time.Millisecond,
		Transport:    c.Transport,
	}
}

// Publisher validates events, keys them by their Target session and writes them to Kafka.
// It is safe for concurrent use when its Writer is (a *kafka.Writer is).
type Publisher struct {
	w        Writer
	now      func() time.Time
	limits   notify.Limits
	maxBytes int
}

// Option adjusts a Publisher.
type Option func(*Publisher)

// WithLimits replaces notify.DefaultLimits; use the daemon's events.maxAge and events.maxFuture.
func WithLimits(l notify.Limits) Option { return func(p *Publisher) { p.limits = l } }

// WithMaxBytes replaces notify.DefaultMaxBytes; use the daemon's events.maxBytes. 0 means no bound.
func WithMaxBytes(n int) Option { return func(p *Publisher) { p.maxBytes = n } }

// WithClock replaces time.Now, against which timestamps and cookie expiry are checked.
func WithClock(now func() time.Time) Option { return func(p *Publisher) { p.now = now } }

// New returns a publisher writing through w, which it owns: Close closes it.
// w is usually NewKafkaWriter's.
func New(w Writer, opts ...Option) *Publisher {
	p := &Publisher{w: w, now: time.Now, limits: notify.DefaultLimits, maxBytes: notify.DefaultMaxBytes}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Publish validates every event and, only if all are valid, writes them in one synchronous
// call, each keyed by its session id. When ctx carries a span context (the caller's span),
// each record gets W3C traceparent and tracestate headers naming it, and notifierd's
// request to Target links to that span. An invalid event makes it return an *InvalidError
// without sending anything. After any other error the caller cannot know which events were
// written: publishing them again may duplicate some, which notifierd tolerates (see the
// event contract on ids).
func (p *Publisher) Publish(ctx context.Context, events ...notify.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := p.now()
	msgs := make([]kafka.Message, 0, len(events))
	var headers []kafka.Header // the caller's span context, if any: one slice every record shares
	kafkaheaders.Inject(ctx, &headers)
	var invalid []EventError
	for i := range events {
		key, value, err := notify.Encode(&events[i], now, p.limits)
		if err == nil && p.maxBytes > 0 && len(value) > p.maxBytes {
			err = &notify.ValidationError{Field: "event", Reason: notify.ReasonTooLarge, Detail: fmt.Sprintf("%d bytes as JSON, the limit is %d", len(value), p.maxBytes)}
		}
		if err != nil {
			invalid = append(invalid, EventError{Index: i, ID: events[i].ID, Err: err})
			continue
		}
		msgs = append(msgs, kafka.Message{Key: key, Value: value, Headers: headers})
	}
	if len(invalid) > 0 {
		return &InvalidError{Total: len(events), Events: invalid}
	}
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publish: publishing %d events: %w", len(msgs), err)
	}
	return nil
}

// Close closes the writer, waiting for anything it still holds.
func (p *Publisher) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("publish: closing the Kafka writer: %w", err)
	}
	return nil
}

// InvalidError is what Publish returns when events fail validation: nothing was sent.
type InvalidError struct {
	Total  int          // events passed to Publish
	Events []EventError // the invalid ones, in order
}

// EventError is one invalid event of a Publish call.
type EventError struct {
	Index int    // position in Publish's arguments
	ID    string // the event's id, if it has one
	Err   error  // usually a *notify.ValidationError naming the field
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	if e.Total == 1 {
		b.WriteString("publish: invalid event, nothing published: ")
		b.WriteString(e.Events[0].Err.Error())
		return b.String()
	}
	fmt.Fprintf(&b, "publish: %d of %d events invalid, nothing published", len(e.Events), e.Total)
	for i, ev := range e.Events {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "event %d", ev.Index)
		if ev.ID != "" {
			fmt.Fprintf(&b, " (id %q)", ev.ID)
		}
		b.WriteString(": ")
		b.WriteString(ev.Err.Error())
	}
	return b.String()
}

// Unwrap gives errors.As access to each event's *notify.ValidationError.
func (e *InvalidError) Unwrap() []error {
	errs := make([]error, len(e.Events))
	for i, ev := range e.Events {
		errs[i] = ev.Err
	}
	return errs
}
