package chaos

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// ExpectAck is the expected outcome of a valid event: Target acknowledges it. Any other
// expectation is the dead-letter reason code the event must carry.
const ExpectAck = "ack"

// Message headers the suite puts on every produced message, so the events topic read back
// says, for each offset, which event it holds and what must become of it (the value of a bad
// event may not even be JSON).
const (
	HeaderID     = "chaos-id"
	HeaderExpect = "chaos-expect"
)

// Produced is one message of the events topic, as read back after the run.
type Produced struct {
	Partition int
	Offset    int64
	ID        string // HeaderID: the notification id of a valid event, a label for a bad one
	Expect    string // ExpectAck or the expected dead-letter reason
}

// DeadLetter is one message of the dead-letter topic, by the source it names.
type DeadLetter = testbed.DeadLetter

// Tally is the outcome of one scenario, event by event.
type Tally struct {
	Produced       int // messages in the events topic
	Acked          int // of them, acknowledged by Target
	DeadLettered   int // of them, in the dead-letter topic (distinct source offsets)
	Lost           int // neither: Produced - Acked - DeadLettered
	AckDuplicates  int // acknowledgements beyond one per message carrying the id
	DLQDuplicates  int // dead-letter copies beyond one per source offset
	ProducerCopies int // messages the producer wrote twice (a retried write): same id, two offsets
	WrongOutcome   int // dead-lettered with another reason, or acknowledged when it should not be, or the reverse
	Unexpected     int // acknowledgements of ids never produced, dead letters of offsets never produced
	ByReason       map[string]int
	Problems       []string // the first few problems, for the report
}

// Duplicates is every delivery beyond the first: acknowledgements and dead-letter copies.
func (t Tally) Duplicates() int { return t.AckDuplicates + t.DLQDuplicates }

// maxProblems bounds Tally.Problems; the counters hold the totals.
const maxProblems = 12

func (t *Tally) problem(format string, args ...any) {
	if len(t.Problems) < maxProblems {
		t.Problems = append(t.Problems, fmt.Sprintf(format, args...))
	}
}

// Account settles every produced message against the simulator's acknowledgements (id ->
// times acknowledged) and the dead-letter topic.
//
// A message is acknowledged when its id was acknowledged; when the producer wrote the same id
// at several offsets (a write retried after an error whose batch had in fact been appended),
// each copy is a message of its own and needs an acknowledgement of its own, so a copy is
// never mistaken for a duplicate delivery nor hides a lost one.
func Account(produced []Produced, acks map[string]int, dead []DeadLetter) Tally {
	t := Tally{Produced: len(produced), ByReason: map[string]int{}}
	expect := make(map[string]string, len(produced))
	located := make([]testbed.Located, len(produced))
	for i, p := range produced {
		expect[p.ID], located[i] = p.Expect, testbed.Located{ID: p.ID, Partition: p.Partition, Offset: p.Offset}
	}
	// No committed offsets: after the final stop, a message with no outcome is lost, whether
	// or not the group committed past it.
	l := testbed.NewLedger(located, acks, dead, nil)
	for _, e := range l.Entries {
		want, o := expect[e.ID], e.Outcome()
		t.ProducerCopies += len(e.Copies) - 1
		t.Acked += o.Acked
		t.DeadLettered += o.DeadLettered
		t.AckDuplicates += o.AckDuplicates
		t.DLQDuplicates += o.DeadDuplicates
		for _, c := range e.Copies {
			if len(c.Dead) == 0 {
				continue
			}
			t.ByReason[c.Dead[0]]++
			i := slices.IndexFunc(c.Dead, func(r string) bool { return r != want })
			switch {
			case i < 0:
			case want == ExpectAck:
				t.WrongOutcome++
				t.problem("%s (offset %d/%d) should have been acknowledged but was dead-lettered: %s", e.ID, c.Partition, c.Offset, c.Dead[i])
			default:
				t.WrongOutcome++
				t.problem("%s (offset %d/%d) dead-lettered as %s, expected %s", e.ID, c.Partition, c.Offset, c.Dead[i], want)
			}
		}
		if lost := o.Lost + o.Pending; lost > 0 {
			t.Lost += lost
			t.problem("%s: lost: %d of %d message(s) neither acknowledged nor dead-lettered (expected %s; first at %d/%d)",
				e.ID, lost, len(e.Copies), want, e.Copies[0].Partition, e.Copies[0].Offset)
		}
		if o.Acked > 0 && want != ExpectAck {
			t.WrongOutcome += o.Acked
			t.problem("%s was acknowledged by Target, expected a dead letter (%s)", e.ID, want)
		}
	}
	for _, id := range l.StrayAcks {
		t.Unexpected++
		t.problem("acknowledged id %q was never produced", id)
	}
	for _, at := range l.StrayDead {
		t.Unexpected++
		t.problem("dead letter for offset %s, which was never produced", at)
	}
	return t
}

// CommitGaps compares the group's committed offsets with the partitions' end offsets and
// describes every partition where they differ. A partition that never held a message has
// end offset 0 and no commit (-1): that is no gap.
func CommitGaps(committed, end map[int]int64) []string {
	var gaps []string
	for _, p := range testbed.Uncommitted(committed, end) {
		c, ok := committed[p]
		if !ok {
			c = -1
		}
		gaps = append(gaps, fmt.Sprintf("partition %d: committed %d, end %d", p, c, end[p]))
	}
	return gaps
}

// Ack is the simulator's record of one id: times acknowledged, and when first.
type Ack = testbed.Ack

// AckCounts reduces acks to id -> times acknowledged, for Account.
func AckCounts(acks map[string]Ack) map[string]int {
	out := make(map[string]int, len(acks))
	for id, a := range acks {
		out[id] = a.Count
	}
	return out
}

// LateDuplicates returns the ids acknowledged more often than they were produced whose first
// acknowledgement came after cutoff, sorted. Duplicates come only from work in flight when a
// member dies: an id first acknowledged after the last kill was delivered twice without one.
func LateDuplicates(produced []Produced, acks map[string]Ack, cutoff time.Time) []string {
	copies := map[string]int{}
	for _, p := range produced {
		copies[p.ID]++
	}
	var late []string
	for id, a := range acks {
		if a.Count > copies[id] && copies[id] > 0 && a.First.After(cutoff) {
			late = append(late, id)
		}
	}
	sort.Strings(late)
	return late
}
