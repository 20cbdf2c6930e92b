// Package dlq writes events that will never reach Target to the dead-letter topic, with
// headers naming the reason and where the event came from. An event's offset counts as done
// only after its dead-letter copy is written, so the write is retried until it succeeds or
// the daemon stops.
package dlq

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/outbox"
	"github.com/notifierd/notifierd/internal/tracing"
)

// Header names on every dead-letter message.
const (
	HeaderReason    = "notifierd-reason" // a fixed code: bad_json, target_rejected, ...
	HeaderError     = "notifierd-error"  // the explanation: the validation error or Target's message
	HeaderTopic     = "notifierd-topic"
	HeaderPartition = "notifierd-partition"
	HeaderOffset    = "notifierd-offset"
	HeaderTime      = "notifierd-time" // RFC 3339, when it was dead-lettered
	// HeaderReplayedFrom marks a replayed message with the dead-letter entry it came from
	// (topic/partition/offset); a replay dead-lettered again keeps it, so every replay of the
	// first entry shares one derived notification id.
	HeaderReplayedFrom = "notifierd-replayed-from"
	// HeaderValueDropped is set when the event's value was too large for the dead-letter
	// topic and was left out; it says how large it was.
	HeaderValueDropped = "notifierd-value-dropped"
)

// Entry is one event to dead-letter.
type Entry struct {
	Source event.Source
	Key    []byte
	Value  []byte
	Reason string
	Detail string
	Lease  *lease.Lease // settled as dead-lettered once the write succeeded
	// Notification is the decoded event, for its receipt; nil for an event that could not
	// be decoded.
	Notification *event.Notification
	// Trace is the event's span context (its record's traceparent); Cause is the span of
	// the Target request that rejected it. The dead-letter write's span links to both.
	Trace, Cause trace.SpanContext
}

// Receipts writes a receipt for each dead-lettered entry and settles its lease once the
// receipt is written (kafka.receiptsTopic): receipt.Writer. It returns an error only when
// ctx ended first.
type Receipts interface {
	DeadLettered(ctx context.Context, e Entry, at time.Time) error
}

// Produce writes messages to the dead-letter topic; kafka.Writer.WriteMessages in production.
type Produce func(ctx context.Context, msgs ...kafka.Message) error

// Writer batches entries into the dead-letter topic.
type Writer struct {
	produce  Produce
	in       chan Entry
	receipts Receipts     // nil: receipts are off
	tracer   trace.Tracer // nil: tracing is off
	topic    string       // the dead-letter topic, for span names
	metrics  *metrics.Metrics
	log      *zap.Logger
}

// NewWriter returns a writer; Run must be running for Send to make progress.
func NewWriter(produce Produce, m *metrics.Metrics, log *zap.Logger) *Writer {
	return &Writer{
		produce: produce,
		in:      make(chan Entry, 1024),
		metrics: m,
		log:     log,
	}
}

