package testbed

import (
	"slices"
	"testing"
)

func TestLedger(t *testing.T) {
	// a twice (a retried write), b, c and d once; partition 0 committed up to offset 3.
	topic := []Located{{"a", 0, 0}, {"b", 0, 1}, {"a", 0, 2}, {"c", 0, 3}, {"d", 1, 0}}
	dead := []DeadLetter{{Partition: 0, Offset: 1, Reason: "bad_json"}, {Partition: 0, Offset: 1, Reason: "bad_json"}, {Partition: 5, Offset: 5}}
	l := NewLedger(topic, map[string]int{"a": 1, "d": 3, "ghost": 1}, dead, map[int]int64{0: 3})
	for _, tc := range []struct {
		id   string
		want Outcome
	}{
		{"a", Outcome{Acked: 1, Lost: 1}}, // one copy acknowledged, the other committed past
		{"b", Outcome{DeadLettered: 1, DeadDuplicates: 1}},
		{"c", Outcome{Pending: 1}},
		{"d", Outcome{Acked: 1, AckDuplicates: 2}},
	} {
		e, ok := l.Entry(tc.id)
		if got := e.Outcome(); !ok || got != tc.want {
			t.Errorf("%s: outcome %+v, want %+v", tc.id, got, tc.want)
		}
	}
	if ids := []string{l.Entries[0].ID, l.Entries[1].ID}; !slices.Equal(ids, []string{"a", "b"}) || len(l.Entries) != 4 {
		t.Errorf("entries %+v, want one per id in topic order", l.Entries)
	}
	if !slices.Equal(l.StrayAcks, []string{"ghost"}) || !slices.Equal(l.StrayDead, []string{"5/5"}) {
		t.Errorf("strays: acks %q, dead letters %q", l.StrayAcks, l.StrayDead)
	}
}

func TestUncommitted(t *testing.T) {
	end := map[int]int64{0: 10, 1: 0, 2: 7, 3: 4}
	if got := Uncommitted(map[int]int64{0: 10, 1: -1, 2: 7, 3: 4}, end); len(got) != 0 {
		t.Errorf("uncommitted %v, want none", got)
	}
	if got := Uncommitted(map[int]int64{0: 9, 1: -1, 3: 4}, end); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("uncommitted %v, want [0 2]", got)
	}
}
