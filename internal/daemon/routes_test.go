package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// A restart between two parts of a corpus: with kafka.routesTopic set, the restarted daemon
// sends every visitor to the edge Target named before the stop (the simulator names edge 35
// for requests to the client host); without it, every request for those visitors goes to the
// client host again.
func TestRoutesSurviveARestart(t *testing.T) {
	const visitors = 60
	for _, tc := range []struct {
		name      string
		routes    bool
		wantWrong int
	}{
		{"routes topic set", true, 0},
		{"routes topic empty", false, visitors},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 3, targetsim.Faults{})
			if tc.routes {
				h.cfg.Kafka.RoutesTopic = h.topic + "-routes"
			}
			part := func(n int) []notify.Event {
				var evs []notify.Event
				for v := range visitors {
					evs = append(evs, event(fmt.Sprintf("r%d-%03d", n, v), fmt.Sprintf("s-%03d", v)))
				}
				return evs
			}
			h.produce(part(1)...)
			first := h.start()
			h.waitUnique(visitors, time.Minute)
			first.stop(t)
			before := len(h.sim.Requests())

			h.produce(part(2)...)
			second := h.start()
			h.waitUnique(2*visitors, time.Minute)
			second.stop(t)
			wrong := 0
			for _, req := range h.sim.Requests()[before:] {
				if req.Status == 200 && req.Route != "/e/35" {
					wrong += len(req.IDs)
				}
			}
			if wrong != tc.wantWrong {
				t.Errorf("%d notifications after the restart went to a host other than the edge Target named, want %d", wrong, tc.wantWrong)
			}
			if tc.routes {
				if n := len(kafkatest.ReadAll(t, h.broker, h.cfg.Kafka.RoutesTopic)); n != visitors {
					t.Errorf("%d routes in the topic, want one per visitor (%d)", n, visitors)
				}
			}
		})
	}
}
