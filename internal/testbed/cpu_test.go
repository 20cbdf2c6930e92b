package testbed

import (
	"os"
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
	m, err := ProcMem(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("ProcMem = %+v, %v", m, err)
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
