package testbed

import (
	"maps"
	"strings"
	"testing"
)

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
