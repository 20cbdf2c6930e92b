package chaos

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAccountEverythingSettled(t *testing.T) {
	produced := []Produced{
		{0, 0, "a", ExpectAck},
		{0, 1, "b", ExpectAck},
		{1, 0, "bad-1", "bad_json"},
		{1, 1, "c", ExpectAck},
	}
	acks := map[string]int{"a": 1, "b": 1, "c": 1}
	dead := []DeadLetter{{Partition: 1, Offset: 0, Reason: "bad_json"}}
	got := Account(produced, acks, dead)
	if got.Produced != 4 || got.Acked != 3 || got.DeadLettered != 1 || got.Lost != 0 || got.Duplicates() != 0 ||
		got.WrongOutcome != 0 || got.Unexpected != 0 || len(got.Problems) != 0 {
		t.Fatalf("tally = %+v", got)
	}
	if got.ByReason["bad_json"] != 1 {
		t.Errorf("ByReason = %v", got.ByReason)
	}
}

func TestAccountLostAndDuplicates(t *testing.T) {
	produced := []Produced{
		{0, 0, "a", ExpectAck},
		{0, 1, "b", ExpectAck},
		{0, 2, "c", ExpectAck},
		{1, 0, "bad", "too_large"},
	}
	acks := map[string]int{"a": 3, "c": 1}
	dead := []DeadLetter{{Partition: 1, Offset: 0, Reason: "too_large"}, {Partition: 1, Offset: 0, Reason: "too_large"}}
	got := Account(produced, acks, dead)
	if got.Lost != 1 || got.AckDuplicates != 2 || got.DLQDuplicates != 1 || got.Duplicates() != 3 || got.Acked != 2 || got.DeadLettered != 1 {
		t.Fatalf("tally = %+v", got)
	}
	if len(got.Problems) != 1 || !strings.Contains(got.Problems[0], "b: lost") {
		t.Errorf("problems = %q", got.Problems)
	}
}

func TestAccountProducerCopiesNeedOneAckEach(t *testing.T) {
	produced := []Produced{{0, 0, "a", ExpectAck}, {0, 1, "a", ExpectAck}, {2, 5, "b", ExpectAck}}
	t.Run("both copies acknowledged: no duplicate", func(t *testing.T) {
		got := Account(produced, map[string]int{"a": 2, "b": 1}, nil)
		if got.ProducerCopies != 1 || got.Duplicates() != 0 || got.Lost != 0 || got.Acked != 3 {
			t.Fatalf("tally = %+v", got)
		}
	})
	t.Run("one copy unacknowledged: lost", func(t *testing.T) {
		got := Account(produced, map[string]int{"a": 1, "b": 1}, nil)
		if got.Lost != 1 || got.Acked != 2 {
			t.Fatalf("tally = %+v", got)
		}
	})
}

func TestAccountWrongOutcomes(t *testing.T) {
	produced := []Produced{
		{0, 0, "good", ExpectAck},
		{0, 1, "bad-reason", "missing_field"},
		{0, 2, "bad-acked", "target_rejected"},
	}
	acks := map[string]int{"bad-acked": 1}
	dead := []DeadLetter{{Partition: 0, Offset: 0, Reason: "target_rejected"}, {Partition: 0, Offset: 1, Reason: "bad_json"}}
	got := Account(produced, acks, dead)
	if got.WrongOutcome != 3 || got.Lost != 0 {
		t.Fatalf("tally = %+v", got)
	}
	want := []string{"should have been acknowledged", "dead-lettered as bad_json, expected missing_field", "acknowledged by Target, expected a dead letter"}
	for i, w := range want {
		if i >= len(got.Problems) || !strings.Contains(got.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to mention %q", i, got.Problems, w)
		}
	}
}

func TestAccountUnexpected(t *testing.T) {
	got := Account([]Produced{{0, 0, "a", ExpectAck}}, map[string]int{"a": 1, "ghost": 1}, []DeadLetter{{Partition: 7, Offset: 9, Reason: "bad_json"}})
	if got.Unexpected != 2 || len(got.Problems) != 2 {
		t.Fatalf("tally = %+v", got)
	}
}

func TestAccountProblemsAreBounded(t *testing.T) {
	var produced []Produced
	for i := range 100 {
		produced = append(produced, Produced{0, int64(i), "id" + string(rune('A'+i%26)) + string(rune('a'+i/26)), ExpectAck})
	}
	got := Account(produced, nil, nil)
	if got.Lost != 100 || len(got.Problems) != maxProblems {
		t.Fatalf("lost %d, %d problems", got.Lost, len(got.Problems))
	}
}

func TestCommitGaps(t *testing.T) {
	end := map[int]int64{0: 10, 1: 0, 2: 7}
	if gaps := CommitGaps(map[int]int64{0: 10, 1: -1, 2: 7}, end); len(gaps) != 0 {
		t.Errorf("gaps = %q, want none", gaps)
	}
	gaps := CommitGaps(map[int]int64{0: 9, 1: -1}, end)
	if len(gaps) != 2 || gaps[0] != "partition 0: committed 9, end 10" || gaps[1] != "partition 2: committed -1, end 7" {
		t.Errorf("gaps = %q", gaps)
	}
}

func TestLateDuplicates(t *testing.T) {
	kill := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	produced := []Produced{{0, 0, "early", ExpectAck}, {0, 1, "late", ExpectAck}, {0, 2, "once", ExpectAck}, {0, 3, "copied", ExpectAck}, {0, 4, "copied", ExpectAck}}
	acks := map[string]Ack{
		"early":  {Count: 2, First: kill.Add(-time.Second)},
		"late":   {Count: 2, First: kill.Add(time.Second)},
		"once":   {Count: 1, First: kill.Add(time.Second)},
		"copied": {Count: 2, First: kill.Add(time.Second)}, // two messages, two acknowledgements: no duplicate
		"ghost":  {Count: 3, First: kill.Add(time.Second)}, // never produced: Account reports it
	}
	if got := LateDuplicates(produced, acks, kill); !slices.Equal(got, []string{"late"}) {
		t.Errorf("late duplicates = %q, want [late]", got)
	}
	if got := AckCounts(acks); got["early"] != 2 || got["once"] != 1 || len(got) != 5 {
		t.Errorf("counts = %v", got)
	}
}
