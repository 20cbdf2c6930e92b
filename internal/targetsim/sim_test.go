package targetsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestAcceptsAndRecords(t *testing.T) {
	sim := newSim(t, Config{RecordRequests: true}, Faults{})
	notes := notesN(3)
	notes[1]["impressionId"] = "imp-1"
	notes[2]["type"] = "click"
	req := testRequest(notes...)
	req["property"] = obj{"token": "prop-1"}
	before := time.Now()
	resp := serve(t, sim, http.MethodPost, "/c/acme/rest/v1/delivery?sessionId=s1&imsOrgId=org", mustJSON(t, req))
	if resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	d := resp.delivery(t)
	if d.Status != 200 || d.RequestID == "" || d.Client != "acme" || d.EdgeHost != "mboxedge35.tt.omtrdc.net" {
		t.Errorf("response %+v", d)
	}
	if !jsonEqual(t, d.ID, mustJSON(t, req["id"])) {
		t.Errorf("id echo %s", d.ID)
	}
	if got, want := d.ackIDs(), map[string]bool{"n0": true, "n1": true, "n2": true}; !maps.Equal(got, want) {
		t.Errorf("acks %v, want %v", got, want)
	}

	st := sim.Stats()
	want := Stats{Requests: 1, Accepted: 1, Status: map[int]int64{200: 1}, Notifications: 3, Unique: 3, MaxPerRequest: 3}
	if !statsEqual(st, want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}

	recv := sim.Received()
	if len(recv) != 3 {
		t.Fatalf("received %d", len(recv))
	}
	r1 := recv["n1"]
	if r1.ID != "n1" || r1.Type != "display" || r1.SessionID != "s1" || r1.Client != "acme" || r1.Route != "/c/acme" ||
		r1.VisitorID != testTntID || r1.ImpressionID != "imp-1" || !slices.Equal(r1.Tokens, []string{"token-n1"}) ||
		r1.Timestamp != testTS || r1.Count != 1 || r1.FirstAck.Before(before) {
		t.Errorf("received n1 %+v", r1)
	}
	if recv["n2"].Type != "click" {
		t.Errorf("n2 type %q", recv["n2"].Type)
	}
	if !jsonEqual(t, r1.Notification, mustJSON(t, notes[1])) {
		t.Errorf("notification %s", r1.Notification)
	}
	var env map[string]any
	if err := json.Unmarshal(r1.Request, &env); err != nil {
		t.Fatalf("request envelope %s: %v", r1.Request, err)
	}
	if _, ok := env["notifications"]; ok || env["property"] == nil {
		t.Errorf("request envelope %s", r1.Request)
	}

	reqs := sim.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %d", len(reqs))
	}
	r := reqs[0]
	if r.Route != "/c/acme" || r.SessionID != "s1" || r.Status != 200 || r.Query.Get("imsOrgId") != "org" ||
		!slices.Equal(r.IDs, []string{"n0", "n1", "n2"}) || len(r.Acked) != 3 || r.At.Before(before) || !bytes.Contains(r.Body, []byte(`"prop-1"`)) {
		t.Errorf("request %+v", r)
	}
}

func TestDuplicatesCounted(t *testing.T) {
	sim := newSim(t, Config{}, Faults{})
	body := mustJSON(t, testRequest(notesN(3)...))
	for range 2 {
		if resp := serve(t, sim, http.MethodPost, deliveryURL, body); resp.status != 200 {
			t.Fatalf("status %d: %s", resp.status, resp.body)
		}
	}
	// One more request overlapping in one id.
	if resp := serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, testRequest(testNote("n0"), testNote("x")))); resp.status != 200 {
		t.Fatalf("status %d", resp.status)
	}
	st := sim.Stats()
	if st.Notifications != 8 || st.Unique != 4 || st.Duplicates != 4 || st.Accepted != 3 || st.MaxPerRequest != 3 {
		t.Errorf("stats %+v", st)
	}
	recv := sim.Received()
	if recv["n0"].Count != 3 || recv["n1"].Count != 2 || recv["x"].Count != 1 {
		t.Errorf("counts n0=%d n1=%d x=%d", recv["n0"].Count, recv["n1"].Count, recv["x"].Count)
	}
	if len(sim.Requests()) != 0 {
		t.Error("requests recorded without RecordRequests")
	}
	if recv["n0"].Request != nil {
		t.Error("request envelope kept without RecordRequests")
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		target, client, edgeHost, route string
	}{
		{"/rest/v1/delivery?sessionId=s", "", "mboxedge77.tt.omtrdc.net", ""},
		{"/rest/v1/delivery?sessionId=s&client=demo", "demo", "mboxedge77.tt.omtrdc.net", ""},
		{"/c/acme/rest/v1/delivery?sessionId=s", "acme", "mboxedge77.tt.omtrdc.net", "/c/acme"},
		{"/c/acme/rest/v1/delivery?sessionId=s&client=other", "other", "mboxedge77.tt.omtrdc.net", "/c/acme"},
		{"/e/21/rest/v1/delivery?sessionId=s&client=acme", "acme", "mboxedge21.tt.omtrdc.net", "/e/21"},
		{"/c/acme/e/4/rest/v1/delivery?sessionId=s", "acme", "mboxedge4.tt.omtrdc.net", "/c/acme/e/4"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			sim := newSim(t, Config{DefaultEdgeHint: "77", RecordRequests: true}, Faults{})
			resp := serve(t, sim, http.MethodPost, tt.target, mustJSON(t, testRequest(testNote("a"))))
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			d := resp.delivery(t)
			if d.Client != tt.client || d.EdgeHost != tt.edgeHost {
				t.Errorf("client %q edgeHost %q, want %q %q", d.Client, d.EdgeHost, tt.client, tt.edgeHost)
			}
			if r := sim.Received()["a"]; r.Route != tt.route || r.Client != tt.client {
				t.Errorf("received route %q client %q", r.Route, r.Client)
			}
			if rs := sim.Requests(); len(rs) != 1 || rs[0].Route != tt.route {
				t.Errorf("requests %+v", rs)
			}
		})
	}
}

