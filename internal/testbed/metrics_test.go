package testbed

import (
	"maps"
	"strings"
	"testing"
)

func TestFamiliesSum(t *testing.T) {
	text := `# HELP notifierd_events_invalid_total Messages that are not valid events, by reason.
# TYPE notifierd_events_invalid_total counter
notifierd_events_invalid_total{reason="bad_json"} 3
notifierd_events_invalid_total{reason="too_large"} 2
notifierd_buffered_bytes 1.048576e+06
notifierd_consumer_lag{partition="0",topic="a b}c"} 7
notifierd_request_duration_seconds_bucket{status_class="2xx",le="+Inf"} 12 1700000000000
`
	fams, err := ParseFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	m := fams.Sum()
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
	if _, err := ParseFamilies(strings.NewReader("broken{ 1\n")); err == nil {
		t.Error("a broken line parsed")
	}
}

func TestFamiliesByLabel(t *testing.T) {
	in := `# HELP notifierd_batches_total Batches closed.
# TYPE notifierd_batches_total counter
notifierd_batches_total{trigger="full"} 12
notifierd_batches_total{trigger="linger"} 3.5e+06
notifierd_buffered_events 42
go_gc_duration_seconds_count 7
`
	fams, err := ParseFamilies(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	m := fams.Sum()
	if m["notifierd_buffered_events"] != 42 || m["go_gc_duration_seconds_count"] != 7 {
		t.Errorf("got %v", m)
	}
	by := fams.ByLabel("notifierd_batches_total")
	if len(by) != 2 || by["full"] != 12 || by["linger"] != 3.5e6 {
		t.Errorf("by label: got %v", by)
	}
}

const exposition = `# TYPE notifierd_offsets_skipped_total counter
notifierd_offsets_skipped_total{partition="0",reason="out_of_range",topic="events"} 5
notifierd_offsets_skipped_total{partition="1",reason="out_of_range",topic="events"} 12
notifierd_offsets_skipped_total{partition="1",reason="out_of_range",topic="other"} 7
# TYPE notifierd_consumer_lag gauge
notifierd_consumer_lag{partition="2",topic="events"} 3
# TYPE notifierd_assigned_partitions gauge
notifierd_assigned_partitions 4
`

func TestFamiliesByPartitionAndTotal(t *testing.T) {
	fams, err := ParseFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := fams.ByPartition("notifierd_offsets_skipped_total", "events", "reason", "out_of_range")
	if err != nil || !maps.Equal(skipped, map[int]float64{0: 5, 1: 12}) {
		t.Errorf("skipped by partition %v (%v), want 0: 5, 1: 12 of topic events only", skipped, err)
	}
	if lag, err := fams.ByPartition("notifierd_consumer_lag", "events"); err != nil || lag[2] != 3 {
		t.Errorf("lag %v (%v), want partition 2 at 3", lag, err)
	}
	if got := fams.Total("notifierd_offsets_skipped_total"); got != 24 {
		t.Errorf("total %g, want 24 over every series", got)
	}
	for _, tt := range []struct{ name, label string }{
		{"notifierd_assigned_partitions", ""},   // no topic or partition label
		{"notifierd_consumer_lag", "reason"},    // lacks the label filtered on
		{"notifierd_events_consumed_total", ""}, // not exported
	} {
		var labels []string
		if tt.label != "" {
			labels = []string{tt.label, "x"}
		}
		if _, err := fams.ByPartition(tt.name, "events", labels...); err == nil {
			t.Errorf("%s by %q: no error, want one naming what is missing", tt.name, tt.label)
		}
	}
}

func TestFamiliesSumCountsSummaries(t *testing.T) {
	in := `# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.25
go_gc_duration_seconds_count 9
`
	fams, err := ParseFamilies(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m := fams.Sum(); m["go_gc_duration_seconds_count"] != 9 || m["go_gc_duration_seconds_sum"] != 0.25 {
		t.Errorf("got %v, want the summary's count 9 and sum 0.25", m)
	}
}
