package targetsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSessionInFlightLimit(t *testing.T) {
	sim := newSim(t, Config{}, Faults{HangRate: 1, MaxInFlightPerSession: 1})
	srv := startServer(t, sim)
	url := srv.URL + "/rest/v1/delivery?sessionId=busy"
	body := mustJSON(t, testRequest(testNote("a")))

	ctx, cancel := context.WithCancel(t.Context())
	hung := make(chan error, 1)
	go func() {
		_, err := post(ctx, srv.Client(), url, body)
		hung <- err
	}()
	// SessionBusy, not InFlight: a request is in flight before it is counted against its session.
	if err := sim.WaitFor(t.Context(), func(s Stats) bool { return s.SessionBusy == 1 }); err != nil {
		t.Fatal(err)
	}

	resp := mustPost(t, srv.Client(), url, body)
	if resp.status != 420 {
		t.Fatalf("second request of a busy session: %d %s", resp.status, resp.body)
	}
	if msg := resp.errorMessage(t); msg != "Too many requests with same session ID" {
		t.Errorf("message %q", msg)
	}

	// Other sessions are not limited; the busy one still is.
	sim.SetFaults(Faults{MaxInFlightPerSession: 1})
	if resp := mustPost(t, srv.Client(), srv.URL+"/rest/v1/delivery?sessionId=other", body); resp.status != 200 {
		t.Errorf("other session: %d %s", resp.status, resp.body)
	}
	if resp := mustPost(t, srv.Client(), url, body); resp.status != 420 {
		t.Errorf("busy session: %d", resp.status)
	}

	cancel()
	if err := <-hung; !errors.Is(err, context.Canceled) {
		t.Errorf("hung request: %v", err)
	}
	if err := sim.WaitFor(t.Context(), func(s Stats) bool { return s.InFlight == 0 }); err != nil {
		t.Fatal(err)
	}
	if resp := mustPost(t, srv.Client(), url, body); resp.status != 200 {
		t.Errorf("session free again: %d %s", resp.status, resp.body)
	}
	if st := sim.Stats(); st.Status[420] != 2 || st.Status[statusClientGone] != 1 || st.Status[200] != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A client that sends its next request as soon as it has the previous answer
// must never see 420: the session is released before the answer is written.
func TestSequentialSessionNeverBusy(t *testing.T) {
	sim := newSim(t, Config{}, Faults{MaxInFlightPerSession: 1})
	srv := startServer(t, sim)
	url := srv.URL + "/rest/v1/delivery?sessionId=seq"
	for i := range 200 {
		if resp := mustPost(t, srv.Client(), url, mustJSON(t, testRequest(testNote("a")))); resp.status != 200 {
			t.Fatalf("request %d: %d %s", i, resp.status, resp.body)
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		faults  Faults
		req     obj
		status  int
		header  map[string]string
		message string
		acks    int
	}{
		{name: "5xx default", faults: Faults{ErrorRate: 1}, status: 503, message: "simulated server error"},
		{name: "5xx chosen status", faults: Faults{ErrorRate: 1, ErrorStatus: 502}, status: 502},
		{name: "429 rounds Retry-After up", faults: Faults{ThrottleRate: 1, RetryAfter: 1500 * time.Millisecond},
			status: 429, header: map[string]string{"Retry-After": "2"}},
		{name: "429 Retry-After at least 1", faults: Faults{ThrottleRate: 1},
			status: 429, header: map[string]string{"Retry-After": "1"}},
		{name: "outage", faults: Faults{OutageUntil: time.Now().Add(time.Hour)}, status: 503, message: "outage"},
		{name: "outage over", faults: Faults{OutageUntil: time.Now().Add(-time.Second)}, status: 200, acks: 3},
		{name: "bad token", faults: Faults{BadTokens: []string{"nope", "token-n1"}}, status: 400,
			message: `notifications[1].tokens[0]: invalid token "token-n1"`},
		{name: "bad token absent", faults: Faults{BadTokens: []string{"nope"}}, status: 200, acks: 3},
		{name: "drop all acks", faults: Faults{DropAckRate: 1}, status: 200, acks: 0},
		{name: "outage before validation", faults: Faults{OutageUntil: time.Now().Add(time.Hour)},
			req: obj{}, status: 503},
		{name: "5xx before validation", faults: Faults{ErrorRate: 1}, req: obj{}, status: 503},
		{name: "latency", faults: Faults{LatencyMin: 30 * time.Millisecond, LatencyMax: 40 * time.Millisecond}, status: 200, acks: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, Config{}, tt.faults)
			req := tt.req
			if req == nil {
				req = testRequest(notesN(3)...)
			}
			start := time.Now()
			resp := serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, req))
			if resp.status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if took := time.Since(start); took < tt.faults.LatencyMin {
				t.Errorf("answered after %v, latency at least %v", took, tt.faults.LatencyMin)
			}
			for k, v := range tt.header {
				if got := resp.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.status != 200 {
				if msg := resp.errorMessage(t); !strings.Contains(msg, tt.message) {
					t.Errorf("message %q, want %q", msg, tt.message)
				}
				if len(sim.Received()) != 0 {
					t.Error("a rejected request was recorded as received")
				}
				return
			}
			d := resp.delivery(t)
			if len(d.Notifications) != tt.acks || len(sim.Received()) != tt.acks || sim.Stats().Notifications != int64(tt.acks) {
				t.Errorf("acks %d, received %d, want %d", len(d.Notifications), len(sim.Received()), tt.acks)
			}
			if d.Notifications == nil {
				t.Error("notifications must be an array, even empty")
			}
		})
	}
}