// Send queues e; it waits when the queue is full, which slows its caller rather than
// dropping anything.
func (w *Writer) Send(ctx context.Context, e Entry) error {
	select {
	case w.in <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DeadLetter queues an item Target will never accept; its lease is settled once the copy is
// written. It returns an error only when ctx ended first: the item then stays pending.
func (w *Writer) DeadLetter(ctx context.Context, it *batch.Item, reason, detail string) error {
	return w.Send(ctx, Entry{Source: it.Source, Key: it.Key, Value: it.Value, Reason: reason, Detail: detail, Lease: it.Lease, Notification: it.Notification,
		Trace: it.Trace, Cause: trace.SpanContextFromContext(ctx)})
}

// Trace makes the writer record a span per dead-lettered entry with t (nil: off), named
// after topic. Call it before Run.
func (w *Writer) Trace(t trace.Tracer, topic string) { w.tracer, w.topic = t, topic }

// SendReceipts makes the writer hand each written entry to r, which settles it once its
// receipt is written. Call it before Run.
func (w *Writer) SendReceipts(r Receipts) { w.receipts = r }

// Run writes queued entries until ctx ends.
func (w *Writer) Run(ctx context.Context) {
	for {
		batch, ok := outbox.Next(ctx, w.in, 500)
		if !ok {
			return
		}
		spans := w.startSpans(ctx, batch)
		err := w.write(ctx, batch)
		endSpans(spans, err)
		if err != nil {
			return // only when ctx ended: the entries stay uncommitted and come back
		}
		now := time.Now()
		for _, e := range batch {
			w.metrics.EventsDeadLetter.WithLabelValues(e.Reason).Inc()
			switch {
			case e.Lease == nil:
			case w.receipts != nil:
				if err := w.receipts.DeadLettered(ctx, e, now); err != nil {
					return // ctx ended: the rest stay unsettled and come back
				}
			default:
				e.Lease.Settle(lease.DeadLettered)
			}
		}
	}
}

// startSpans starts one producer span per entry, linked to the event's span context and to
// the request that rejected it: a span per entry, not per produce, so each dead letter's
// reason and source are on a span its producer's trace links to. Nil when tracing is off.
func (w *Writer) startSpans(ctx context.Context, batch []Entry) []trace.Span {
	if w.tracer == nil {
		return nil
	}
	spans := make([]trace.Span, len(batch))
	for i, e := range batch {
		var links []trace.Link
		for _, sc := range [...]trace.SpanContext{e.Trace, e.Cause} {
			if sc.IsValid() {
				links = append(links, trace.Link{SpanContext: sc})
			}
		}
		// A root: the span links to its event rather than joining the event's trace, as the
		// request spans do, so no producer's trace grows by a span it did not sample for.
		_, spans[i] = w.tracer.Start(ctx, "send "+w.topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithNewRoot(), trace.WithLinks(links...),
			trace.WithAttributes(
				tracing.MessagingSystem.String("kafka"), tracing.MessagingDest.String(w.topic),
				tracing.Reason.String(e.Reason), attribute.String("notifierd.dlq.detail", e.Detail),
				tracing.SourceTopic.String(e.Source.Topic), tracing.SourcePartition.Int(e.Source.Partition), tracing.SourceOffset.Int64(e.Source.Offset),
			))
	}
	return spans
}

// endSpans ends the spans of a write that returned err.
func endSpans(spans []trace.Span, err error) {
	for _, s := range spans {
		if err != nil {
			s.SetStatus(codes.Error, "not written: "+err.Error())
		}
		s.End()
	}
}

func (w *Writer) write(ctx context.Context, batch []Entry) error {
	msgs := make([]kafka.Message, len(batch))
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i, e := range batch {
		msgs[i] = kafka.Message{
			Key:   e.Key,
			Value: e.Value,
			Headers: []kafka.Header{
				{Key: HeaderReason, Value: []byte(e.Reason)},
				{Key: HeaderError, Value: []byte(e.Detail)},
				{Key: HeaderTopic, Value: []byte(e.Source.Topic)},
				{Key: HeaderPartition, Value: []byte(strconv.Itoa(e.Source.Partition))},
				{Key: HeaderOffset, Value: []byte(strconv.FormatInt(e.Source.Offset, 10))},
				{Key: HeaderTime, Value: []byte(now)},
			},
		}
		if e.Source.ReplayedFrom != "" {
			msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: HeaderReplayedFrom, Value: []byte(e.Source.ReplayedFrom)})
		}
	}
	return outbox.Write(ctx, func(ctx context.Context) error { return w.produce(ctx, msgs...) }, func(err error, wait time.Duration) bool {
		// A message over the size limit fails every time: retrying it as it is would stop all
		// dead-lettering, and with it every partition's commits.
		var tooLarge kafka.MessageTooLargeError
		var partial kafka.WriteErrors
		switch {
		case errors.As(err, &tooLarge): // refused before sending: nothing was written
			if i := indexOf(msgs, tooLarge.Message); i >= 0 && msgs[i].Value != nil {
				msgs[i] = w.withoutValue(msgs[i], err)
				return true
			}
		case errors.As(err, &partial) && len(partial) == len(msgs):
			var again []kafka.Message // the ones written must not be written twice
			for i, e := range partial {
				switch {
				case e == nil:
				case errors.Is(e, kafka.MessageSizeTooLarge) && msgs[i].Value != nil:
					again = append(again, w.withoutValue(msgs[i], e))
				default:
					again = append(again, msgs[i])
				}
			}
			msgs = again
		}
		w.log.Warn("dead-letter write failed; retrying", zap.Int("events", len(msgs)), zap.Duration("wait", wait), zap.Error(err))
		return false
	})
}

// withoutValue is m without its value, which the dead-letter topic refused as too large;
// the headers still say where the event is in the source topic.
func (w *Writer) withoutValue(m kafka.Message, cause error) kafka.Message {
	w.log.Warn("dead-letter entry too large: writing it without the event's value",
		zap.String("source", Header(m, HeaderTopic)+"/"+Header(m, HeaderPartition)+"/"+Header(m, HeaderOffset)), zap.Int("bytes", len(m.Value)), zap.Error(cause))
	m.Headers = append(slices.Clone(m.Headers), kafka.Header{Key: HeaderValueDropped,
		Value: []byte(strconv.Itoa(len(m.Value)) + " bytes: over the dead-letter topic's message size; the event stays at its source position")})
	m.Value = nil
	return m
}

// indexOf finds target among msgs by its value's (or key's) backing array: kafka-go hands
// back a copy of the message it refused.
func indexOf(msgs []kafka.Message, target kafka.Message) int {
	same := func(a, b []byte) bool { return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0] }
	for i, m := range msgs {
		if same(m.Value, target.Value) || same(m.Key, target.Key) {
			return i
		}
	}
	return -1
}

// Header returns the value of the named header of a dead-letter message.
func Header(m kafka.Message, name string) string {
	for _, h := range m.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}
