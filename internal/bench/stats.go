package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted, ascending
// durations: the smallest value that at least p % of them do not exceed. Zero for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Latencies summarises the delays from produce to first acknowledgement.
type Latencies struct {
	Count              int
	P50, P90, P99, Max time.Duration
}

// SummarizeLatencies sorts d in place and returns its p50, p99 and maximum.
func SummarizeLatencies(d []time.Duration) Latencies {
	slices.Sort(d)
	l := Latencies{Count: len(d), P50: Percentile(d, 50), P90: Percentile(d, 90), P99: Percentile(d, 99)}
	if len(d) > 0 {
		l.Max = d[len(d)-1]
	}
	return l
}

// PerSecond is n over the elapsed time, zero when no time elapsed.
func PerSecond(n int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}
