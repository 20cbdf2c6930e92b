package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// SimClient steers a Target simulator running as a process of its own (cmd/targetsim)
// through its /_sim/ control API.
type SimClient struct {
	URL  string
	HTTP *http.Client
}

// Ack is the simulator's record of one id: how many times it was acknowledged, and when first.
type Ack struct {
	Count int
	First time.Time
}

// SetFaults replaces the simulator's faults (PUT /_sim/faults); the zero value clears them.
func (c SimClient) SetFaults(ctx context.Context, f targetsim.Faults) error {
	body, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding the simulator's faults: %w", err)
	}
	return c.do(ctx, http.MethodPut, "/_sim/faults", body, nil)
}

// Stats is GET /_sim/stats.
func (c SimClient) Stats(ctx context.Context) (targetsim.Stats, error) {
	var st targetsim.Stats
	err := c.do(ctx, http.MethodGet, "/_sim/stats", nil, func(r io.Reader) error { return json.NewDecoder(r).Decode(&st) })
	return st, err
}

// Acks is GET /_sim/notifications reduced to each id's Ack. The list can be large (every
// notification as received), so it is decoded as a stream.
func (c SimClient) Acks(ctx context.Context) (map[string]Ack, error) {
	out := map[string]Ack{}
	return out, c.do(ctx, http.MethodGet, "/_sim/notifications", nil, func(r io.Reader) error {
		dec := json.NewDecoder(r)
		if _, err := dec.Token(); err != nil { // [
			return err
		}
		for dec.More() {
			var rec struct {
				ID       string    `json:"id"`
				Count    int       `json:"count"`
				FirstAck time.Time `json:"firstAck"`
			}
			if err := dec.Decode(&rec); err != nil {
				return err
			}
			out[rec.ID] = Ack{Count: rec.Count, First: rec.FirstAck}
		}
		return nil
	})
}

// do sends body (when not nil) and hands a 200 answer's body to read (when not nil).
func (c SimClient) do(ctx context.Context, method, path string, body []byte, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if read != nil {
		if err := read(resp.Body); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}
