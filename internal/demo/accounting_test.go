package demo

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

// acctFixture is six produced messages (ids m0..m5; m4 and m5 invalid) on two partitions:
// m0, m2, m4 on partition 0 at offsets 0, 1, 2; m1, m3, m5 on partition 1 at 0, 1, 2.
func acctFixture() ([]Message, Outcomes) {
	msgs := []Message{
		{ID: "m0", Kind: KindDisplay}, {ID: "m1", Kind: KindClick}, {ID: "m2", Kind: KindDisplay},
		{ID: "m3", Kind: KindDisplay}, {ID: "m4", Kind: KindBadJSON}, {ID: "m5", Kind: KindNoTokens},
	}
	o := Outcomes{
		Topic: []Located{
			{ID: "m0", Partition: 0, Offset: 0}, {ID: "m2", Partition: 0, Offset: 1}, {ID: "m4", Partition: 0, Offset: 2},
			{ID: "m1", Partition: 1, Offset: 0}, {ID: "m3", Partition: 1, Offset: 1}, {ID: "m5", Partition: 1, Offset: 2},
		},
		Acked: map[string]int{"m0": 1, "m1": 1, "m2": 1, "m3": 1},
		DeadLetters: []DeadLetter{
			{Topic: "events", Partition: 0, Offset: 2, Reason: "bad_json"},
			{Topic: "events", Partition: 1, Offset: 2, Reason: "missing_field"},
		},
		Committed: map[int]int64{0: 3, 1: 3},
		End:       map[int]int64{0: 3, 1: 3},
	}
	return msgs, o
}

