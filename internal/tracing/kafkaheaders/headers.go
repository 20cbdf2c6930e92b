// Package kafkaheaders carries W3C trace context in Kafka record headers: apart from package
// tracing so that the delivery core, which records spans, stays free of Kafka.
package kafkaheaders

import (
	"context"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// W3C trace context header names, as Kafka record headers carry them.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Headers is a propagation.TextMapCarrier over a Kafka record's headers.
type Headers struct{ H *[]kafka.Header }

// Get returns the first value of key.
func (c Headers) Get(key string) string {
	for _, h := range *c.H {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces key's value, or appends it.
func (c Headers) Set(key, value string) {
	for i, h := range *c.H {
		if h.Key == key {
			(*c.H)[i].Value = []byte(value)
			return
		}
	}
	*c.H = append(*c.H, kafka.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header names.
func (c Headers) Keys() []string {
	keys := make([]string, len(*c.H))
	for i, h := range *c.H {
		keys[i] = h.Key
	}
	return keys
}

// Extract is the span context a record's traceparent and tracestate headers name; invalid
// (the zero value) when there is none or it does not parse.
func Extract(headers []kafka.Header) trace.SpanContext {
	for _, h := range headers {
		if h.Key == HeaderTraceparent { // most records carry none: skip the propagator then
			ctx := propagation.TraceContext{}.Extract(context.Background(), Headers{&headers})
			return trace.SpanContextFromContext(ctx)
		}
	}
	return trace.SpanContext{}
}

// Inject writes the span context of ctx as traceparent (and tracestate, when it has one)
// into headers; nothing when ctx carries no valid span context.
func Inject(ctx context.Context, headers *[]kafka.Header) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		propagation.TraceContext{}.Inject(ctx, Headers{headers})
	}
}
