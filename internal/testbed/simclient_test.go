package testbed

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

func TestSimClient(t *testing.T) {
	ctx := context.Background()
	srv, err := ServeSim(ctx, SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := SimClient{URL: srv.URL, HTTP: &http.Client{Timeout: 10 * time.Second}}
	if err := c.SetFaults(ctx, targetsim.Faults{LatencyMax: time.Millisecond}); err != nil || srv.Faults().LatencyMax != time.Millisecond {
		t.Fatalf("SetFaults: %v; the simulator has %+v", err, srv.Faults())
	}
	body := `{"context":{"channel":"web"},"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"notifications":[` +
		`{"id":"n1","type":"display","timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"tokens":["t"],"mbox":{"name":"m"}}]}`
	resp, err := http.Post(srv.URL+"/rest/v1/delivery?client=c&sessionId=s", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	acks, err := c.Acks(ctx)
	if err != nil || len(acks) != 1 || acks["n1"].Count != 1 || acks["n1"].First.IsZero() {
		t.Fatalf("Acks: %v, %+v", err, acks)
	}
	if st, err := c.Stats(ctx); err != nil || st.Unique != 1 {
		t.Fatalf("Stats: %v, %+v", err, st)
	}
	if err := (SimClient{URL: srv.URL + "/nowhere", HTTP: c.HTTP}).SetFaults(ctx, targetsim.Faults{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("SetFaults on a wrong URL: %v, want the 404", err)
	}
}