func TestAccount(t *testing.T) {
	for _, tc := range []struct {
		name      string
		confirmed int
		change    func(msgs []Message, o *Outcomes)
		want      func(a *Accounting) // applied to the all-good accounting
		ok, safe  bool
	}{
		{name: "all good", confirmed: 6, ok: true, safe: true},
		{
			name: "duplicates are counted, not failures", confirmed: 6,
			change: func(_ []Message, o *Outcomes) {
				o.Acked["m0"] = 3
				o.DeadLetters = append(o.DeadLetters, o.DeadLetters[0])
			},
			want: func(a *Accounting) { a.DuplicateAcks, a.DuplicateDead = 2, 1 },
			ok:   true, safe: true,
		},
		{
			name: "no outcome below the committed offset is lost", confirmed: 6,
			change: func(_ []Message, o *Outcomes) { delete(o.Acked, "m2") },
			want:   func(a *Accounting) { a.Acknowledged, a.Lost = 3, 1 },
		},
		{
			name: "no outcome past the committed offset is pending", confirmed: 6,
			change: func(_ []Message, o *Outcomes) {
				delete(o.Acked, "m3")
				o.DeadLetters = o.DeadLetters[:1]
				o.Committed[1] = 1
			},
			want: func(a *Accounting) {
				a.Acknowledged, a.DeadLettered, a.Pending = 3, 1, 2
				a.DeadByReason = map[string]int{"bad_json": 1}
				a.CommittedSum, a.Uncommitted = 4, []int{1}
			},
			safe: true,
		},
		{
			name: "a partition without any commit is pending", confirmed: 6,
			change: func(_ []Message, o *Outcomes) {
				delete(o.Acked, "m1")
				delete(o.Acked, "m3")
				o.DeadLetters = o.DeadLetters[:1]
				o.Committed[1] = -1
			},
			want: func(a *Accounting) {
				a.Acknowledged, a.DeadLettered, a.Pending = 2, 1, 3
				a.DeadByReason = map[string]int{"bad_json": 1}
				a.CommittedSum, a.Uncommitted = 3, []int{1}
			},
			safe: true,
		},
		{
			name: "unconfirmed messages count only when they reached the topic", confirmed: 4,
			change: func(_ []Message, o *Outcomes) {
				o.Topic = slices.DeleteFunc(o.Topic, func(l Located) bool { return l.ID == "m5" })
				o.DeadLetters = o.DeadLetters[:1]
				o.End[1], o.Committed[1] = 2, 2
			},
			want: func(a *Accounting) {
				a.Produced, a.Invalid, a.DeadLettered = 5, 1, 1
				a.DeadByReason = map[string]int{"bad_json": 1}
				a.CommittedSum, a.EndSum = 5, 5
			},
			ok: true, safe: true,
		},
		{
			name: "a confirmed message not in the topic is missing", confirmed: 6,
			change: func(_ []Message, o *Outcomes) {
				o.Topic = slices.DeleteFunc(o.Topic, func(l Located) bool { return l.ID == "m3" })
				delete(o.Acked, "m3")
			},
			want: func(a *Accounting) { a.Acknowledged, a.Missing = 3, 1 },
		},
		{
			name: "Target rejecting a valid event and the wrong reason are anomalies, not failures", confirmed: 6,
			change: func(_ []Message, o *Outcomes) {
				delete(o.Acked, "m3")
				o.DeadLetters = append(o.DeadLetters, DeadLetter{Topic: "events", Partition: 1, Offset: 1, Reason: "target_rejected"})
				o.DeadLetters[1].Reason = "bad_value"
			},
			want: func(a *Accounting) {
				a.Acknowledged, a.DeadLettered, a.ValidDeadLettered, a.WrongReason = 3, 3, 1, 1
				a.DeadByReason = map[string]int{"bad_json": 1, "bad_value": 1, "target_rejected": 1}
			},
			ok: true, safe: true,
		},
		{
			name: "an acknowledged invalid event is a failure", confirmed: 6,
			change: func(_ []Message, o *Outcomes) { o.Acked["m5"] = 1 },
			want: func(a *Accounting) {
				a.Acknowledged, a.DeadLettered, a.InvalidAcknowledged, a.AckedAndDead = 5, 1, 1, 1
				a.DeadByReason = map[string]int{"bad_json": 1}
			},
		},
		{
			name: "dead letters of another topic do not count", confirmed: 6,
			change: func(_ []Message, o *Outcomes) { o.DeadLetters[1].Topic = "other" },
			want: func(a *Accounting) {
				a.DeadLettered, a.Lost = 1, 1
				a.DeadByReason = map[string]int{"bad_json": 1}
			},
		},
		{
			name: "a foreign message in the topic is a failure", confirmed: 6,
			change: func(_ []Message, o *Outcomes) {
				o.Topic = append(o.Topic, Located{ID: "stranger", Partition: 0, Offset: 3})
				o.End[0], o.Committed[0] = 4, 4
			},
			want: func(a *Accounting) { a.Foreign, a.CommittedSum, a.EndSum = 1, 7, 7 },
		},
		{
			name: "a commit short of the end fails the run even when all has an outcome", confirmed: 6,
			change: func(_ []Message, o *Outcomes) { o.Committed[0] = 2 },
			want:   func(a *Accounting) { a.CommittedSum, a.Uncommitted = 5, []int{0} },
			safe:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, o := acctFixture()
			if tc.change != nil {
				tc.change(msgs, &o)
			}
			want := Accounting{
				Produced: 6, Valid: 4, Invalid: 2, Acknowledged: 4, DeadLettered: 2,
				DeadByReason: map[string]int{"bad_json": 1, "missing_field": 1},
				Partitions:   2, CommittedSum: 6, EndSum: 6,
			}
			if tc.want != nil {
				tc.want(&want)
			}
			got := Account(msgs, tc.confirmed, "events", o)
			if !equalAccounting(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if sum := got.Acknowledged + got.DeadLettered + got.Lost + got.Pending + got.Missing; sum != got.Produced {
				t.Errorf("outcomes add up to %d, produced %d", sum, got.Produced)
			}
			if got.OK() != tc.ok || got.NothingLost() != tc.safe {
				t.Errorf("OK() = %v, NothingLost() = %v; want %v, %v", got.OK(), got.NothingLost(), tc.ok, tc.safe)
			}
		})
	}
}

func equalAccounting(a, b Accounting) bool {
	if !maps.Equal(a.DeadByReason, b.DeadByReason) || !slices.Equal(a.Uncommitted, b.Uncommitted) {
		return false
	}
	a.DeadByReason, b.DeadByReason, a.Uncommitted, b.Uncommitted = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestAccountNothingProducedIsNotOK(t *testing.T) {
	if a := Account(nil, 0, "events", Outcomes{}); a.OK() {
		t.Errorf("an empty run is OK: %+v", a)
	}
}
