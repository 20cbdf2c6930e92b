package batch

import (
	"go.opentelemetry.io/otel/trace"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
)

// Item is one notification in the pipeline, from fetch to its final outcome.
type Item struct {
	Notification *event.Notification
	Source       event.Source
	Key          []byte // the Kafka message key, kept for the dead-letter copy
	Value        []byte // the Kafka message value, kept for the dead-letter copy
	// Lease is the event's hold on its offset and buffer share: settling it, once, is what
	// finishing the event means.
	Lease *lease.Lease
	// Trace is the span context the record's traceparent header named: the request span
	// that delivers the item links to it. Invalid when the record had none or tracing is off.
	Trace trace.SpanContext
}

// NewItem wraps a notification with the lease of its message.
func NewItem(n *event.Notification, src event.Source, key, value []byte, l *lease.Lease) *Item {
	return &Item{Notification: n, Source: src, Key: key, Value: value, Lease: l}
}

// Settle ends the item's lease with outcome o; later calls do nothing.
func (it *Item) Settle(o lease.Outcome) {
	if it.Lease != nil {
		it.Lease.Settle(o)
	}
}

// Stale reports whether the item's partition was given up.
func (it *Item) Stale() bool { return it.Lease != nil && it.Lease.Stale() }

// Size is the item's weight in a request: its rendered notification.
func (it *Item) Size() int { return len(it.Notification.Body) }

// ItemOverhead approximates the memory of an item besides its byte slices: the item, the
// decoded notification and its envelope, the offsets entry, the lease, and the open batch
// of its session when it is alone in it. Measured in that worst case (one event per session,
// the memory step of `make bench`, live heap after a forced collection): about 1,290 bytes.
const ItemOverhead = 1400

// Footprint estimates the memory an item holds from fetch to outcome, which is what the
// buffer budget bounds: the original message is kept for a possible dead-letter copy.
func Footprint(n *event.Notification, key, value []byte) int {
	return len(n.Body) + len(key) + len(value) + ItemOverhead
}
