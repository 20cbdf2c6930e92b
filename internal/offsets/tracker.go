// Package offsets keeps, per partition, the offsets in flight and the contiguous watermark:
// batches finish out of order, so the offset to commit is the lowest one not yet done.
package offsets

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Tracker follows one partition of one generation. Begin is called in fetch order; Done
// may come in any order from any goroutine.
type Tracker struct {
	max int

	mu      sync.Mutex
	entries []entry // in offset order; entries[head:] are live
	head    int
	next    int64         // one past the last offset begun: the watermark when nothing is pending
	waiters int           // goroutines blocked in Begin or WaitWatermark
	changed chan struct{} // closed and replaced when the head advances while someone waits

	abandoned atomic.Bool
}

type entry struct {
	offset  int64
	done    bool
	fetched time.Time
}

// New starts a tracker at the partition's first offset to read, allowing at most
// maxInFlight offsets pending at once.
func New(start int64, maxInFlight int) *Tracker {
	return &Tracker{max: maxInFlight, next: start, changed: make(chan struct{})}
}

// Begin registers offset as in flight. It waits while maxInFlight offsets are pending, which
// is how a partition stops fetching when delivery falls behind.
func (t *Tracker) Begin(ctx context.Context, offset int64, fetched time.Time) error {
	for {
		t.mu.Lock()
		if len(t.entries)-t.head < t.max {
			t.entries = append(t.entries, entry{offset: offset, fetched: fetched})
			t.next = offset + 1
			t.mu.Unlock()
			return nil
		}
		if err := t.wait(ctx); err != nil {
			return err
		}
	}
}

// wait releases t.mu (held by the caller) until the head advances or ctx ends.
func (t *Tracker) wait(ctx context.Context) error {
	changed := t.changed
	t.waiters++
	t.mu.Unlock()
	var err error
	select {
	case <-changed:
	case <-ctx.Done():
		err = ctx.Err()
	}
	t.mu.Lock()
	t.waiters--
	t.mu.Unlock()
	return err
}

// Skip moves the watermark's floor to upTo: the offsets below it that were never begun
// (transaction markers, records of aborted transactions, offsets retention removed) count as
// done, so a drained partition commits its end. It never moves backwards, and offsets begun
// later must be at or above upTo.
func (t *Tracker) Skip(upTo int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next = max(t.next, upTo)
}

// Rewind restarts the tracker at start, below where it was (the log was truncated or the
// topic recreated). It must be called with nothing pending.
func (t *Tracker) Rewind(start int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.entries) - t.head; n > 0 {
		return fmt.Errorf("rewinding to %d with %d offsets pending", start, n)
	}
	t.next = start
	return nil
}

// Done marks offset finished: acknowledged by Target or written to the dead-letter topic.
func (t *Tracker) Done(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := t.entries[t.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].offset >= offset })
	if i == len(live) || live[i].offset != offset {
		return // not ours (already done, or from before a reassignment)
	}
	live[i].done = true
	if i != 0 {
		return
	}
	for t.head < len(t.entries) && t.entries[t.head].done {
		t.head++
	}
	if t.head > 1024 && t.head*2 > len(t.entries) {
		t.entries = append(t.entries[:0], t.entries[t.head:]...)
		t.head = 0
	}
	if t.waiters > 0 {
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// Watermark is the offset to commit: every offset below it is done.
func (t *Tracker) Watermark() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head < len(t.entries) {
		return t.entries[t.head].offset
	}
	return t.next
}

// Pending counts the offsets begun and not yet below the watermark.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries) - t.head
}

// Oldest returns when the oldest pending offset was fetched.
func (t *Tracker) Oldest() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head < len(t.entries) {
		return t.entries[t.head].fetched, true
	}
	return time.Time{}, false
}

// WaitIdle blocks until nothing is pending or ctx ends.
func (t *Tracker) WaitIdle(ctx context.Context) error {
	return t.WaitWatermark(ctx, -1)
}

// WaitWatermark blocks until every offset below upTo is done (upTo < 0: everything begun),
// or ctx ends.
func (t *Tracker) WaitWatermark(ctx context.Context, upTo int64) error {
	for {
		t.mu.Lock()
		if t.head == len(t.entries) || (upTo >= 0 && t.entries[t.head].offset >= upTo) {
			t.mu.Unlock()
			return nil
		}
		if err := t.wait(ctx); err != nil {
			return err
		}
	}
}

// Abandon marks the partition as no longer ours: work for it still queued can be dropped,
// since the next owner reads it again from the committed offset.
func (t *Tracker) Abandon() { t.abandoned.Store(true) }

// Abandoned reports whether Abandon was called.
func (t *Tracker) Abandoned() bool { return t.abandoned.Load() }
