package batch

import (
	"context"
	"sync"
)

// Budget bounds the events and bytes held between fetch and outcome. Acquire waits while
// the bound is reached, which pauses fetching: a Target outage becomes consumer lag.
type Budget struct {
	maxEvents int
	maxBytes  int64

	mu      sync.Mutex
	events  int
	bytes   int64
	waiters int           // callers blocked in Acquire
	changed chan struct{} // closed and replaced on Release while someone waits
}

// NewBudget bounds events and bytes; zero or less means no bound on that count.
func NewBudget(maxEvents int, maxBytes int64) *Budget {
	return &Budget{maxEvents: maxEvents, maxBytes: maxBytes, changed: make(chan struct{})}
}

// Acquire reserves room for one event of size bytes. An event larger than the whole byte
// bound is let through when nothing else is held, so it cannot block forever.
func (b *Budget) Acquire(ctx context.Context, size int) error {
	for {
		b.mu.Lock()
		fits := (b.maxEvents <= 0 || b.events < b.maxEvents) &&
			(b.maxBytes <= 0 || b.bytes+int64(size) <= b.maxBytes || b.events == 0)
		if fits {
			b.events++
			b.bytes += int64(size)
			b.mu.Unlock()
			return nil
		}
		changed := b.changed
		b.waiters++
		b.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.waiters--
		b.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Release returns one event of size bytes.
func (b *Budget) Release(size int) {
	b.mu.Lock()
	b.events--
	b.bytes -= int64(size)
	if b.waiters > 0 { // waking nobody costs an allocation per event: only when needed
		close(b.changed)
		b.changed = make(chan struct{})
	}
	b.mu.Unlock()
}

// Used reports the events and bytes held now.
func (b *Budget) Used() (events int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events, b.bytes
}

// HasRoom reports whether size more bytes, and one more event, fit now.
func (b *Budget) HasRoom(size int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return (b.maxEvents <= 0 || b.events < b.maxEvents) && (b.maxBytes <= 0 || b.bytes+int64(size) <= b.maxBytes)
}
