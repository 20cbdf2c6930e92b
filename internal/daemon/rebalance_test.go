package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Members join and leave mid-stream: every revoked partition drains and commits inside its
// generation, so nothing is lost, and duplicates stay within the work in flight.
func TestRebalancesLoseNothing(t *testing.T) {
	h := newHarness(t, 6, targetsim.Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond})
	h.cfg.Target.MaxConcurrency = 4
	h.cfg.Kafka.MaxInFlight = 100
	const events = 3000
	var batch []notify.Event
	for i := range events {
		batch = append(batch, event(fmt.Sprintf("r-%05d", i), fmt.Sprintf("s-%03d", i%150)))
	}
	h.produce(batch...)

	first := h.start()
	h.waitUnique(300, time.Minute)
	second := h.start() // joins: the first member gives up half of its partitions
	h.waitUnique(1200, time.Minute)
	first.stop(t) // leaves: the second takes everything
	h.waitUnique(2000, time.Minute)
	third := h.start()
	h.waitUnique(events, 2*time.Minute)
	second.stop(t)
	third.stop(t)

	stats := h.sim.Stats()
	if got := h.checkCommitted(); got != events {
		t.Errorf("committed %d of %d", got, events)
	}
	if stats.Duplicates > 3*6*100 {
		t.Errorf("%d duplicates: more than the work that can be in flight at three handovers", stats.Duplicates)
	}
	t.Logf("%d duplicates over three rebalances", stats.Duplicates)
}
