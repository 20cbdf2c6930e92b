package daemon_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

const stallTimeout = 2 * time.Second

// sample is the value of one series (name with its labels, as exposed) in a /metrics body;
// -1 when absent.
func sample(body, series string) float64 {
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// During a Target outage longer than admin.stallTimeout, with events pending, /healthz keeps
// answering 200 (noting the outage), /readyz too, and the metrics the NotifierdTargetOutage
// alert reads show it: requests answered with errors, events buffered, nothing delivered.
// Once Target is back the events are delivered and the note goes.
func TestLivenessRidesOutTargetOutage(t *testing.T) {
	tests := []struct {
		name  string
		class string // status_class the failed requests are counted under
		// outage points the harness's Target at an outage and returns what ends it.
		outage func(t *testing.T, h *harness) (end func())
	}{
		{"connection refused", "error", func(t *testing.T, h *harness) func() {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // nothing listens there now: every connection is refused
			h.cfg.Target.URL = "http://" + addr + "/c/{client}"
			h.cfg.Target.EdgeURL = "http://" + addr + "/e/{hint}"
			return func() {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("Target back on %s: %v", addr, err)
				}
				srv := &http.Server{Handler: h.sim}
				go func() { _ = srv.Serve(ln) }()
				t.Cleanup(func() { srv.Close() })
			}
		}},
		{"5xx storm", "5xx", func(t *testing.T, h *harness) func() {
			h.sim.SetFaults(targetsim.Faults{ErrorRate: 1})
			return func() { h.sim.SetFaults(targetsim.Faults{}) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1, targetsim.Faults{})
			h.cfg.Admin.StallTimeout = stallTimeout
			end := tt.outage(t, h)
			_, base := h.startReady()
			h.produce(event("o-1", "s-1"), event("o-2", "s-2"))

			failed := `notifierd_request_duration_seconds_count{status_class="` + tt.class + `"}`
			eventually(t, 30*time.Second, "requests failing", func() bool { _, m := get(t, base+"/metrics"); return sample(m, failed) > 0 })
			start := time.Now()
			noted := false
			for time.Since(start) < 3*stallTimeout {
				code, body := get(t, base+"/healthz")
				if code != 200 {
					t.Fatalf("/healthz after %s of outage = %d %q, want 200: retrying is not stuck", time.Since(start).Round(time.Millisecond), code, body)
				}
				noted = noted || strings.HasPrefix(body, "ok: Target failing: nothing acknowledged")
				time.Sleep(100 * time.Millisecond) // a probe's period: polling over time is the point
			}
			if !noted {
				t.Error("/healthz never noted the outage")
			}
			if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, "Target failing") {
				t.Errorf("/readyz during the outage = %d %q, want 200 with the note", code, body)
			}
			_, m := get(t, base+"/metrics")
			if sample(m, "notifierd_buffered_events") != 2 || sample(m, failed) < 2 || sample(m, "notifierd_last_delivery_timestamp_seconds") != 0 ||
				sample(m, `notifierd_request_duration_seconds_count{status_class="2xx"}`) > 0 {
				t.Errorf("metrics during the outage: buffered %v, %s %v, last delivery %v; want 2 buffered, failures, no delivery",
					sample(m, "notifierd_buffered_events"), failed, sample(m, failed), sample(m, "notifierd_last_delivery_timestamp_seconds"))
			}

			end()
			h.waitUnique(2, time.Minute)
			eventually(t, 30*time.Second, "/healthz without the note", func() bool { code, body := get(t, base+"/healthz"); return code == 200 && body == "ok\n" })
		})
	}
}

// A process where nothing moves is still caught: here every request hangs (target.timeout
// far above admin.stallTimeout, so no attempt ends), which from the probe's side is a
// dispatcher that no longer gets answers. /healthz fails once admin.stallTimeout passes
// with events pending, and recovers when the requests are answered.
func TestLivenessCatchesStuckDelivery(t *testing.T) {
	h := newHarness(t, 1, targetsim.Faults{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	hung := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hung <- struct{}{}:
		default:
		}
		<-release
		h.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // before srv.Close: cleanups run last first
	h.cfg.Target.URL = srv.URL + "/c/{client}"
	h.cfg.Target.EdgeURL = srv.URL + "/e/{hint}"
	h.cfg.Target.Timeout = 10 * time.Minute
	h.cfg.Admin.StallTimeout = stallTimeout
	_, base := h.startReady()
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz before any work = %d %q", code, body)
	}
	h.produce(event("x-1", "s-1"))
	<-hung

	eventually(t, 30*time.Second, "/healthz failing while stuck", func() bool { code, _ := get(t, base+"/healthz"); return code == 503 })
	if _, body := get(t, base+"/healthz"); !strings.Contains(body, "no progress") || !strings.Contains(body, "no Target request answered since start") {
		t.Errorf("/healthz body %q does not say why", body)
	}
	releaseOnce.Do(func() { close(release) })
	h.waitUnique(1, time.Minute)
	eventually(t, 30*time.Second, "/healthz recovering", func() bool { code, body := get(t, base+"/healthz"); return code == 200 && body == "ok\n" })
}
