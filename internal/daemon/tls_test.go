package daemon_test

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/targetsim"
)

// serveHTTPS moves the harness's Target to HTTPS with a fresh test CA, trusted through
// target.tls.caFile.
func (h *harness) serveHTTPS(opts targetsim.TLSOptions) {
	h.t.Helper()
	tl, err := targetsim.NewTLS(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h.sim)
	srv.TLS = tl.ServerConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	h.t.Cleanup(srv.Close)
	caFile := filepath.Join(h.t.TempDir(), "target-ca.pem")
	if err := os.WriteFile(caFile, tl.CAPEM(), 0o600); err != nil {
		h.t.Fatal(err)
	}
	h.cfg.Target.URL = srv.URL + "/c/{client}"
	h.cfg.Target.EdgeURL = srv.URL + "/e/{hint}"
	h.cfg.Target.TLS.CAFile = caFile
}

// The daemon delivers to an HTTPS Target whose CA it trusts through target.tls.caFile, with
// HTTP/2 on (the default) and off.
func TestDeliversOverHTTPS(t *testing.T) {
	for _, http2 := range []bool{true, false} {
		t.Run(map[bool]string{true: "h2", false: "http1"}[http2], func(t *testing.T) {
			h := newHarness(t, 1, targetsim.Faults{})
			h.serveHTTPS(targetsim.TLSOptions{})
			h.cfg.Target.HTTP2 = http2
			h.produce(event("tls-1", "s-1"), event("tls-2", "s-2"))
			r := h.start()
			h.waitUnique(2, time.Minute)
			r.stop(t)
		})
	}
}

// A CA file the daemon cannot use stops it at start with the key and the file named.
func TestUnusableTargetCAFileFailsAtStart(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(t.TempDir(), "missing.pem"), empty} {
		h := newHarness(t, 1, targetsim.Faults{})
		h.cfg.Target.TLS.CAFile = path
		_, err := daemon.New(h.cfg, zaptest.NewLogger(t), prometheus.NewRegistry())
		if err == nil || !strings.Contains(err.Error(), "target.tls.caFile") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming target.tls.caFile and the file", filepath.Base(path), err)
		}
	}
}
