package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// get returns the status and body of an admin endpoint.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually polls cond: the probes are HTTP state with no event to wait on.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s", what, within)
		case <-tick.C:
		}
	}
}

// The admin endpoint: ready once the group is joined, metrics exported, and /healthz failing
// when events are pending but nothing progresses (here: Target down for longer than
// admin.stallTimeout), then healthy again once deliveries resume.
func TestAdminProbesFollowProgress(t *testing.T) {
	h := newHarness(t, 2, targetsim.Faults{})
	h.cfg.Admin.Listen = "127.0.0.1:0"
	h.cfg.Admin.StallTimeout = 500 * time.Millisecond
	addr := make(chan net.Addr, 1)
	h.adminAddr = func(a net.Addr) { addr <- a }
	r := h.start()
	base := fmt.Sprintf("http://%s", <-addr)

	eventually(t, 30*time.Second, "/readyz after joining the group", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	h.produce(event("p-1", "s-1"))
	h.waitUnique(1, time.Minute)
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz while delivering = %d %s", code, body)
	}
	// The commit follows the acknowledgement within kafka.commitInterval.
	eventually(t, 30*time.Second, "/metrics with the pipeline's series", func() bool {
		_, metrics := get(t, base+"/metrics")
		for _, name := range []string{"notifierd_events_consumed_total 1", `notifierd_notifications_delivered_total{type="display"} 1`,
			"notifierd_request_notifications_count 1", "notifierd_request_duration_seconds", "notifierd_buffered_events 0",
			"notifierd_committed_offset{", "notifierd_consumer_lag{"} {
			if !strings.Contains(metrics, name) {
				return false
			}
		}
		return true
	})

	h.sim.SetFaults(targetsim.Faults{ErrorRate: 1})
	h.produce(event("p-2", "s-2"))
	eventually(t, 30*time.Second, "/healthz failing while stalled", func() bool { code, _ := get(t, base+"/healthz"); return code == 503 })
	_, body := get(t, base+"/healthz")
	if !strings.Contains(body, "no progress") {
		t.Errorf("/healthz body %q does not say why", body)
	}
	h.sim.SetFaults(targetsim.Faults{})
	h.waitUnique(2, time.Minute)
	eventually(t, 30*time.Second, "/healthz recovering", func() bool { code, _ := get(t, base+"/healthz"); return code == 200 })
	r.stop(t)
}

// An admin port that cannot be bound stops the daemon at start, with the key in the error,
// instead of leaving it consuming without probes.
func TestAdminPortInUseFailsAtStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	h := newHarness(t, 1, targetsim.Faults{})
	h.cfg.Admin.Listen = taken.Addr().String()
	r := h.start()
	select {
	case err := <-r.done:
		if err == nil || !strings.Contains(err.Error(), "admin.listen") {
			t.Fatalf("Run returned %v, want an error naming admin.listen", err)
		}
		r.done <- nil // for the cleanup's stop
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon kept running without its admin endpoint")
	}
}
