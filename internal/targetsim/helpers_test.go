package targetsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testTntID = "338e3c1e51f7416a8e1ccba4f81acea0.28_0"
	testTS    = int64(1700000000000)
)

type obj = map[string]any

// note is a valid mbox display notification.
func testNote(id string) obj {
	return obj{
		"id": id, "type": "display", "timestamp": testTS,
		"tokens": []any{"token-" + id},
		"mbox":   obj{"name": "product1"},
	}
}

// testRequest is a valid request carrying the given notifications.
func testRequest(notes ...obj) obj {
	ns := make([]any, len(notes))
	for i, n := range notes {
		ns[i] = n
	}
	return obj{
		"context":       obj{"channel": "web"},
		"id":            obj{"tntId": testTntID},
		"notifications": ns,
	}
}

func notesN(n int) []obj {
	out := make([]obj, n)
	for i := range out {
		out[i] = testNote(fmt.Sprintf("n%d", i))
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSim(t testing.TB, cfg Config, f Faults) *Sim {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	return New(cfg, f)
}

// startServer runs sim behind a real HTTP server, for tests that need
// concurrency or client cancellation.
func startServer(t testing.TB, sim *Sim) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorMessage(t testing.TB) string {
	t.Helper()
	var e struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Status != r.status {
		t.Errorf("body status %d, HTTP status %d", e.Status, r.status)
	}
	return e.Message
}

type deliveryResp struct {
	Status        int             `json:"status"`
	RequestID     string          `json:"requestId"`
	ID            json.RawMessage `json:"id"`
	Client        string          `json:"client"`
	EdgeHost      string          `json:"edgeHost"`
	Notifications []struct {
		ID string `json:"id"`
	} `json:"notifications"`
}

func (r response) delivery(t testing.TB) deliveryResp {
	t.Helper()
	var d deliveryResp
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("200 body %q: %v", r.body, err)
	}
	return d
}

func (d deliveryResp) ackIDs() map[string]bool {
	m := make(map[string]bool, len(d.Notifications))
	for _, n := range d.Notifications {
		m[n.ID] = true
	}
	return m
}

// serve sends one request straight to the handler.
func serve(t testing.TB, sim *Sim, method, target string, body []byte) response {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// post sends a delivery request over the network; err is the client's error
// (e.g. its context ended).
func post(ctx context.Context, client *http.Client, url string, body []byte) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func mustPost(t testing.TB, client *http.Client, url string, body []byte) response {
	t.Helper()
	r, err := post(t.Context(), client, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