func TestDropSomeAcks(t *testing.T) {
	sim := newSim(t, Config{}, Faults{DropAckRate: 0.5})
	d := serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, testRequest(notesN(50)...))).delivery(t)
	acked := d.ackIDs()
	// 50 coin flips: all heads or all tails is a 2^-49 event.
	if len(acked) == 0 || len(acked) == 50 {
		t.Errorf("%d of 50 acknowledged with DropAckRate 0.5", len(acked))
	}
	recv := sim.Received()
	for id := range acked {
		if _, ok := recv[id]; !ok {
			t.Errorf("acked %s not recorded", id)
		}
	}
	if len(recv) != len(acked) {
		t.Errorf("received %d, acked %d", len(recv), len(acked))
	}
}

func TestHangEndsWithClient(t *testing.T) {
	for _, f := range []Faults{{HangRate: 1}, {LatencyMin: time.Hour}} {
		sim := newSim(t, Config{RecordRequests: true}, f)
		srv := startServer(t, sim)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := post(ctx, srv.Client(), srv.URL+deliveryURL, mustJSON(t, testRequest(testNote("a"))))
			done <- err
		}()
		if err := sim.WaitFor(t.Context(), func(s Stats) bool { return s.SessionBusy == 1 }); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("client: %v", err)
		}
		if err := sim.WaitFor(t.Context(), func(s Stats) bool { return s.InFlight == 0 && s.Status[statusClientGone] == 1 }); err != nil {
			t.Fatal(err)
		}
		if rs := sim.Requests(); len(rs) != 1 || rs[0].Status != statusClientGone || len(rs[0].IDs) != 1 {
			t.Errorf("request log %+v", rs)
		}
		if len(sim.Received()) != 0 {
			t.Error("a hung request was acknowledged")
		}
	}
}

func TestRuntimeFaults(t *testing.T) {
	sim := newSim(t, Config{}, Faults{})
	srv := startServer(t, sim)
	body := mustJSON(t, testRequest(testNote("a")))
	deliver := func() int { return mustPost(t, srv.Client(), srv.URL+deliveryURL, body).status }
	put := func(js string) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/_sim/faults", strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, body: b}
	}

	if got := deliver(); got != 200 {
		t.Fatalf("before: %d", got)
	}
	if r := put(`{"errorRate":1,"errorStatus":502}`); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if got := deliver(); got != 502 {
		t.Errorf("after PUT errorRate: %d", got)
	}
	if r := put(`{"throttleRate":1,"retryAfter":"3s"}`); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if resp := mustPost(t, srv.Client(), srv.URL+deliveryURL, body); resp.status != 429 || resp.header.Get("Retry-After") != "3" {
		t.Errorf("after PUT throttle: %d Retry-After %q", resp.status, resp.header.Get("Retry-After"))
	}
	r := put(`{"outageFor":"1h","latencyMin":"1ms","latencyMax":"2ms"}`)
	if r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	var echoed map[string]any
	if err := json.Unmarshal(r.body, &echoed); err != nil {
		t.Fatal(err)
	}
	if echoed["latencyMax"] != "2ms" || echoed["outageUntil"] == nil || echoed["throttleRate"] != 0.0 {
		t.Errorf("PUT echo %s", r.body)
	}
	if until := sim.Faults().OutageUntil; time.Until(until) < 59*time.Minute {
		t.Errorf("outageFor 1h set OutageUntil %v", until)
	}
	if got := deliver(); got != 503 {
		t.Errorf("during outage: %d", got)
	}
	if r := put(`{}`); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if got := deliver(); got != 200 {
		t.Errorf("after clearing faults: %d", got)
	}
	for _, bad := range []string{`{"errorRate":2}`, `{"errorStatus":404}`, `{"latencyMin":"fast"}`, `{"errrorRate":1}`,
		`{"latencyMin":"2s","latencyMax":"1s"}`, `{"outageFor":"1s","outageUntil":"2030-01-01T00:00:00Z"}`, `not json`} {
		if r := put(bad); r.status != 400 {
			t.Errorf("PUT %s: %d", bad, r.status)
		}
	}
	if f := sim.Faults(); f.ErrorRate != 0 || f.ErrorStatus != 503 {
		t.Errorf("a rejected PUT changed faults: %+v", f)
	}
}

func TestFaultsJSONRoundTrip(t *testing.T) {
	in := Faults{
		LatencyMin: 5 * time.Millisecond, LatencyMax: 50 * time.Millisecond, ErrorRate: 0.1, ErrorStatus: 500,
		ThrottleRate: 0.2, RetryAfter: 2 * time.Second, BadTokens: []string{"x"}, DropAckRate: 0.3, HangRate: 0.01,
		OutageUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), MaxInFlightPerSession: 100,
	}
	b := mustJSON(t, in)
	for _, want := range []string{`"latencyMin":"5ms"`, `"latencyMax":"50ms"`, `"retryAfter":"2s"`, `"outageUntil":"2030-01-02T03:04:05Z"`, `"maxInFlightPerSession":100`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var out Faults
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.OutageUntil.Equal(in.OutageUntil) {
		t.Errorf("outageUntil %v", out.OutageUntil)
	}
	out.OutageUntil = in.OutageUntil
	if string(mustJSON(t, out)) != string(b) {
		t.Errorf("round trip: %s != %s", mustJSON(t, out), b)
	}
}

func TestSetFaultsClamps(t *testing.T) {
	sim := newSim(t, Config{}, Faults{})
	sim.SetFaults(Faults{ErrorRate: 7, HangRate: -1, LatencyMin: time.Second, LatencyMax: time.Millisecond})
	f := sim.Faults()
	if f.ErrorRate != 1 || f.HangRate != 0 || f.LatencyMax != time.Second || f.ErrorStatus != 503 {
		t.Errorf("normalized %+v", f)
	}
}
