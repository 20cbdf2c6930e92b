package demo

import (
	"slices"

	"github.com/notifierd/notifierd/internal/testbed"
)

// Located is where a message sits in the events topic; ID is its HeaderID header.
type Located = testbed.Located

// DeadLetter is one message of the dead-letter topic, by the source it names.
type DeadLetter = testbed.DeadLetter

// Outcomes is what the demo reads back once notifierd has stopped.
type Outcomes struct {
	Topic       []Located      // every message of the events topic
	Acked       map[string]int // notification id -> times Target acknowledged it
	DeadLetters []DeadLetter   // every message of the dead-letter topic
	Committed   map[int]int64  // the group's committed offset per partition, -1 for none
	End         map[int]int64  // end offset per partition
}

// Accounting says what became of every produced event. Each produced event is counted in
// exactly one of Acknowledged, DeadLettered, Lost, Pending and Missing.
type Accounting struct {
	Produced int // messages the broker confirmed, plus unconfirmed ones found in the topic
	Valid    int
	Invalid  int // invalid on purpose

	Acknowledged int            // distinct produced ids Target acknowledged
	DeadLettered int            // not acknowledged, and in the dead-letter topic
	DeadByReason map[string]int // DeadLettered by the reason notifierd gave
	Lost         int            // no outcome, yet below the committed offset: skipped for good
	Pending      int            // no outcome, at or past the committed offset: redelivered on restart
	Missing      int            // confirmed by the broker but not in the topic

	ValidDeadLettered   int // valid events that Target rejected
	InvalidAcknowledged int // events that should have been dead-lettered
	WrongReason         int // invalid events dead-lettered with another reason than intended
	AckedAndDead        int // acknowledged and also in the dead-letter topic
	DuplicateAcks       int // acknowledgements beyond an id's first
	DuplicateDead       int // dead letters beyond a source offset's first
	Foreign             int // messages in the topic the generator did not produce

	Partitions   int
	CommittedSum int64
	EndSum       int64
	Uncommitted  []int // partitions whose committed offset is not the end offset
}

// OK reports whether every produced event reached an outcome and every offset is committed.
func (a Accounting) OK() bool {
	return a.Produced > 0 && a.Pending == 0 && len(a.Uncommitted) == 0 && a.NothingLost()
}

// NothingLost reports whether every produced event either reached the right outcome or is
// still in Kafka past the committed offset, to be delivered when a consumer comes back: the
// at-least-once promise, even for a run cut short.
func (a Accounting) NothingLost() bool {
	return a.Lost == 0 && a.Missing == 0 && a.InvalidAcknowledged == 0 && a.Foreign == 0
}

// Account classifies the generated messages: the first confirmed were confirmed by the
// broker; later ones count as produced only when they are in the topic anyway (a write that
// reached the broker but was cut short). topic is the events topic's name.
func Account(generated []Message, confirmed int, topic string, o Outcomes) Accounting {
	a := Accounting{DeadByReason: map[string]int{}, Partitions: len(o.End)}
	dead := slices.DeleteFunc(slices.Clone(o.DeadLetters), func(d DeadLetter) bool { return d.Topic != topic })
	l := testbed.NewLedger(o.Topic, o.Acked, dead, o.Committed)
	known := make(map[string]bool, len(generated))
	for i, m := range generated {
		known[m.ID] = true
		e, inTopic := l.Entry(m.ID)
		if i >= confirmed && !inTopic {
			continue // never reached the broker
		}
		a.Produced++
		if m.Valid() {
			a.Valid++
		} else {
			a.Invalid++
		}
		if !inTopic {
			a.Missing++
			continue
		}
		// One outcome per event, whatever copies a retried write left: acknowledged wins.
		a.DuplicateAcks += max(e.Acks-1, 0)
		var letters []string
		committed := true
		for _, c := range e.Copies {
			letters = append(letters, c.Dead...)
			a.DuplicateDead += max(len(c.Dead)-1, 0)
			committed = committed && c.Committed
		}
		switch {
		case e.Acks > 0:
			a.Acknowledged++
			if !m.Valid() {
				a.InvalidAcknowledged++
			}
			if len(letters) > 0 {
				a.AckedAndDead++
			}
		case len(letters) > 0:
			a.DeadLettered++
			a.DeadByReason[letters[0]]++
			if m.Valid() {
				a.ValidDeadLettered++
			} else if letters[0] != m.WantReason() {
				a.WrongReason++
			}
		case committed:
			a.Lost++
		default:
			a.Pending++
		}
	}
	for _, e := range l.Entries {
		if !known[e.ID] {
			a.Foreign += len(e.Copies)
		}
	}
	for p, end := range o.End {
		a.EndSum += end
		a.CommittedSum += max(o.Committed[p], 0)
	}
	a.Uncommitted = testbed.Uncommitted(o.Committed, o.End)
	return a
}
