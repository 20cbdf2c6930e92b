package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name string
		d    []time.Duration
		p    float64
		want time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p100", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the min", ms(3, 4), 0.1, 3 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.d, tc.p); got != tc.want {
				t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeLatenciesSorts(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	l := SummarizeLatencies(d)
	if l.Count != 5 || l.P50 != 3 || l.P99 != 5 || l.Max != 5 {
		t.Errorf("got %+v", l)
	}
	if z := SummarizeLatencies(nil); z != (Latencies{}) {
		t.Errorf("empty: got %+v", z)
	}
}

func TestPerSecond(t *testing.T) {
	if got := PerSecond(500, 2*time.Second); got != 250 {
		t.Errorf("got %v", got)
	}
	if got := PerSecond(500, 0); got != 0 {
		t.Errorf("zero elapsed: got %v", got)
	}
}
