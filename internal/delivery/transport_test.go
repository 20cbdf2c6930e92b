package delivery

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// httpsSim serves a Target simulator over HTTPS with a fresh CA, and writes that CA to a file.
func httpsSim(t *testing.T, opts targetsim.TLSOptions) (url, caFile string) {
	t.Helper()
	tl, err := targetsim.NewTLS(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(targetsim.New(targetsim.Config{}, targetsim.Faults{}))
	srv.TLS = tl.ServerConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are some tests' point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, tl.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, caFile
}

const simBody = `{"context":{"channel":"web"},"id":{"tntId":"abc.21_0"},"notifications":[{"id":"n1","type":"display","timestamp":1700000000000,"tokens":["t"],"mbox":{"name":"m"}}]}`

// postOver posts a valid delivery request through tr and returns the protocol it used.
func postOver(t *testing.T, tr *Transport, url string) (protoMajor int, err error) {
	t.Helper()
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post(url+"/c/acme/rest/v1/delivery?sessionId=s1", "application/json", strings.NewReader(simBody))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	return resp.ProtoMajor, nil
}

func mustTransport(t *testing.T, cfg TransportConfig) *Transport {
	t.Helper()
	tr, err := NewTransportWith(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// target.http2 decides the protocol with a server offering h2; a server offering only
// http/1.1 gets it either way.
func TestTransportNegotiatesHTTP2OnlyWhenOn(t *testing.T) {
	tests := []struct {
		name      string
		http2     bool
		http1Only bool // the server's side
		want      int
	}{
		{"h2 on, offered", true, false, 2},
		{"h2 off, offered", false, false, 1},
		{"h2 on, not offered", true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, caFile := httpsSim(t, targetsim.TLSOptions{HTTP1Only: tt.http1Only})
			got, err := postOver(t, mustTransport(t, TransportConfig{MaxConnsPerHost: 4, CAFile: caFile, HTTP2: tt.http2}), url)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("HTTP/%d, want HTTP/%d", got, tt.want)
			}
		})
	}
}

// A server signed by the CA file is trusted, and Client.Send reads its acknowledgements; one
// signed by another CA is refused with an x509 error, as is the simulator's CA without the
// file (the system roots alone).
func TestTransportTrust(t *testing.T) {
	url, caFile := httpsSim(t, targetsim.TLSOptions{})
	_, otherCA := httpsSim(t, targetsim.TLSOptions{})

	c := &Client{HTTP: &http.Client{Transport: mustTransport(t, TransportConfig{MaxConnsPerHost: 4, CAFile: caFile, HTTP2: true})}, Timeout: 10 * time.Second}
	resp, err := c.Send(context.Background(), url+"/c/acme/rest/v1/delivery?sessionId=s1", []byte(simBody))
	if err != nil || !slices.Contains(resp.Acked, "n1") {
		t.Fatalf("trusted CA: %+v, %v", resp, err)
	}

	for name, cfg := range map[string]TransportConfig{
		"another CA":   {MaxConnsPerHost: 4, CAFile: otherCA, HTTP2: true},
		"system roots": {MaxConnsPerHost: 4, HTTP2: true},
	} {
		_, err := postOver(t, mustTransport(t, cfg), url)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("%s: %v, want x509.UnknownAuthorityError", name, err)
		}
	}
}

// The CA file adds to the system roots rather than replacing them.
func TestTransportCAFileKeepsSystemRoots(t *testing.T) {
	system, err := x509.SystemCertPool()
	if err != nil || system.Equal(x509.NewCertPool()) {
		t.Skip("no system roots on this machine")
	}
	_, caFile := httpsSim(t, targetsim.TLSOptions{})
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	want := system.Clone()
	want.AppendCertsFromPEM(pemBytes)
	got := mustTransport(t, TransportConfig{MaxConnsPerHost: 1, CAFile: caFile}).TLSClientConfig().RootCAs
	if !got.Equal(want) {
		t.Error("the roots are not the system roots plus the CA file")
	}
}

