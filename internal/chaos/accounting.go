package chaos

import (
	"fmt"
	"sort"
	"strconv"
	"time"
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

// DeadLetter is one message of the dead-letter topic, reduced to what accounting needs.
type DeadLetter struct {
	Partition int // notifierd-partition: the source partition
	Offset    int64
	Reason    string // notifierd-reason
}

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

type sourceOffset struct {
	partition int
	offset    int64
}

func (s sourceOffset) String() string {
	return strconv.Itoa(s.partition) + "/" + strconv.FormatInt(s.offset, 10)
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

	deadAt := make(map[sourceOffset][]string, len(dead))
	for _, d := range dead {
		at := sourceOffset{d.Partition, d.Offset}
		deadAt[at] = append(deadAt[at], d.Reason)
	}
	byID := map[string][]Produced{}
	var order []string
	for _, p := range produced {
		if _, seen := byID[p.ID]; !seen {
			order = append(order, p.ID)
		}
		byID[p.ID] = append(byID[p.ID], p)
	}
	known := make(map[sourceOffset]bool, len(produced))
	for _, p := range produced {
		known[sourceOffset{p.Partition, p.Offset}] = true
	}

	for _, id := range order {
		msgs := byID[id]
		t.ProducerCopies += len(msgs) - 1
		acked := acks[id]
		waiting := 0 // copies neither dead-lettered nor yet matched with an acknowledgement
		for _, m := range msgs {
			at := sourceOffset{m.Partition, m.Offset}
			reasons := deadAt[at]
			if len(reasons) == 0 {
				waiting++
				continue
			}
			t.DeadLettered++
			t.DLQDuplicates += len(reasons) - 1
			t.ByReason[reasons[0]]++
			for _, r := range reasons {
				if r != m.Expect {
					t.WrongOutcome++
					if m.Expect == ExpectAck {
						t.problem("%s (offset %s) should have been acknowledged but was dead-lettered: %s", id, at, r)
					} else {
						t.problem("%s (offset %s) dead-lettered as %s, expected %s", id, at, r, m.Expect)
					}
					break
				}
			}
		}
		matched := min(acked, waiting)
		t.Acked += matched
		t.AckDuplicates += acked - matched
		lost := waiting - matched
		t.Lost += lost
		if lost > 0 {
			t.problem("%s: lost: %d of %d message(s) neither acknowledged nor dead-lettered (expected %s; first at %d/%d)",
				id, lost, len(msgs), msgs[0].Expect, msgs[0].Partition, msgs[0].Offset)
		}
		if matched > 0 && msgs[0].Expect != ExpectAck {
			t.WrongOutcome += matched
			t.problem("%s was acknowledged by Target, expected a dead letter (%s)", id, msgs[0].Expect)
		}
	}

	var strays []string
	for id, n := range acks {
		if _, ok := byID[id]; !ok && n > 0 {
			t.Unexpected++
			strays = append(strays, id)
		}
	}
	sort.Strings(strays)
	for _, id := range strays {
		t.problem("acknowledged id %q was never produced", id)
	}
	var strayDead []string
	for at := range deadAt {
		if !known[at] {
			t.Unexpected++
			strayDead = append(strayDead, at.String())
		}
	}
	sort.Strings(strayDead)
	for _, at := range strayDead {
		t.problem("dead letter for offset %s, which was never produced", at)
	}
	return t
}

// CommitGaps compares the group's committed offsets with the partitions' end offsets and
// describes every partition where they differ. A partition that never held a message has
// end offset 0 and no commit (-1): that is no gap.
func CommitGaps(committed, end map[int]int64) []string {
	parts := make([]int, 0, len(end))
	for p := range end {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	var gaps []string
	for _, p := range parts {
		c, ok := committed[p]
		if !ok {
			c = -1
		}
		e := end[p]
		if c == e || (e == 0 && c < 0) {
			continue
		}
		gaps = append(gaps, fmt.Sprintf("partition %d: committed %d, end %d", p, c, e))
	}
	return gaps
}

// Ack is the simulator's record of one id: how many times it was acknowledged, and when
// first.
type Ack struct {
	Count int
	First time.Time
}

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
