package lease

import "testing"

// holder records what it was given back.
type holder struct {
	released []Outcome
	givenUp  bool
}

func (h *holder) Release(_ *Lease, o Outcome) { h.released = append(h.released, o) }
func (h *holder) GivenUp() bool               { return h.givenUp }

func TestSettledOnceWithTheFirstOutcome(t *testing.T) {
	h := &holder{}
	l := New(h, 42)
	l.Hold(1500)
	if !l.Settle(DeadLettered) {
		t.Fatal("the first settle must count")
	}
	if l.Settle(Acknowledged) || l.Settle(Abandoned) {
		t.Error("a second settle must not count")
	}
	if len(h.released) != 1 || h.released[0] != DeadLettered {
		t.Errorf("released %v, want one dead_lettered", h.released)
	}
	if l.Offset() != 42 || l.Size() != 1500 || !l.Settled() {
		t.Errorf("offset %d size %d settled %v, want 42, 1500, true", l.Offset(), l.Size(), l.Settled())
	}
}

func TestStaleFollowsThePartition(t *testing.T) {
	h := &holder{}
	l := New(h, 1)
	if l.Stale() {
		t.Error("stale while the partition is held")
	}
	h.givenUp = true
	if !l.Stale() {
		t.Error("not stale once the partition was given up")
	}
}
