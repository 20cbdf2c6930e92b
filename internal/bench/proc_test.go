package bench

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// The command name may contain spaces and parentheses.
	line := "4242 (noti fier) d)) S 1 4242 4242 0 -1 4194560 1513 0 0 0 250 37 0 0 20 0 9 0 12345 1234567 890 18446744073709551615\n"
	u, s, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if u != 2500*time.Millisecond || s != 370*time.Millisecond {
		t.Errorf("got user %v sys %v, want 2.5s 370ms", u, s)
	}
	if _, _, err := parseStat("garbage"); err == nil {
		t.Error("no error for garbage")
	}
}

func TestProcOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, _, err := ProcCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	rss, hwm, err := ProcMem(os.Getpid())
	if err != nil || rss <= 0 || hwm < rss {
		t.Errorf("ProcMem = %d, %d, %v", rss, hwm, err)
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tnotifierd\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n"
	m := parseStatus(bufio.NewScanner(strings.NewReader(in)))
	if m["VmHWM"] != 200<<20 || m["VmRSS"] != 100<<20 {
		t.Errorf("got %v", m)
	}
	if _, ok := m["Threads"]; ok {
		t.Error("a line without kB was read")
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP notifierd_batches_total Batches closed.
# TYPE notifierd_batches_total counter
notifierd_batches_total{trigger="full"} 12
notifierd_batches_total{trigger="linger"} 3.5e+06
notifierd_buffered_events 42
go_gc_duration_seconds_count 7
`
	m := ParseMetrics(in)
	if m["notifierd_buffered_events"] != 42 || m["go_gc_duration_seconds_count"] != 7 {
		t.Errorf("got %v", m)
	}
	by := metricsByLabel(m, "notifierd_batches_total")
	if len(by) != 2 || by["full"] != 12 || by["linger"] != 3.5e6 {
		t.Errorf("by label: got %v", by)
	}
}

func TestParseMachineStat(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, total := parseMachineStat("cpu  100 5 50 800 20 3 2 0 40 0")
	if total != 980 || busy != 160 {
		t.Errorf("got busy %d total %d, want 160 980", busy, total)
	}
	if b, tot := parseMachineStat("cpu0 1 2 3 4"); b != 0 || tot != 0 {
		t.Error("a per-core line was read as the total")
	}
}
