package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/pkg/notify"
)

// naive is what users would otherwise write, after the SDK example: for every event, one
// Delivery API request with one notification, awaited before the next. One such sequential
// sender per partition (so the concurrency is the partition count), each with its own
// kafka.Reader; it stops at the end of the topic or at NaiveEvents / NaiveTime, whichever
// comes first.
func (b *Bench) naive(ctx context.Context, latencyMs int) error {
	sim, err := startSim(ctx, time.Duration(latencyMs)*time.Millisecond, nil)
	if err != nil {
		return err
	}
	defer func() { _ = sim.Close() }()
	limit := min(b.opt.NaiveEvents, b.mainData.Count())
	b.logf("naive sender, %d ms: up to %d events or %s", latencyMs, limit, b.opt.NaiveTime)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: b.opt.Partitions}}
	defer client.CloseIdleConnections()
	endpoint := sim.URL + "/c/benchclient/rest/v1/delivery?client=benchclient&sessionId="

	ctx, cancel := context.WithTimeout(ctx, b.opt.NaiveTime)
	defer cancel()
	var (
		sent   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	start := time.Now()
	for p := range b.opt.Partitions {
		end := b.mainEnds[p]
		if end == 0 {
			continue
		}
		wg.Go(func() {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.opt.Broker}, Topic: b.main, Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 250 * time.Millisecond})
			defer r.Close()
			for sent.Load() < limit {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					return // the time bound
				}
				if err := sendOne(ctx, client, endpoint, m.Value); err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						failed = errors.Join(failed, err)
						mu.Unlock()
						cancel()
					}
					return
				}
				sent.Add(1)
				if m.Offset+1 >= end {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed != nil {
		return fmt.Errorf("naive sender: %w", failed)
	}
	st := sim.Stats() // what Target acknowledged: a request cut by the time bound does not count
	n := st.Unique
	run := NaiveRun{LatencyMs: latencyMs, Workers: b.opt.Partitions, Events: n, Requests: st.Accepted, Elapsed: elapsed, Bounded: n < b.mainData.Count()}
	b.res.Naive = append(b.res.Naive, run)
	b.logf("naive sender, %d ms: %d events, %d requests in %s: %.0f events/s", latencyMs, n, run.Requests, elapsed.Round(time.Millisecond), run.Rate())
	return nil
}

// naiveRequest is a Delivery API request carrying one notification, as the SDKs'
// sendNotifications builds it.
type naiveRequest struct {
	Context       json.RawMessage     `json:"context"`
	ID            naiveVisitor        `json:"id"`
	Property      *naiveProperty      `json:"property,omitempty"`
	Notifications []naiveNotification `json:"notifications"`
}

type naiveVisitor struct {
	TntID        string              `json:"tntId,omitempty"`
	ThirdPartyID string              `json:"thirdPartyId,omitempty"`
	MCID         string              `json:"marketingCloudVisitorId,omitempty"`
	CustomerIDs  []notify.CustomerID `json:"customerIds,omitempty"`
}

type naiveProperty struct {
	Token string `json:"token"`
}

type naiveNotification struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Timestamp  int64             `json:"timestamp"`
	Tokens     []string          `json:"tokens"`
	Mbox       *notify.Mbox      `json:"mbox,omitempty"`
	View       *notify.View      `json:"view,omitempty"`
	PageLoad   *notify.PageLoad  `json:"pageLoad,omitempty"`
	Address    *notify.Address   `json:"address,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// sendOne decodes an event and posts it as a one-notification request, expecting a 200.
func sendOne(ctx context.Context, client *http.Client, endpoint string, value []byte) error {
	var ev notify.Event
	if err := json.Unmarshal(value, &ev); err != nil {
		return err
	}
	req := naiveRequest{
		Context: ev.Context,
		ID:      naiveVisitor{TntID: ev.TntID, ThirdPartyID: ev.ThirdPartyID, MCID: ev.MarketingCloudVisitorID, CustomerIDs: ev.CustomerIDs},
		Notifications: []naiveNotification{{ID: ev.ID, Type: ev.Type, Timestamp: ev.Timestamp, Tokens: ev.Tokens,
			Mbox: ev.Mbox, View: ev.View, PageLoad: ev.PageLoad, Address: ev.Address, Parameters: ev.Parameters}},
	}
	if len(req.Context) == 0 {
		req.Context = json.RawMessage(`{"channel":"web"}`)
	}
	if ev.PropertyToken != "" {
		req.Property = &naiveProperty{Token: ev.PropertyToken}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+url.QueryEscape(ev.SessionID), bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	res, err := client.Do(hreq)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", res.StatusCode, rb)
	}
	return nil
}
