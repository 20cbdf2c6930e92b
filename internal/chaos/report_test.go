package chaos

import (
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	ok := &Result{
		Name: "kill9", Title: "kill -9 of notifierd",
		Tally:   &Tally{Produced: 12345, Acked: 12300, DeadLettered: 45, AckDuplicates: 17, ByReason: map[string]int{"bad_json": 45}},
		PeakRSS: 30 << 20, Recover: 7300 * time.Millisecond, Duration: 95 * time.Second,
		DuplicatesAllowed: true,
	}
	ok.Note("12 kills")
	bad := &Result{
		Name: "target", Title: "Target faults",
		Tally:   &Tally{Produced: 100, Acked: 98, Lost: 2, ByReason: map[string]int{}, Problems: []string{"x: lost"}},
		Recover: -1, Duration: 61 * time.Second,
	}
	bad.Fail("2 events lost")
	fuzz := &Result{Name: "fuzz", Title: "fuzz", FuzzExecs: 1234567, Recover: -1, Duration: 25 * time.Second}
	mem := &Result{Name: "memory", Title: "memory", Tally: &Tally{Produced: 5, Acked: 5, ByReason: map[string]int{}},
		PeakRSS: 50 << 20, RSSBound: 72 << 20, Recover: 12 * time.Second, Duration: time.Minute}
	return &Report{
		Command: "go run ./cmd/chaos", Started: time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC), Duration: 4 * time.Minute,
		Mode: "full", Seed: 42, Results: []*Result{ok, bad, fuzz, mem},
	}
}

func TestTableRows(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(sampleReport().Table()), "\n")
	if len(lines) != 6 {
		t.Fatalf("table has %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	want := []string{
		"| 1 | kill -9 of notifierd | PASS | 12,345 | 0 | 17 | 45 | 30.0 MiB | 7.3s | 1m35s |",
		"| 2 | Target faults | **FAIL** | 100 | 2 | 0 (must be 0) | 0 | — | — | 1m1s |",
		"| 3 | fuzz | PASS | 1,234,567 fuzz inputs | — | — | — | — | — | 25s |",
		"| 4 | memory | PASS | 5 | 0 | 0 (must be 0) | 0 | 50.0 MiB (≤ 72) | 12s | 1m0s |",
	}
	for i, w := range want {
		if lines[i+2] != w {
			t.Errorf("row %d\n got %s\nwant %s", i+1, lines[i+2], w)
		}
	}
}

func TestMarkdownHasHeaderAndDetails(t *testing.T) {
	r := sampleReport()
	md := r.Markdown()
	for _, want := range []string{
		"# Reliability", "- command: `go run ./cmd/chaos`", "- date: 2026-11-28 15:00 UTC", "- mode: full", "- seed: 42",
		"FAILED (see the failures below)", "## 2. Target faults (`--scenario target`)", "- **FAILED:** 2 events lost",
		"  - x: lost", "- 12 kills", "dead letters by reason: bad_json 45",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(md, r.Table()) {
		t.Error("markdown does not contain the printed table verbatim")
	}
	if r.Passed() {
		t.Error("report with a failure passed")
	}
	r.Results = r.Results[:1]
	if !r.Passed() || !strings.Contains(r.Markdown(), "every scenario passed") {
		t.Error("report without failures did not pass")
	}
}
