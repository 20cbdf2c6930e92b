package testbed

import (
	"strings"
	"testing"
)

func TestParseMetricsSum(t *testing.T) {
	text := `# HELP notifierd_events_invalid_total Messages that are not valid events, by reason.
# TYPE notifierd_events_invalid_total counter
notifierd_events_invalid_total{reason="bad_json"} 3
notifierd_events_invalid_total{reason="too_large"} 2
notifierd_buffered_bytes 1.048576e+06
notifierd_consumer_lag{partition="0",topic="a b}c"} 7
notifierd_request_duration_seconds_bucket{status_class="2xx",le="+Inf"} 12 1700000000000
`
	s, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Sum()
	want := Metrics{
		"notifierd_events_invalid_total":            5,
		"notifierd_buffered_bytes":                  1 << 20,
		"notifierd_consumer_lag":                    7,
		"notifierd_request_duration_seconds_bucket": 12,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, err := ParseMetrics(strings.NewReader("broken{ 1\n")); err == nil {
		t.Error("a broken line parsed")
	}
}

func TestParseMetricsSeries(t *testing.T) {
	in := `# HELP notifierd_batches_total Batches closed.
# TYPE notifierd_batches_total counter
notifierd_batches_total{trigger="full"} 12
notifierd_batches_total{trigger="linger"} 3.5e+06
notifierd_buffered_events 42
go_gc_duration_seconds_count 7
`
	m, err := ParseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m["notifierd_buffered_events"] != 42 || m["go_gc_duration_seconds_count"] != 7 {
		t.Errorf("got %v", m)
	}
	by := m.ByLabel("notifierd_batches_total")
	if len(by) != 2 || by["full"] != 12 || by["linger"] != 3.5e6 {
		t.Errorf("by label: got %v", by)
	}
}
