// Package targettest checks the Target side of notifierd's network settings as an operator
// relies on them (docs/OPERATIONS.md): the Delivery API client built by
// delivery.NewTransport (the daemon's transport at the default target.http2 and without
// target.tls.caFile, which internal/delivery's transport tests cover) takes its proxy from
// the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), verifies TLS certificates, and holds at
// most target.maxConnsPerHost connections per host; target.timeout bounds each attempt.
//
// Everything runs against servers on 127.0.0.1; the "remote" host names end in .invalid
// and are never resolved (the proxy answers for them).
package targettest

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/delivery"
)

// proxyChild marks the child process that runs TestProxyFromEnvironment.
const proxyChild = "NOTIFIERD_TARGETTEST_PROXY_CHILD"

const ackBody = `{"status":200,"requestId":"r","client":"acmeclient","edgeHost":"mboxedge35.tt.omtrdc.net","notifications":[{"id":"n1"}]}`

// TestProxyFromEnvironment: with HTTP_PROXY set, a request for a Target host goes to the
// proxy (and Go's rule that loopback addresses are never proxied is why the host is not
// 127.0.0.1). net/http reads the proxy environment once per process, so the test runs in a
// child process of its own: repeated by -count or -cpu, it would otherwise read the
// environment of its first run.
func TestProxyFromEnvironment(t *testing.T) {
	if os.Getenv(proxyChild) == "" {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestProxyFromEnvironment$", "-test.count=1", "-test.cpu=1", "-test.v")
		cmd.Env = append(os.Environ(), proxyChild+"=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the child process failed: %v\n%s", err, out)
		}
		return
	}
	var seen atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Method + " " + r.URL.String()) // absolute-form: the proxy sees the full URL
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(ackBody))
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	tr := delivery.NewTransport(4)
	// Guard: never send a request for the .invalid host anywhere but to the proxy.
	req, _ := http.NewRequest(http.MethodPost, "http://acmeclient.target.invalid/rest/v1/delivery", nil)
	if u, err := tr.Proxy(req); err != nil || u == nil || u.Host != strings.TrimPrefix(proxy.URL, "http://") {
		t.Fatalf("the Target transport does not take its proxy from the environment: %v, %v", u, err)
	}
	c := &delivery.Client{HTTP: &http.Client{Transport: tr}, Timeout: 5 * time.Second}
	resp, err := c.Send(context.Background(), "http://acmeclient.target.invalid/rest/v1/delivery", []byte(`{}`))
	if err != nil {
		t.Fatalf("send through the proxy: %v", err)
	}
	if got := seen.Load(); got != "POST http://acmeclient.target.invalid/rest/v1/delivery" {
		t.Fatalf("proxy saw %v", got)
	}
	if !slices.Contains(resp.Acked, "n1") {
		t.Fatalf("response through the proxy not read: %+v", resp)
	}
}

// TestTLSVerifiedByDefault: a server whose certificate no trusted CA signed is refused.
func TestTLSVerifiedByDefault(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(ackBody))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	c := &delivery.Client{HTTP: &http.Client{Transport: delivery.NewTransport(4)}, Timeout: 5 * time.Second}
	_, err := c.Send(context.Background(), srv.URL+"/rest/v1/delivery", []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("error %v, want a certificate verification failure", err)
	}
	var dErr *delivery.Error
	if !errors.As(err, &dErr) {
		t.Fatalf("error %T, want *delivery.Error", err)
	}
}

// TestConnectionsPerHost: 12 concurrent requests to one host never use more than
// maxConnsPerHost (3) connections at once; the rest wait for one.
func TestConnectionsPerHost(t *testing.T) {
	const maxConns = 3
	var open, peak atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(ackBody))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			n := open.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()

	c := &delivery.Client{HTTP: &http.Client{Transport: delivery.NewTransport(maxConns)}, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			if _, err := c.Send(context.Background(), srv.URL+"/rest/v1/delivery", []byte(`{}`)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p > maxConns || p == 0 {
		t.Fatalf("peak connections %d, want 1..%d", p, maxConns)
	}
}

// TestTimeoutPerAttempt: target.timeout ends an attempt on a server that does not answer,
// as a retryable timeout.
func TestTimeoutPerAttempt(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &delivery.Client{HTTP: &http.Client{Transport: delivery.NewTransport(4)}, Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := c.Send(context.Background(), srv.URL+"/rest/v1/delivery", []byte(`{}`))
	var dErr *delivery.Error
	if !errors.As(err, &dErr) || !dErr.Retryable || dErr.Reason != "timeout" {
		t.Fatalf("error %v, want a retryable timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("attempt took %s with a 200ms timeout", d)
	}
}
