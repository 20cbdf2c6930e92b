package targetsim

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// startTLSServer serves sim over HTTPS with tl, as a test in another package would.
func startTLSServer(t testing.TB, sim *Sim, tl *TLS) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = tl.ServerConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are some tests' point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// clientTrusting is a client that trusts pool and negotiates h2 when offered.
func clientTrusting(t testing.TB, pool *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// postProto posts a valid one-notification request and returns the status and protocol.
func postProto(t testing.TB, c *http.Client, url string) (status, protoMajor int, err error) {
	t.Helper()
	resp, err := c.Post(url+"/rest/v1/delivery?client=acme&sessionId=s1", "application/json", bytes.NewReader(mustJSON(t, testRequest(testNote("n1")))))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.ProtoMajor, nil
}

func TestHTTPSNegotiatesWhatIsOffered(t *testing.T) {
	tests := []struct {
		name      string
		opts      TLSOptions
		wantProto int
	}{
		{"h2 offered by default", TLSOptions{}, 2},
		{"http/1.1 only", TLSOptions{HTTP1Only: true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, err := NewTLS(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tl.HTTP2() != (tt.wantProto == 2) {
				t.Errorf("HTTP2() = %v", tl.HTTP2())
			}
			sim := newSim(t, Config{}, Faults{})
			srv := startTLSServer(t, sim, tl)
			status, proto, err := postProto(t, clientTrusting(t, tl.CertPool()), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if status != 200 || proto != tt.wantProto {
				t.Fatalf("status %d over HTTP/%d, want 200 over HTTP/%d", status, proto, tt.wantProto)
			}
			if st := sim.Stats(); st.Accepted != 1 {
				t.Errorf("simulator accepted %d requests, want 1: the contract is the same over TLS", st.Accepted)
			}
		})
	}
}

// The PEM written for other processes is the CA that signed the leaf; a client trusting
// another CA (or only the system roots) is refused with a verification error.
func TestHTTPSTrust(t *testing.T) {
	tl, err := NewTLS(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLSServer(t, newSim(t, Config{}, Faults{}), tl)

	block, _ := pem.Decode(tl.CAPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CAPEM is not a PEM certificate: %q", tl.CAPEM())
	}
	fromPEM := x509.NewCertPool()
	if !fromPEM.AppendCertsFromPEM(tl.CAPEM()) {
		t.Fatal("CAPEM does not load into a pool")
	}
	if status, _, err := postProto(t, clientTrusting(t, fromPEM), srv.URL); err != nil || status != 200 {
		t.Fatalf("client trusting CAPEM: %d, %v", status, err)
	}

	other, err := NewTLS(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = postProto(t, clientTrusting(t, other.CertPool()), srv.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("client trusting another CA: %v, want x509.UnknownAuthorityError", err)
	}
}

// The leaf covers loopback, localhost and the extra names, and nothing else.
func TestHTTPSLeafNames(t *testing.T) {
	tl, err := NewTLS(TLSOptions{Hosts: []string{"targetsim", "10.1.2.3"}})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(tl.ServerConfig().Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: tl.CertPool()}
	for _, name := range []string{"127.0.0.1", "::1", "localhost", "targetsim", "10.1.2.3"} {
		opts.DNSName = name
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	opts.DNSName = "mboxedge35.tt.omtrdc.net"
	if _, err := leaf.Verify(opts); err == nil {
		t.Error("the leaf verifies for a name it was not made for")
	}
}

// Listener serves HTTPS (h2 included) from a plain http.Server, as cmd/targetsim does.
func TestHTTPSListener(t *testing.T) {
	tl, err := NewTLS(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newSim(t, Config{}, Faults{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tl.Listener(ln)) }()
	status, proto, err := postProto(t, clientTrusting(t, tl.CertPool()), "https://"+ln.Addr().String())
	if err != nil || status != 200 || proto != 2 {
		t.Errorf("status %d over HTTP/%d, %v; want 200 over HTTP/2", status, proto, err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}
