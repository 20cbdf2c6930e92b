package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

func snapshotFixture() Snapshot {
	return Snapshot{
		Elapsed: 2500 * time.Millisecond, Target: 5000, Produced: 2500,
		Daemon: DaemonNumbers{Consumed: 2400, Requests: 600, Notifications: 2100, Retries: 12, DeadLettered: 25, Committed: 2000, Lag: 400},
		Sim:    targetsim.Stats{Unique: 2075},
	}
}

func TestDisplayPlainLines(t *testing.T) {
	var b strings.Builder
	d := NewDisplay(&b, false)
	d.Show(snapshotFixture())
	d.Show(snapshotFixture())
	out := b.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape sequences in plain output: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per snapshot: %q", len(lines), out)
	}
	for _, want := range []string{"produced 2500/5000", "consumed 2400", "requests 600 (3.5/req)", "retries 12", "dead-lettered 25", "committed 2000", "lag 400", "acknowledged 2075"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%q lacks %q", lines[0], want)
		}
	}
}

func TestDisplayRedrawsBlockOnTerminal(t *testing.T) {
	var b strings.Builder
	d := NewDisplay(&b, true)
	d.Show(snapshotFixture())
	first := b.String()
	if strings.Contains(first, "\x1b[3A") {
		t.Errorf("the first block moves up: %q", first)
	}
	if n := strings.Count(first, "\n"); n != 3 {
		t.Errorf("block of %d lines, want 3", n)
	}
	if !strings.Contains(first, "40% committed") {
		t.Errorf("no progress bar in %q", first)
	}
	b.Reset()
	d.Show(snapshotFixture())
	if !strings.HasPrefix(b.String(), "\x1b[3A") {
		t.Errorf("the second block does not go back over the first: %q", b.String())
	}
	b.Reset()
	d.Leave()
	d.Show(snapshotFixture())
	if strings.Contains(b.String(), "\x1b[3A") {
		t.Errorf("after Leave the block is redrawn over what came before: %q", b.String())
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		want        string
	}{
		{0, 10, "[..........]   0% committed"},
		{5, 10, "[#####.....]  50% committed"},
		{12, 10, "[##########] 100% committed"},
		{-1, 10, "[..........]   0% committed"},
		{1, 0, ""},
	} {
		if got := bar(tc.done, tc.total, 10); got != tc.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}
