// Package lease says what finishing an event means. Every message fetched holds a lease on
// its offset from the fetch on. The lease is settled exactly once, with one outcome:
// acknowledged by Target, written to the dead-letter topic, or abandoned because its
// partition went to another member, which reads it again. Settling gives back everything the
// event held, in one place: its offset (so the partition's watermark can pass it), its share
// of the buffer budget, the buffer metrics, and the progress mark /healthz reads.
package lease

import "sync/atomic"

// Outcome is how an event's lease ended.
type Outcome uint8

// The outcomes of a lease.
const (
	Acknowledged Outcome = iota + 1 // Target acknowledged the notification
	DeadLettered                    // the dead-letter topic holds it, with its reason
	Abandoned                       // its partition was given up: the next owner delivers it
)

func (o Outcome) String() string {
	switch o {
	case Acknowledged:
		return "acknowledged"
	case DeadLettered:
		return "dead_lettered"
	case Abandoned:
		return "abandoned"
	}
	return "unknown"
}

// Holder owns the leases of one partition for one generation: the consumer's partition
// worker. It gives back what a settled lease held.
type Holder interface {
	// Release is called once per lease, when it is settled.
	Release(l *Lease, o Outcome)
	// Given up reports that the partition is no longer this member's.
	GivenUp() bool
}

// Lease is one fetched message's hold on its offset and, once buffered, on the budget.
type Lease struct {
	holder  Holder
	offset  int64
	size    atomic.Int64 // buffer bytes held; 0 while the event is not buffered
	settled atomic.Bool
}

// New returns the lease of the message at offset, held by h.
func New(h Holder, offset int64) *Lease { return &Lease{holder: h, offset: offset} }

// Offset is the leased message's offset.
func (l *Lease) Offset() int64 { return l.offset }

// Hold records that the event now holds size bytes of the buffer budget, which settling
// gives back.
func (l *Lease) Hold(size int) { l.size.Store(int64(size)) }

// Size is the buffer bytes the event holds (0 when it was never buffered).
func (l *Lease) Size() int { return int(l.size.Load()) }

// Settle ends the lease with outcome o and gives back what it held. Only the first call
// counts; it reports whether this one did.
func (l *Lease) Settle(o Outcome) bool {
	if l.settled.Swap(true) {
		return false
	}
	l.holder.Release(l, o)
	return true
}

// Settled reports whether the lease has ended.
func (l *Lease) Settled() bool { return l.settled.Load() }

// Stale reports that the partition was given up: delivering the event is pointless, as the
// next owner reads it again.
func (l *Lease) Stale() bool { return l.holder.GivenUp() }
