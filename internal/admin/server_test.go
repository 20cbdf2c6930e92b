package admin

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestProbes(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "notifierd_test_total", Help: "x"})
	reg.MustRegister(c)
	readyErr, healthErr, note := errors.New("topic events does not exist"), error(nil), ""
	srv := httptest.NewServer(Handler(reg, Probes{
		Ready: func() error { return readyErr }, Healthy: func() error { return healthErr }, Note: func() string { return note },
	}, false))
	defer srv.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "topic events does not exist") {
		t.Errorf("/readyz while not ready = %d %q, want 503 with the reason", code, body)
	}
	readyErr = nil
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz after joining = %d, want 200", code)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz while progressing = %d %q, want 200 ok", code, body)
	}
	note = "Target failing: nothing acknowledged for 12m0s"
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(path); code != 200 || body != "ok: "+note+"\n" {
			t.Errorf("%s during a Target outage = %d %q, want 200 with the note", path, code, body)
		}
	}
	healthErr = errors.New("no progress for 10m0s with 12 events pending")
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "no progress") {
		t.Errorf("/healthz when stalled = %d %q, want 503 with the reason", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "notifierd_test_total") {
		t.Errorf("/metrics = %d without the registry's metrics", code)
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	probes := Probes{Ready: func() error { return nil }, Healthy: func() error { return nil }}
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(Handler(prometheus.NewRegistry(), probes, on))
		resp, err := http.Get(srv.URL + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if want := map[bool]int{false: 404, true: 200}[on]; resp.StatusCode != want {
			t.Errorf("pprof %v: /debug/pprof/ = %d, want %d", on, resp.StatusCode, want)
		}
	}
}
