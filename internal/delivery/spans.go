package delivery

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/tracing"
)

// RequestSpanName names the span of one Target request (a part of a batch, through its
// retries).
const RequestSpanName = "target deliver"

// Outcomes of a request span (tracing.Outcome).
const (
	outcomeAcknowledged = "acknowledged"
	outcomeSplit        = "split"         // a 400 on several notifications: halves follow, each with a span
	outcomeDeadLettered = "dead_lettered" // a permanent answer, or retries given up
	outcomeAbandoned    = "abandoned"     // its partition was revoked: the next owner delivers it
	outcomeStopped      = "stopped"       // the daemon stopped first: redelivered after the restart
)

// Trace makes the dispatcher record a span per Target request with t; nil (the default)
// records nothing and builds nothing. Call it before Run.
func (d *Dispatcher) Trace(t trace.Tracer) { d.tracer = t }

// requestSpan returns ctx carrying the span of s's current part, started at its first
// attempt: a client span linked to each notification's event span context and parented by
// none of them (messaging conventions: a batch links to its messages). The span lives
// through the part's retries, each attempt an event on it, until the part's outcome. ctx
// comes back as it is when tracing is off.
func (d *Dispatcher) requestSpan(ctx context.Context, s *session, env *event.Envelope, part []*batch.Item) context.Context {
	if d.tracer == nil {
		return ctx
	}
	if s.span == nil {
		links := make([]trace.Link, 0, len(part))
		for _, it := range part {
			if it.Trace.IsValid() {
				links = append(links, trace.Link{SpanContext: it.Trace})
			}
		}
		_, s.span = d.tracer.Start(ctx, RequestSpanName, trace.WithSpanKind(trace.SpanKindClient), trace.WithNewRoot(), trace.WithLinks(links...),
			trace.WithAttributes(tracing.SessionID.String(env.SessionID), tracing.MessagingSystem.String("kafka"), tracing.MessagingDest.String(part[0].Source.Topic)))
	}
	s.span.SetAttributes(tracing.MessagingBatchCount.Int(len(part)))
	return trace.ContextWithSpan(ctx, s.span)
}

// recordAttempt adds an attempt's event to s's span (its number, edge host, notifications,
// duration and Target's status or the failure's class) and sets the span's attributes to
// the latest attempt's.
func (d *Dispatcher) recordAttempt(s *session, url string, attempt, notifications int, took time.Duration, resp *Response, err error) {
	if s.span == nil {
		return
	}
	latest := []attribute.KeyValue{tracing.Attempt.Int(attempt), tracing.ServerAddress.String(hostOf(url)), tracing.MessagingBatchCount.Int(notifications)}
	event := append(latest[:len(latest):len(latest)], attribute.Float64("notifierd.duration_ms", float64(took.Microseconds())/1e3))
	var tErr *Error
	switch {
	case err == nil:
		latest = append(latest, tracing.HTTPStatus.Int(200))
		event = append(event, tracing.HTTPStatus.Int(200), tracing.Acknowledged.Int(len(resp.Acked)))
		if resp.RequestID != "" {
			latest = append(latest, tracing.RequestID.String(resp.RequestID))
		}
	case errors.As(err, &tErr) && tErr.Status != 0:
		latest = append(latest, tracing.HTTPStatus.Int(tErr.Status))
		event = append(event, tracing.HTTPStatus.Int(tErr.Status), tracing.ErrorType.String(strconv.Itoa(tErr.Status)))
	case errors.As(err, &tErr):
		event = append(event, tracing.ErrorType.String(tErr.Reason))
	default:
		event = append(event, tracing.ErrorType.String("internal"))
	}
	s.span.AddEvent("attempt", trace.WithAttributes(event...))
	s.span.SetAttributes(latest...)
}

// endSpan ends s's request span, if one is open, with its outcome; cause marks it failed.
func endSpan(s *session, outcome string, cause error) {
	if s.span == nil {
		return
	}
	s.span.SetAttributes(tracing.Outcome.String(outcome))
	if cause != nil {
		s.span.SetStatus(codes.Error, cause.Error())
		if tErr := (*Error)(nil); errors.As(cause, &tErr) {
			s.span.SetAttributes(tracing.ErrorType.String(tErr.Reason))
		}
	}
	s.span.End()
	s.span = nil
}

// endOpenSpans ends the spans of parts still pending when Run returns (waiting out a
// backoff, or cut by the shutdown): an unended span is never exported.
func (d *Dispatcher) endOpenSpans() {
	if d.tracer == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.sessions {
		endSpan(s, outcomeStopped, nil)
	}
}
