package chaos

import (
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\tnotifierd\nVmPeak:\t 1300000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n"
	m, err := parseStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.HWM != 40<<20 || m.RSS != 20<<20 {
		t.Errorf("memory = %+v", m)
	}
	if _, err := parseStatus(strings.NewReader("Name:\tzombie\nState:\tZ (zombie)\n")); err == nil {
		t.Error("a status without VmRSS parsed")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP notifierd_events_invalid_total Messages that are not valid events, by reason.
# TYPE notifierd_events_invalid_total counter
notifierd_events_invalid_total{reason="bad_json"} 3
notifierd_events_invalid_total{reason="too_large"} 2
notifierd_buffered_bytes 1.048576e+06
notifierd_consumer_lag{partition="0",topic="a b}c"} 7
notifierd_request_duration_seconds_bucket{status_class="2xx",le="+Inf"} 12 1700000000000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := parseMetrics(strings.NewReader("broken{ 1\n")); err == nil {
		t.Error("a broken line parsed")
	}
}
