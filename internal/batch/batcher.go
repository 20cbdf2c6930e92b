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
	open map[event.EnvelopeKey]*openBatch
	// opened lists open batches oldest first. Every batch lingers equally long, so this is
	// also deadline order and one timer, armed for the head, serves them all: a timer per
	// batch cost about 130 bytes for every open session. Batches closed early stay in the
	// list until they reach its head.
	opened []*openBatch
	head   int // opened[:head] are gone
	timer  *time.Timer
}

type openBatch struct {
	key      event.EnvelopeKey
	batch    *Batch
	deadline time.Time
	closed   bool
}

// New returns a batcher that passes every finished batch to flush.
func New(cfg Config, flush func(*Batch)) *Batcher {
	return &Batcher{cfg: cfg, flush: flush, open: make(map[event.EnvelopeKey]*openBatch)}
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
		b.closeLocked(ob) // this item would overflow the byte bound: send what is there
		b.mu.Unlock()
		b.flush(ob.batch)
		b.mu.Lock()
		ob = b.open[key]
	}
	if ob == nil {
		ob = &openBatch{key: key, batch: &Batch{Envelope: env}, deadline: time.Now().Add(b.cfg.Linger)}
		b.open[key] = ob
		b.opened = append(b.opened, ob)
		if b.head == len(b.opened)-1 { // the only one waiting: nothing armed the timer
			b.armLocked(b.cfg.Linger)
		}
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
		b.closeLocked(ob)
	}
	b.mu.Unlock()
	if full {
		b.flush(ob.batch)
	}
}

func (b *Batcher) armLocked(wait time.Duration) {
	if b.timer == nil {
		b.timer = time.AfterFunc(wait, b.expire)
		return
	}
	b.timer.Reset(wait)
}

// expire flushes the batches whose linger is over and arms the timer for the next one.
func (b *Batcher) expire() {
	var due []*Batch
	b.mu.Lock()
	now := time.Now()
	for b.head < len(b.opened) {
		ob := b.opened[b.head]
		if !ob.closed && ob.deadline.After(now) {
			b.armLocked(ob.deadline.Sub(now))
			break
		}
		b.opened[b.head] = nil
		b.head++
		if !ob.closed {
			ob.batch.Trigger = TriggerLinger
			b.closeLocked(ob)
			due = append(due, ob.batch)
		}
	}
	b.compactLocked()
	b.mu.Unlock()
	for _, batch := range due {
		b.flush(batch)
	}
}

// compactLocked drops the consumed front of the list once it is most of it.
func (b *Batcher) compactLocked() {
	if b.head == len(b.opened) {
		b.opened, b.head = b.opened[:0], 0
		return
	}
	if b.head > 1024 && b.head > len(b.opened)/2 {
		n := copy(b.opened, b.opened[b.head:])
		clear(b.opened[n:])
		b.opened, b.head = b.opened[:n], 0
	}
}

func (b *Batcher) closeLocked(ob *openBatch) {
	ob.closed = true
	delete(b.open, ob.key)
}

// Flush hands on every open batch now: on partition revoke and on shutdown nothing waits
// for its linger.
func (b *Batcher) Flush() {
	b.mu.Lock()
	batches := make([]*Batch, 0, len(b.open))
	for _, ob := range b.opened[b.head:] {
		if !ob.closed {
			ob.batch.Trigger = TriggerFlush
			b.closeLocked(ob)
			batches = append(batches, ob.batch)
		}
	}
	clear(b.opened)
	b.opened, b.head = b.opened[:0], 0
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	for _, batch := range batches {
		b.flush(batch)
	}
}

// FlushPartition hands on now the open batches holding events of partition: a revoked
// partition's work must finish before its drain deadline, and the other partitions keep
// their linger. A batch that also holds events of another partition (a session whose events
// were not all keyed alike) goes with it.
func (b *Batcher) FlushPartition(partition int) {
	b.mu.Lock()
	var batches []*Batch
	for _, ob := range b.opened[b.head:] {
		if !ob.closed && ob.batch.holds(partition) {
			ob.batch.Trigger = TriggerFlush
			b.closeLocked(ob) // stays in opened until it reaches the head, as an early close does
			batches = append(batches, ob.batch)
		}
	}
	b.mu.Unlock()
	for _, batch := range batches {
		b.flush(batch)
	}
}

func (bt *Batch) holds(partition int) bool {
	for _, it := range bt.Items {
		if it.Source.Partition == partition {
			return true
		}
	}
	return false
}

// Open counts the batches waiting for their linger.
func (b *Batcher) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.open)
}
