package batch

import (
	"sync"
	"time"

	"github.com/notifierd/notifierd/internal/event"
)

// Batch is a group of items that share one request envelope.
type Batch struct {
	Envelope *event.Envelope
	Items    []*Item
	Bytes    int
	Trigger  string // what closed it: full, bytes, linger or flush
}

// Triggers that close a batch.
const (
	TriggerFull   = "full"
	TriggerBytes  = "bytes"
	TriggerLinger = "linger"
	TriggerFlush  = "flush"
)

// Config bounds one batch.
type Config struct {
	MaxNotifications int           // Target recommends at most 50 per request
	MaxBytes         int           // bound on the notifications' rendered bytes
	Linger           time.Duration // how long the first item waits for company
}

// Batcher holds the open batch of every envelope key.
type Batcher struct {
	cfg   Config
	flush func(*Batch) // receives full or expired batches; must not block

	mu   sync.Mutex
	open map[string]*openBatch
}

type openBatch struct {
	batch *Batch
	timer *time.Timer
}

// New returns a batcher that passes every finished batch to flush.
func New(cfg Config, flush func(*Batch)) *Batcher {
	return &Batcher{cfg: cfg, flush: flush, open: make(map[string]*openBatch)}
}

// Add puts it into the open batch of its envelope, flushing that batch when it becomes full.
func (b *Batcher) Add(it *Item) {
	env := it.Notification.Envelope
	key := env.Key()
	size := it.Size()

	b.mu.Lock()
	ob := b.open[key]
	if ob != nil && b.cfg.MaxBytes > 0 && ob.batch.Bytes+size > b.cfg.MaxBytes {
		ob.batch.Trigger = TriggerBytes
		b.closeLocked(key, ob) // this item would overflow the byte bound: send what is there
		b.mu.Unlock()
		b.flush(ob.batch)
		b.mu.Lock()
		ob = b.open[key]
	}
	if ob == nil {
		ob = &openBatch{batch: &Batch{Envelope: env}}
		b.open[key] = ob
		ob.timer = time.AfterFunc(b.cfg.Linger, func() { b.expire(key, ob) })
	}
	ob.batch.Items = append(ob.batch.Items, it)
	ob.batch.Bytes += size
	full := true
	switch {
	case len(ob.batch.Items) >= b.cfg.MaxNotifications:
		ob.batch.Trigger = TriggerFull
	case b.cfg.MaxBytes > 0 && ob.batch.Bytes >= b.cfg.MaxBytes:
		ob.batch.Trigger = TriggerBytes
	default:
		full = false
	}
	if full {
		b.closeLocked(key, ob)
	}
	b.mu.Unlock()
	if full {
		b.flush(ob.batch)
	}
}

func (b *Batcher) expire(key string, ob *openBatch) {
	b.mu.Lock()
	if b.open[key] != ob {
		b.mu.Unlock()
		return // already flushed as full, or by Flush
	}
	ob.batch.Trigger = TriggerLinger
	b.closeLocked(key, ob)
	b.mu.Unlock()
	b.flush(ob.batch)
}

func (b *Batcher) closeLocked(key string, ob *openBatch) {
	ob.timer.Stop()
	delete(b.open, key)
}

// Flush hands on every open batch now: on partition revoke and on shutdown nothing waits
// for its linger.
func (b *Batcher) Flush() {
	b.mu.Lock()
	batches := make([]*Batch, 0, len(b.open))
	for key, ob := range b.open {
		ob.batch.Trigger = TriggerFlush
		b.closeLocked(key, ob)
		batches = append(batches, ob.batch)
	}
	b.mu.Unlock()
	for _, batch := range batches {
		b.flush(batch)
	}
}

// Open counts the batches waiting for their linger.
func (b *Batcher) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.open)
}
