package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TransportConfig is what the Target connections are built from (target.* keys).
type TransportConfig struct {
	MaxConnsPerHost int
	// CAFile is a PEM bundle trusted in addition to the system roots: a TLS-inspecting proxy
	// re-signs Target's traffic with its own CA, and the same process still verifies anything
	// the proxy passes through against the system roots. Empty: the system roots alone.
	CAFile string
	// HTTP2 lets TLS connections negotiate h2 by ALPN when the server offers it; false speaks
	// HTTP/1.1 only.
	HTTP2 bool
}

// Transport carries the requests to Target. HTTPS requests it can send straight to the
// host go over HTTP/2 connections of its own (golang.org/x/net/http2), which carry many
// requests each; everything else uses net/http's pool: plain http, proxies (net/http
// tunnels through them), target.http2 off, and hosts that did not select h2 by ALPN, which
// are remembered. net/http's own h2 dialled a connection for each request that found the
// open ones busy, so a burst of 500 requests opened about 1,000 TLS connections (handshakes
// were 5 % of the daemon's CPU over HTTPS); x/net's pool dials one at a time per host and
// opens another only when the server's stream limit is reached.
type Transport struct {
	http1 *http.Transport
	h2    *http2.Transport // nil: HTTP/1.1 only

	mu     sync.Mutex
	noH2   map[string]bool // host:port that answered ALPN without h2
	dialer net.Dialer
}

// NewTransport is NewTransportWith with the defaults: the system roots, h2 when offered.
func NewTransport(maxConnsPerHost int) *Transport {
	t, _ := NewTransportWith(TransportConfig{MaxConnsPerHost: maxConnsPerHost, HTTP2: true}) // no CA file: no error
	return t
}

// NewTransportWith pools keep-alive connections, at most cfg.MaxConnsPerHost per host over
// HTTP/1.1, proxies from the environment, and verifies TLS against the system roots plus
// cfg.CAFile. An unreadable CA file, or one without a certificate, is an error naming it.
func NewTransportWith(cfg TransportConfig) (*Transport, error) {
	t1 := http.DefaultTransport.(*http.Transport).Clone()
	t1.MaxConnsPerHost = cfg.MaxConnsPerHost
	t1.MaxIdleConnsPerHost = cfg.MaxConnsPerHost
	t1.MaxIdleConns = 0
	t1.IdleConnTimeout = 90 * time.Second
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		roots, err := rootsWith(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = roots
	}
	// A TLS config of our own: net/http then offers h2 only with ForceAttemptHTTP2, set below.
	t1.TLSClientConfig = tlsConfig
	t1.ForceAttemptHTTP2 = cfg.HTTP2
	t := &Transport{http1: t1, noH2: map[string]bool{}, dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
	if !cfg.HTTP2 {
		// A non-nil empty map keeps net/http from adding its h2 upgrade: ALPN offers http/1.1.
		t1.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		return t, nil
	}
	t.h2 = &http2.Transport{
		TLSClientConfig: tlsConfig.Clone(),
		DialTLSContext:  t.dialH2,
		IdleConnTimeout: t1.IdleConnTimeout,
		// A connection that has gone silent (a dropped network path) is probed and closed,
		// rather than left to hold every request in flight until its timeout.
		ReadIdleTimeout: 30 * time.Second,
		PingTimeout:     15 * time.Second,
	}
	return t, nil
}

// errNoH2 is what dialH2 returns for a server that did not select h2; the request then goes
// over HTTP/1.1, as does every later one to that host.
var errNoH2 = errors.New("the server did not select h2 by ALPN")

// dialH2 opens a TLS connection offering h2 and http/1.1, keeping it only when the server
// chose h2.
func (t *Transport) dialH2(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	d := tls.Dialer{NetDialer: &t.dialer, Config: cfg}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if conn.(*tls.Conn).ConnectionState().NegotiatedProtocol != "h2" {
		_ = conn.Close()
		t.mu.Lock()
		t.noH2[addr] = true
		t.mu.Unlock()
		return nil, errNoH2
	}
	return conn, nil
}

// RoundTrip sends req over HTTP/2 when it can (see Transport), else over net/http's pool.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.h2 == nil || req.URL.Scheme != "https" {
		return t.http1.RoundTrip(req)
	}
	if proxy, err := t.http1.Proxy(req); err != nil || proxy != nil {
		return t.http1.RoundTrip(req)
	}
	addr := authority(req.URL)
	if t.http1Only(addr) {
		return t.http1.RoundTrip(req)
	}
	resp, err := t.h2.RoundTrip(req)
	if !errors.Is(err, errNoH2) || req.GetBody == nil {
		return resp, err
	}
	// The handshake showed no h2 (this request's dial or the one it waited for): nothing was
	// sent, so the request goes again over HTTP/1.1.
	again := req.Clone(req.Context())
	if again.Body, err = req.GetBody(); err != nil {
		return nil, err
	}
	return t.http1.RoundTrip(again)
}

func (t *Transport) http1Only(addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.noH2[addr]
}

// authority is u's host:port as the dialler sees it, 443 when the URL names no port.
func authority(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// CloseIdleConnections closes the idle connections of both pools.
func (t *Transport) CloseIdleConnections() {
	t.http1.CloseIdleConnections()
	if t.h2 != nil {
		t.h2.CloseIdleConnections()
	}
}

// Proxy is the proxy a request would go through (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
func (t *Transport) Proxy(req *http.Request) (*url.URL, error) { return t.http1.Proxy(req) }

// TLSClientConfig is the TLS configuration both pools verify servers by.
func (t *Transport) TLSClientConfig() *tls.Config { return t.http1.TLSClientConfig }

// rootsWith is the system roots plus the certificates of the PEM file at path.
func rootsWith(path string) (*x509.CertPool, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("target CA file: %w", err) // the PathError names the file
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool() // no system roots on this platform: the file alone
	}
	if !roots.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("target CA file %s: no PEM certificate in it", path)
	}
	return roots, nil
}

// Traced wraps rt with otelhttp, so each HTTP round trip to Target is a client span under
// its request span. Trace headers go to Target only when propagate is true
// (target.propagateTrace): sending them is a decision about data shared with a third party.
// Metrics stay Prometheus: otelhttp's own go to a no-op meter. Call it only when tracing is
// on; off, the transport is used bare: even over a no-op provider otelhttp cost about 40 µs
// of CPU and 22 allocations per request (BenchmarkSendTransport), some 7 µs per event.
func Traced(rt http.RoundTripper, tp trace.TracerProvider, propagate bool) http.RoundTripper {
	var props propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator() // injects nothing
	if propagate {
		props = propagation.TraceContext{}
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(props),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
}
