package targetsim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestControlAPI(t *testing.T) {
	sim := newSim(t, Config{RecordRequests: true}, Faults{})
	serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, testRequest(testNote("b"), testNote("a"))))
	serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, obj{}))

	get := func(path string, v any) {
		t.Helper()
		resp := serve(t, sim, http.MethodGet, path, nil)
		if resp.status != 200 || resp.header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %s", path, resp.status, resp.body)
		}
		if err := json.Unmarshal(resp.body, v); err != nil {
			t.Fatalf("GET %s: %s: %v", path, resp.body, err)
		}
	}

	var st Stats
	get("/_sim/stats", &st)
	if !statsEqual(st, sim.Stats()) || st.Requests != 2 || st.Status[400] != 1 {
		t.Errorf("stats %+v", st)
	}
	var recv []Received
	get("/_sim/notifications", &recv)
	if len(recv) != 2 || recv[0].ID != "a" || recv[1].ID != "b" || recv[0].SessionID != "s1" {
		t.Errorf("notifications %+v", recv)
	}
	var reqs []Request
	get("/_sim/requests", &reqs)
	if len(reqs) != 2 || reqs[0].Status != 200 || reqs[1].Status != 400 || reqs[1].Message == "" {
		t.Errorf("requests %+v", reqs)
	}
	var f map[string]any
	get("/_sim/faults", &f)
	if f["errorStatus"] != 503.0 || f["latencyMin"] != "0s" {
		t.Errorf("faults %v", f)
	}

	if resp := serve(t, sim, http.MethodPost, "/_sim/reset", nil); resp.status != 200 {
		t.Fatalf("reset: %d", resp.status)
	}
	get("/_sim/notifications", &recv)
	get("/_sim/requests", &reqs)
	if len(recv) != 0 || len(reqs) != 0 || sim.Stats().Requests != 0 {
		t.Errorf("after reset: %d notifications, %d requests", len(recv), len(reqs))
	}

	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/_sim/nope", 404, ""},
		{http.MethodPost, "/_sim/stats", 405, "GET"},
		{http.MethodGet, "/_sim/reset", 405, "POST"},
		{http.MethodDelete, "/_sim/faults", 405, "GET, PUT"},
	}
	for _, tt := range tests {
		resp := serve(t, sim, tt.method, tt.path, nil)
		if resp.status != tt.status || resp.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q", tt.method, tt.path, resp.status, resp.header.Get("Allow"))
		}
	}
	if sim.Stats().Requests != 0 {
		t.Error("control requests counted as deliveries")
	}
}

// A non-JSON body must not break the JSON request log.
func TestRequestLogKeepsNonJSONBody(t *testing.T) {
	sim := newSim(t, Config{RecordRequests: true}, Faults{})
	serve(t, sim, http.MethodPost, deliveryURL, []byte("not json"))
	resp := serve(t, sim, http.MethodGet, "/_sim/requests", nil)
	var reqs []Request
	if err := json.Unmarshal(resp.body, &reqs); err != nil || len(reqs) != 1 || string(reqs[0].Body) != `"not json"` {
		t.Errorf("%s: %v", resp.body, err)
	}
}
