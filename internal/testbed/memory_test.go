package testbed

import (
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	// Only VmHWM and VmRSS are read; the other lines, with or without a kB unit, are not.
	for _, c := range []struct {
		status   string
		hwm, rss int64
	}{
		{"Name:\tnotifierd\nVmPeak:\t 1300000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n", 40 << 20, 20 << 20},
		{"Name:\tnotifierd\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n", 200 << 20, 100 << 20},
	} {
		m, err := parseStatus(strings.NewReader(c.status))
		if err != nil {
			t.Fatal(err)
		}
		if m.HWM != c.hwm || m.RSS != c.rss {
			t.Errorf("memory = %+v, want HWM %d RSS %d", m, c.hwm, c.rss)
		}
	}
	if _, err := parseStatus(strings.NewReader("Name:\tzombie\nState:\tZ (zombie)\n")); err == nil {
		t.Error("a status without VmRSS parsed")
	}
}
