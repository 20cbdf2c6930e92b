package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Sim is the Target simulator running as its own process (cmd/targetsim), steered through
// its control API.
type Sim struct {
	*testbed.Proc
	URL  string
	http *http.Client
}

var simListening = regexp.MustCompile(`targetsim listening on (http://[0-9.:]+)`)

func startSim(ctx context.Context, ps *testbed.ProcSet, bin, logPath string) (*Sim, error) {
	p, err := ps.Start("targetsim", logPath, bin, []string{"-listen", "127.0.0.1:0", "-shutdown-timeout", "1s"}, nil)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := p.WaitLog(wctx, simListening)
	if err != nil {
		return nil, err
	}
	return &Sim{Proc: p, URL: m[1], http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// SetFaults replaces the simulator's faults (PUT /_sim/faults); the zero value clears them.
func (s *Sim) SetFaults(ctx context.Context, f targetsim.Faults) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.call(ctx, http.MethodPut, "/_sim/faults", body, nil)
}

// Stats is GET /_sim/stats.
func (s *Sim) Stats(ctx context.Context) (targetsim.Stats, error) {
	var st targetsim.Stats
	err := s.call(ctx, http.MethodGet, "/_sim/stats", nil, &st)
	return st, err
}

// Acks is GET /_sim/notifications reduced to what accounting needs: per id, how many times
// it was acknowledged and when first. The list can be large (every notification as
// received), so it is decoded as a stream.
func (s *Sim) Acks(ctx context.Context) (map[string]Ack, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/_sim/notifications", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("GET /_sim/notifications: %s: %s", resp.Status, b)
	}
	dec := json.NewDecoder(resp.Body)
	if _, err := dec.Token(); err != nil { // [
		return nil, fmt.Errorf("GET /_sim/notifications: %w", err)
	}
	out := map[string]Ack{}
	for dec.More() {
		var r struct {
			ID       string    `json:"id"`
			Count    int       `json:"count"`
			FirstAck time.Time `json:"firstAck"`
		}
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("GET /_sim/notifications: %w", err)
		}
		out[r.ID] = Ack{Count: r.Count, First: r.FirstAck}
	}
	return out, nil
}

func (s *Sim) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}
