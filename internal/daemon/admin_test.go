package daemon_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// get returns the status and body of an admin endpoint.
func get(t testing.TB, url string) (int, string) {
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
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
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

// The admin endpoint: ready once the group is joined, metrics exported, /healthz passing
// while delivering. liveness_daemon_test.go follows /healthz through outages and stalls.
func TestAdminProbesFollowProgress(t *testing.T) {
	h := newHarness(t, 2, targetsim.Faults{})
	_, base := h.startReady()

	h.produce(event("p-1", "s-1"))
	h.waitUnique(1, time.Minute)
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz while delivering = %d %q", code, body)
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
}

// startReady is startWithAdmin, returning once /readyz passes (the group is joined).
func (h *harness) startReady() (*running, string) {
	h.t.Helper()
	r, base := h.startWithAdmin()
	eventually(h.t, 30*time.Second, "/readyz after joining the group", func() bool { code, _ := get(h.t, base+"/readyz"); return code == 200 })
	return r, base
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