// A CA file that cannot be used is an error naming it, never a silent fallback.
func TestTransportCAFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	for path, content := range map[string][]byte{empty: nil, garbage: bytes.Repeat([]byte("not a certificate\n"), 3)} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{filepath.Join(dir, "missing.pem"), empty, garbage} {
		_, err := NewTransportWith(TransportConfig{MaxConnsPerHost: 1, CAFile: path})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file", filepath.Base(path), err)
		}
	}
}

// A burst of requests to an h2 server shares a few connections: one per server stream limit
// (Go's server allows 250), not one per request as net/http's own h2 dialled them (about
// 1,000 for a burst of 500). Every request is held until all have arrived, so the burst is
// in flight at once.
func TestHTTP2BurstSharesConnections(t *testing.T) {
	const burst = 500
	var arrived, conns atomic.Int64
	all := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == burst {
			close(all)
		}
		select {
		case <-all:
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, TransportConfig{MaxConnsPerHost: 2048, CAFile: caFile, HTTP2: true})
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Errorf("HTTP/%d, want HTTP/2", resp.ProtoMajor)
			}
		})
	}
	wg.Wait()
	// Until the server's SETTINGS arrive, a client assumes 100 streams per connection, so a
	// burst may open up to burst/100 connections before it learns the server's 250; the
	// pool that dialled per request opened about 850.
	if n, most := conns.Load(), int64(burst/100); n > most {
		t.Fatalf("%d connections for a burst of %d requests, want at most %d", n, burst, most)
	}
}

// An h2 connection that the server closes is dropped from the pool: after Target restarts
// on the same address, requests go through again instead of failing on a dead connection.
func TestHTTP2RecoversAfterServerRestart(t *testing.T) {
	tl, err := targetsim.NewTLS(targetsim.TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, tl.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := func(ln net.Listener) *httptest.Server {
		srv := httptest.NewUnstartedServer(targetsim.New(targetsim.Config{}, targetsim.Faults{}))
		srv.Listener.Close()
		srv.Listener = ln
		srv.TLS = tl.ServerConfig()
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		return srv
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	first := serve(ln)
	url := first.URL
	c := &Client{HTTP: &http.Client{Transport: mustTransport(t, TransportConfig{MaxConnsPerHost: 4, CAFile: caFile, HTTP2: true})}, Timeout: 5 * time.Second}
	send := func() error {
		_, err := c.Send(context.Background(), url+"/c/acme/rest/v1/delivery?sessionId=s1", []byte(simBody))
		return err
	}
	if err := send(); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	first.CloseClientConnections()
	first.Close()
	if err := send(); err == nil {
		t.Fatal("a request went through with Target down")
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	second := serve(ln2)
	defer second.Close()
	if err := send(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}

// An HTTPS request that a proxy must carry (HTTPS_PROXY) goes through it with CONNECT, not
// straight to the host over notifierd's own h2 pool, which knows no proxies.
func TestHTTPSThroughAProxy(t *testing.T) {
	url, caFile := httpsSim(t, targetsim.TLSOptions{})
	var tunnelled atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		tunnelled.Store(r.Host)
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		client, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(upstream, buf)
			upstream.Close()
		}()
		_, _ = io.Copy(client, upstream)
		client.Close()
	}))
	t.Cleanup(proxy.Close)
	proxyURL, err := neturl.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTransport(t, TransportConfig{MaxConnsPerHost: 4, CAFile: caFile, HTTP2: true})
	tr.http1.Proxy = http.ProxyURL(proxyURL) // as HTTPS_PROXY would, loopback included
	t.Cleanup(tr.CloseIdleConnections)
	c := &Client{HTTP: &http.Client{Transport: tr}, Timeout: 10 * time.Second}
	resp, err := c.Send(context.Background(), url+"/c/acme/rest/v1/delivery?sessionId=s1", []byte(simBody))
	if err != nil || !slices.Contains(resp.Acked, "n1") {
		t.Fatalf("through the proxy: %+v, %v", resp, err)
	}
	if got, want := tunnelled.Load(), strings.TrimPrefix(url, "https://"); got != want {
		t.Fatalf("the proxy tunnelled %v, want %s", got, want)
	}
}