func TestRequestIDEchoed(t *testing.T) {
	sim := newSim(t, Config{}, Faults{})
	req := testRequest(testNote("a"))
	req["requestId"] = "req-42"
	if d := serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, req)).delivery(t); d.RequestID != "req-42" {
		t.Errorf("requestId %q", d.RequestID)
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	sim := newSim(t, Config{RecordRequests: true}, Faults{})
	body := mustJSON(t, testRequest(testNote("a")))
	tests := []struct {
		method, target string
		status         int
		allow          string
	}{
		{http.MethodPost, "/rest/v1/deliver?sessionId=s", 404, ""},
		{http.MethodPost, "/rest/v1/delivery/x?sessionId=s", 404, ""},
		{http.MethodPost, "/", 404, ""},
		{http.MethodGet, "/rest/v1/delivery?sessionId=s", 405, "POST"},
		{http.MethodPut, "/c/acme/rest/v1/delivery?sessionId=s", 405, "POST"},
	}
	for _, tt := range tests {
		resp := serve(t, sim, tt.method, tt.target, body)
		if resp.status != tt.status || resp.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: status %d Allow %q, want %d %q", tt.method, tt.target, resp.status, resp.header.Get("Allow"), tt.status, tt.allow)
		}
		resp.errorMessage(t)
	}
	if st := sim.Stats(); st.Status[404] != 3 || st.Status[405] != 2 || st.Accepted != 0 || len(sim.Received()) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestResetAndWaitFor(t *testing.T) {
	sim := newSim(t, Config{RecordRequests: true}, Faults{ErrorStatus: 502})
	serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, testRequest(testNote("a"))))
	sim.Reset()
	if st := sim.Stats(); !statsEqual(st, Stats{Status: map[int]int64{}}) || len(sim.Received()) != 0 || len(sim.Requests()) != 0 {
		t.Errorf("after reset: %+v", st)
	}
	if sim.Faults().ErrorStatus != 502 {
		t.Error("reset dropped faults")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := sim.WaitFor(ctx, func(s Stats) bool { return s.Accepted > 0 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor on an unmet condition: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		done <- sim.WaitFor(t.Context(), func(s Stats) bool { return s.Unique == 2 })
	}()
	serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, testRequest(testNote("a"))))
	serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, testRequest(testNote("b"))))
	if err := <-done; err != nil {
		t.Errorf("WaitFor: %v", err)
	}
}

func statsEqual(a, b Stats) bool {
	return a.Requests == b.Requests && a.Accepted == b.Accepted && maps.Equal(a.Status, b.Status) &&
		a.Notifications == b.Notifications && a.Unique == b.Unique && a.Duplicates == b.Duplicates &&
		a.MaxPerRequest == b.MaxPerRequest && a.InFlight == b.InFlight
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return string(mustJSON(t, va)) == string(mustJSON(t, vb))
}

// BenchmarkDeliver50 measures the simulator's own cost per full request, so a
// benchmark of the sender can tell how much of the time is the simulator's.
func BenchmarkDeliver50(b *testing.B) {
	sim := New(Config{}, Faults{})
	body := mustJSON(b, testRequest(notesN(50)...))
	b.ReportAllocs()
	for b.Loop() {
		if resp := serve(b, sim, http.MethodPost, deliveryURL, body); resp.status != 200 {
			b.Fatal(resp.status)
		}
	}
}

// FirstArrival is when the acknowledging request came in, before the simulated latency:
// what the bench subtracts to tell the simulator's part of a delay from the sender's.
func TestFirstArrivalPrecedesLatency(t *testing.T) {
	const latency = 30 * time.Millisecond
	sim := newSim(t, Config{}, Faults{LatencyMin: latency, LatencyMax: latency})
	before := time.Now()
	if resp := serve(t, sim, http.MethodPost, "/rest/v1/delivery?client=acme&sessionId=s1", mustJSON(t, testRequest(notesN(1)...))); resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	r, ok := sim.Received()["n0"]
	if !ok {
		t.Fatalf("n0 not recorded: %v", sim.Received())
	}
	if r.FirstArrival.Before(before) || r.FirstAck.Sub(r.FirstArrival) < latency {
		t.Errorf("arrival %s, ack %s after it; want the arrival after %s and the ack at least %s later",
			r.FirstArrival.Format(time.RFC3339Nano), r.FirstAck.Sub(r.FirstArrival), before.Format(time.RFC3339Nano), latency)
	}
}
