package bench

import "testing"

func TestMinRequests(t *testing.T) {
	st := func(session int32, ts ...int64) []Stamp {
		out := make([]Stamp, len(ts))
		for i, v := range ts {
			out[i] = Stamp{Session: session, TS: v}
		}
		return out
	}
	many := func(session int32, n int, ts int64) []Stamp {
		out := make([]Stamp, n)
		for i := range out {
			out[i] = Stamp{Session: session, TS: ts}
		}
		return out
	}
	cat := func(parts ...[]Stamp) []Stamp {
		var out []Stamp
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name             string
		stamps           []Stamp
		linger           int64
		maxPer           int
		wantLinger, want int64
	}{
		{"empty", nil, 200, 50, 0, 0},
		{"one event", st(1, 1000), 200, 50, 1, 1},
		{"same window", st(1, 1000, 1100, 1200), 200, 50, 1, 1},
		{"window is inclusive of linger, then a new one opens", st(1, 1000, 1200, 1201, 1300), 200, 50, 2, 1},
		{"window opens at an event, not on a grid", st(1, 1000, 1150, 1250, 1390), 200, 50, 2, 1},
		{"unsorted input", st(1, 1390, 1000, 1250, 1150), 200, 50, 2, 1},
		{"cap splits a window", many(1, 120, 5000), 200, 50, 3, 3},
		{"cap per window, not per session", cat(many(1, 30, 0), many(1, 30, 1000)), 200, 50, 2, 2},
		{"sessions never share", cat(st(1, 0, 10), st(2, 5), st(3, 0, 5000)), 200, 50, 4, 3},
		{"interleaved sessions", []Stamp{{2, 0}, {1, 0}, {2, 300}, {1, 100}, {2, 310}}, 200, 50, 3, 2},
		{"max one per request", st(1, 0, 1, 2), 200, 1, 3, 3},
		{"zero linger groups equal stamps only", st(1, 0, 0, 1), 0, 50, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotL, got := MinRequests(tc.stamps, tc.linger, tc.maxPer)
			if gotL != tc.wantLinger || got != tc.want {
				t.Errorf("MinRequests = (%d, %d), want (%d, %d)", gotL, got, tc.wantLinger, tc.want)
			}
		})
	}
}

func TestMinRequestsDoesNotReorderInput(t *testing.T) {
	in := []Stamp{{2, 5}, {1, 9}, {1, 1}}
	MinRequests(in, 200, 50)
	if in[0] != (Stamp{2, 5}) || in[2] != (Stamp{1, 1}) {
		t.Errorf("input reordered: %v", in)
	}
}
