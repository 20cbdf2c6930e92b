package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{args: nil},
		{args: []string{"-error-rate", "0.5", "-bad-tokens", "a,b", "-outage-for", "1m", "-latency-min", "5ms", "-latency-max", "10ms"}},
		{args: []string{"-error-rate", "2"}, wantErr: true},
		{args: []string{"-error-status", "404", "-error-rate", "1"}, wantErr: true},
		{args: []string{"-latency-min", "2s", "-latency-max", "1s"}, wantErr: true},
		{args: []string{"-nope"}, wantErr: true},
		{args: []string{"extra"}, wantErr: true},
		{args: []string{"-tls-ca-out", "ca.pem"}, wantErr: true},
		{args: []string{"-http1-only"}, wantErr: true},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, io.Discard)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v, want error %v", tt.args, err, tt.wantErr)
		}
		if err == nil && len(tt.args) > 0 {
			if len(o.faults.BadTokens) != 2 || o.faults.ErrorRate != 0.5 || time.Until(o.faults.OutageUntil) < 50*time.Second {
				t.Errorf("faults %+v", o.faults)
			}
		}
	}
	if code := runWith(t.Context(), []string{"-error-rate", "2"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("bad flags: exit %d", code)
	}
}

// lines hands over what the command prints, line by line.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		l <- sc.Text()
	}
	return len(p), nil
}

// started is a targetsim command running in the test.
type started struct {
	base   string // scheme://host:port, from the "listening on" line
	cancel context.CancelFunc
	exit   chan int
}

// start runs the command with args until stop.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &started{cancel: cancel, exit: make(chan int, 1)}
	out := make(lines, 4)
	go func() { s.exit <- runWith(ctx, args, out, io.Discard) }()
	select {
	case line := <-out:
		_, s.base, _ = strings.Cut(line, "listening on ")
	case code := <-s.exit:
		cancel()
		t.Fatalf("exited %d before listening", code)
	}
	return s
}

// stop is a SIGTERM; the command must exit 0.
func (s *started) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	if code := <-s.exit; code != 0 {
		t.Errorf("exit %d after shutdown", code)
	}
}

func TestServesAndShutsDown(t *testing.T) {
	sim := start(t, "-listen", "127.0.0.1:0", "-record")
	base := sim.base
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	body := `{"context":{"channel":"web"},"id":{"tntId":"abc.21_0"},"notifications":[{"id":"n1","type":"display","timestamp":1700000000000,"tokens":["t"],"mbox":{"name":"m"}}]}`
	resp, err := client.Post(base+"/c/acme/rest/v1/delivery?sessionId=s1", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"notifications":[{"id":"n1"}]`) {
		t.Fatalf("delivery: %d %s", resp.StatusCode, b)
	}

	resp, err = client.Get(base + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Accepted, Unique int }
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Accepted != 1 || st.Unique != 1 {
		t.Errorf("stats %+v, %v", st, err)
	}
	sim.stop(t)
}

// -tls serves HTTPS that a client trusting the -tls-ca-out file accepts, over h2 unless
// -http1-only.
func TestServesHTTPS(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantProto int
	}{
		{"h2 by default", nil, 2},
		{"http1-only", []string{"-http1-only"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caFile := filepath.Join(t.TempDir(), "ca.pem")
			sim := start(t, append([]string{"-listen", "127.0.0.1:0", "-tls", "-tls-ca-out", caFile, "-tls-hosts", "targetsim"}, tt.args...)...)
			defer sim.cancel()
			if !strings.HasPrefix(sim.base, "https://") {
				t.Fatalf("listening on %q, want https", sim.base)
			}
			pemBytes, err := os.ReadFile(caFile)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemBytes) {
				t.Fatalf("%s holds no certificate", caFile)
			}
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(sim.base + "/_sim/stats")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != tt.wantProto {
				t.Errorf("status %d over HTTP/%d, want 200 over HTTP/%d", resp.StatusCode, resp.ProtoMajor, tt.wantProto)
			}
			sim.stop(t)
		})
	}
}
