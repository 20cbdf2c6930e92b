package testbed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/notifierd/notifierd/internal/dlq"
)

// Located is one message of an events topic: the id its producer gave it, and where it sits.
type Located struct {
	ID        string
	Partition int
	Offset    int64
}

func (l Located) at() string {
	return strconv.Itoa(l.Partition) + "/" + strconv.FormatInt(l.Offset, 10)
}

// DeadLetter is one message of a dead-letter topic, by the source it names.
type DeadLetter struct {
	Topic     string // the source topic
	Partition int
	Offset    int64
	Reason    string
	Error     string // the explanation notifierd gave
}

// ReadDeadLetters reads dlqTopic back; every message must name its source partition and offset.
func (a Admin) ReadDeadLetters(ctx context.Context, dlqTopic string) ([]DeadLetter, error) {
	msgs, err := a.ReadAll(ctx, dlqTopic)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		p, err1 := strconv.Atoi(dlq.Header(m, dlq.HeaderPartition))
		o, err2 := strconv.ParseInt(dlq.Header(m, dlq.HeaderOffset), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("dead letter %d/%d: bad source headers: %w", m.Partition, m.Offset, err)
		}
		out = append(out, DeadLetter{
			Topic: dlq.Header(m, dlq.HeaderTopic), Partition: p, Offset: o,
			Reason: dlq.Header(m, dlq.HeaderReason), Error: dlq.Header(m, dlq.HeaderError),
		})
	}
	return out, nil
}

// Copy is one message carrying an id: a retried write may have appended the same message
// twice, and each copy needs an outcome of its own.
type Copy struct {
	Located
	Dead      []string // reasons of the dead letters naming this offset, in the topic's order
	Committed bool     // below the group's committed offset: the group is done with it
}

// Entry is what became of one id: its copies in the events topic, and how often Target
// acknowledged the id.
type Entry struct {
	ID     string
	Copies []Copy
	Acks   int
}

// Outcome is an entry's copies by outcome. A copy a dead letter names is dead-lettered; of
// the others, as many as Target acknowledged the id are acknowledged, and the rest are lost
// when the group committed past them, else pending (fetched again on restart).
type Outcome struct {
	Acked, DeadLettered, Pending, Lost int
	AckDuplicates                      int // acknowledgements beyond one per copy not dead-lettered
	DeadDuplicates                     int // dead letters beyond one per copy
}

// Outcome settles the entry's copies.
func (e Entry) Outcome() Outcome {
	var o Outcome
	var waiting []Copy
	for _, c := range e.Copies {
		if len(c.Dead) == 0 {
			waiting = append(waiting, c)
			continue
		}
		o.DeadLettered++
		o.DeadDuplicates += len(c.Dead) - 1
	}
	o.Acked = min(e.Acks, len(waiting))
	o.AckDuplicates = e.Acks - o.Acked
	for _, c := range waiting[o.Acked:] {
		if c.Committed {
			o.Lost++
		} else {
			o.Pending++
		}
	}
	return o
}

// Ledger is an events topic settled against Target's acknowledgements (id -> times
// acknowledged), the dead letters of that topic and the group's committed offsets (nil: none).
type Ledger struct {
	Entries   []Entry  // one per id, in the order of the id's first copy in the topic
	StrayAcks []string // acknowledged ids never in the topic, sorted
	StrayDead []string // partition/offset of dead letters naming no message of the topic, sorted
	byID      map[string]int
}

// NewLedger settles topic, every message of the events topic, against the outcomes.
func NewLedger(topic []Located, acks map[string]int, dead []DeadLetter, committed map[int]int64) *Ledger {
	l := &Ledger{byID: map[string]int{}}
	deadAt := map[Located][]string{}
	for _, d := range dead {
		at := Located{Partition: d.Partition, Offset: d.Offset}
		deadAt[at] = append(deadAt[at], d.Reason)
	}
	for _, m := range topic {
		i, seen := l.byID[m.ID]
		if !seen {
			i = len(l.Entries)
			l.byID[m.ID] = i
			l.Entries = append(l.Entries, Entry{ID: m.ID, Acks: acks[m.ID]})
		}
		at := Located{Partition: m.Partition, Offset: m.Offset}
		c, ok := committed[m.Partition]
		l.Entries[i].Copies = append(l.Entries[i].Copies, Copy{Located: m, Dead: deadAt[at], Committed: ok && m.Offset < c})
		delete(deadAt, at)
	}
	for id, n := range acks {
		if _, ok := l.byID[id]; !ok && n > 0 {
			l.StrayAcks = append(l.StrayAcks, id)
		}
	}
	sort.Strings(l.StrayAcks)
	for at := range deadAt {
		l.StrayDead = append(l.StrayDead, at.at())
	}
	sort.Strings(l.StrayDead)
	return l
}

// Entry returns what became of id, if the topic holds it.
func (l *Ledger) Entry(id string) (Entry, bool) {
	i, ok := l.byID[id]
	if !ok {
		return Entry{}, false
	}
	return l.Entries[i], true
}

// Uncommitted returns the partitions, sorted, whose committed offset (missing or -1: none) is
// not their end offset; a partition that never held a message needs no commit.
func Uncommitted(committed, end map[int]int64) []int {
	var out []int
	for _, p := range slices.Sorted(maps.Keys(end)) {
		c, ok := committed[p]
		if !ok {
			c = -1
		}
		if c != end[p] && (c >= 0 || end[p] > 0) {
			out = append(out, p)
		}
	}
	return out
}
