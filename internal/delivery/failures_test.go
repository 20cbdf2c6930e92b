package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestFailuresAreLoggedFirstThenSummarisedPerHost(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	f := newFailureLog(zap.New(core), 30*time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	refused := &Error{Message: "dial tcp 10.0.0.1:443: connect: connection refused", Retryable: true, Reason: "refused"}
	unavailable := &Error{Status: 503, Message: "busy", Retryable: true, Reason: "503"}

	f.record("mboxedge31.tt.omtrdc.net", refused, t0)                                               // first: logged
	f.record("mboxedge31.tt.omtrdc.net", refused, t0.Add(time.Second))                              // within 30 s: counted
	f.record("mboxedge31.tt.omtrdc.net", unavailable, t0.Add(2*time.Second))                        // counted
	f.record("mboxedge35.tt.omtrdc.net", unavailable, t0.Add(3*time.Second))                        // another host: its own first line
	f.record("mboxedge31.tt.omtrdc.net", &Error{Status: 400, Reason: "400"}, t0.Add(4*time.Second)) // not retried: not here
	f.record("mboxedge31.tt.omtrdc.net", nil, t0.Add(5*time.Second))                                // success too soon: still counting
	f.record("mboxedge31.tt.omtrdc.net", refused, t0.Add(31*time.Second))                           // summary of 3
	f.record("mboxedge31.tt.omtrdc.net", unavailable, t0.Add(40*time.Second))
	f.record("mboxedge31.tt.omtrdc.net", nil, t0.Add(70*time.Second)) // recovered, with the last one

	var lines []string
	for _, e := range logs.All() {
		fields := e.ContextMap()
		lines = append(lines, fmt.Sprintf("%s %s %v %v %v", e.Level, e.Message, fields["host"], fields["class"], fields["failures"]))
		if !strings.Contains(fmt.Sprint(fields), "mboxedge") {
			t.Errorf("line %q names no host", e.Message)
		}
	}
	want := []string{
		"warn Target request failed; retrying mboxedge31.tt.omtrdc.net refused <nil>",
		"warn Target request failed; retrying mboxedge35.tt.omtrdc.net 503 <nil>",
		"warn Target requests still failing; retrying mboxedge31.tt.omtrdc.net <nil> map[503:1 refused:2]",
		"info Target edge answering again mboxedge31.tt.omtrdc.net <nil> <nil>",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if first := logs.All()[0].ContextMap()["error"]; !strings.Contains(fmt.Sprint(first), "connection refused") {
		t.Errorf("first line's error = %v, want the cause", first)
	}
	if causes := logs.All()[2].ContextMap()["causes"]; causes != "503: target answered 503: busy; refused: target request failed: dial tcp 10.0.0.1:443: connect: connection refused" {
		t.Errorf("summary causes = %q", causes)
	}
	if recovered := logs.All()[3].ContextMap()["failures_since_last_report"]; fmt.Sprint(recovered) != "map[503:1]" {
		t.Errorf("recovery line counts = %v, want map[503:1]", recovered)
	}
}

func TestTransportFailureNamesTheCause(t *testing.T) {
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	answer := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-answer }))
	defer hanging.Close()
	defer close(answer) // before Close, which waits for the handler
	// The refused port is taken and released after every listener of the test is up: a
	// listener opened after the release could be given the same port, and the refused
	// connection would hang there instead.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := closed.Addr().String()
	closed.Close()

	transport := &http.Transport{TLSClientConfig: &tls.Config{}} // system roots: the test CA is unknown
	defer transport.CloseIdleConnections()
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		want    string
	}{
		{"unknown certificate authority", untrusted.URL, time.Minute, "tls"},
		{"connection refused", "http://" + refusedAddr, time.Minute, "refused"},
		{"no answer in time", hanging.URL, 100 * time.Millisecond, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &Client{HTTP: &http.Client{Transport: transport}, Timeout: tt.timeout}
			_, err := client.Send(context.Background(), tt.url, []byte(`{}`))
			var tErr *Error
			if !errors.As(err, &tErr) || tErr.Reason != tt.want || !tErr.Retryable {
				t.Fatalf("Send = %v (%#v), want a retryable %q failure", err, tErr, tt.want)
			}
		})
	}
	dns := &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "mboxedge99.invalid", IsNotFound: true}}
	if got := transportFailure(fmt.Errorf("Post: %w", dns)); got != "dns" {
		t.Errorf("a name that does not resolve = %q, want dns", got)
	}
	if got := transportFailure(errors.New("connection reset by peer")); got != "network" {
		t.Errorf("anything else = %q, want network", got)
	}
}

func TestAShortOutageIsReportedOnceItIsOver(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	f := newFailureLog(zap.New(core), 30*time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	refused := &Error{Message: "connection refused", Retryable: true, Reason: "refused"}
	for i := range 10 { // ten seconds of refused connections, then answers again
		f.record("edge", refused, t0.Add(time.Duration(i)*time.Second))
	}
	for i := 10; i <= 31; i++ {
		f.record("edge", nil, t0.Add(time.Duration(i)*time.Second))
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, fmt.Sprintf("%s %s %v", e.Level, e.Message, e.ContextMap()["failures_since_last_report"]))
	}
	want := "warn Target request failed; retrying <nil>\ninfo Target edge answering again map[refused:9]"
	if strings.Join(got, "\n") != want {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if f.tracked.Load() != 0 {
		t.Fatalf("%d hosts still tracked after the episode was reported", f.tracked.Load())
	}
	f.record("edge", nil, t0.Add(40*time.Second)) // the fast path again
}
