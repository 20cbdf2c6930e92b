package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// BenchmarkPipeline runs the daemon over b.N realistic events (about 600 bytes) of 2,000
// sessions: decode, batch, deliver to the simulator, commit. With -cpuprofile it shows where
// the daemon spends its time; the simulator and broker share the profile when in-process.
func BenchmarkPipeline(b *testing.B) {
	h := newHarness(b, 6, targetsim.Faults{})
	state := strings.Repeat("J+W1Fq18hxliDDJonTPfV0S+mzxapAO3", 6)
	events := make([]notify.Event, b.N)
	for i := range events {
		ev := event(fmt.Sprintf("bench-%08d", i), fmt.Sprintf("session-%04d", i%2000))
		ev.Mbox.State = state
		ev.Context = []byte(`{"channel":"web","userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}`)
		ev.CustomerIDs = []notify.CustomerID{{ID: fmt.Sprintf("crm-%d", i%2000), IntegrationCode: "crm", AuthenticatedState: "authenticated"}}
		events[i] = ev
	}
	h.produce(events...)
	b.ResetTimer()
	r := h.start()
	h.waitUnique(int64(b.N), 5*time.Minute)
	b.StopTimer()
	r.stop(b)
	b.ReportMetric(float64(b.N)/float64(h.sim.Stats().Accepted), "events/request")
}
