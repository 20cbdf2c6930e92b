package batch

import (
	"sync"

	"github.com/notifierd/notifierd/internal/event"
)

// Item is one notification in the pipeline, from fetch to its final outcome.
type Item struct {
	Notification *event.Notification
	Source       event.Source
	Key          []byte // the Kafka message key, kept for the dead-letter copy
	Value        []byte // the Kafka message value, kept for the dead-letter copy

	// Settle records the outcome: the offset is done and the budget is returned.
	settle func()
	// Stale reports that the partition is no longer ours, so delivering is pointless.
	stale func() bool
	once  sync.Once
}

// NewItem wraps a notification; settle runs once when it is acknowledged or dead-lettered,
// stale tells whether its partition was given up.
func NewItem(n *event.Notification, src event.Source, key, value []byte, settle func(), stale func() bool) *Item {
	return &Item{Notification: n, Source: src, Key: key, Value: value, settle: settle, stale: stale}
}

// Settle marks the item finished; later calls do nothing.
func (it *Item) Settle() {
	it.once.Do(func() {
		if it.settle != nil {
			it.settle()
		}
	})
}

// Stale reports whether the item's partition was given up.
func (it *Item) Stale() bool { return it.stale != nil && it.stale() }

// Size is the item's weight in a request: its rendered notification.
func (it *Item) Size() int { return len(it.Notification.Body) }

// ItemOverhead approximates the memory of an item besides its byte slices: the item, the
// decoded notification and its envelope, the offsets entry, the closures, and the open batch
// of its session when it is alone in it. Measured in that worst case (one event per session,
// the memory step of `make bench`, live heap after a forced collection): about 1,290 bytes.
const ItemOverhead = 1400

// Footprint estimates the memory an item holds from fetch to outcome, which is what the
// buffer budget bounds: the original message is kept for a possible dead-letter copy.
func Footprint(n *event.Notification, key, value []byte) int {
	return len(n.Body) + len(key) + len(value) + ItemOverhead
}
