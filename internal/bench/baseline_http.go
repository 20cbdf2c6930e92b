package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/pkg/notify"
)

// HTTPFloorCommand is the argument that makes the bench binary the bare HTTP sender: a
// process of its own, so its CPU time is the client's alone.
const HTTPFloorCommand = "http-floor"

// Bare HTTP sender: the requests it posts and the notifications in each, about what the
// 0 ms drain averages.
const (
	httpFloorRequests      = 100_000
	httpFloorNotifications = 5
)

// httpFloor is the CPU floor of delivery: notifierd's own HTTP client (delivery.Client
// over delivery.NewTransport, as the daemon builds them) posting one realistic request body
// over and over to the simulator, with the daemon's default concurrency, and no Kafka,
// decoding, batching or garbage collection. Whatever notifierd spends per request beyond
// this is its own.
func (b *Bench) httpFloor(ctx context.Context) error {
	sim, err := startSim(ctx, 0)
	if err != nil {
		return err
	}
	defer func() { _ = sim.Close() }()
	body, err := floorBody(httpFloorNotifications)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "http-floor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bodyPath := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyPath, body, 0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	concurrency := config.Default().Target.MaxConcurrency
	url := sim.URL + "/rest/v1/delivery?client=benchclient&sessionId=floor-" // + the sender's number
	b.logf("bare HTTP sender: %d requests of %d notifications, %d concurrent", httpFloorRequests, httpFloorNotifications, concurrency)
	cmd := exec.CommandContext(ctx, self, HTTPFloorCommand, url, bodyPath,
		strconv.Itoa(httpFloorNotifications), strconv.Itoa(httpFloorRequests), strconv.Itoa(concurrency))
	cmd.Stdout, cmd.Stderr = b.opt.Log, b.opt.Log
	// No garbage collection, bounded: a floor leaves out what a bigger heap would amortise.
	cmd.Env = append(os.Environ(), "GOGC=off", "GOMEMLIMIT=1GiB")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bare HTTP sender: %w", err)
	}
	elapsed := time.Since(start)
	if got := sim.Stats().Accepted; got != httpFloorRequests {
		return fmt.Errorf("bare HTTP sender: the simulator accepted %d of %d requests", got, httpFloorRequests)
	}
	b.res.HTTPFloor = &HTTPFloorRun{
		Requests: httpFloorRequests, Notifications: httpFloorNotifications, Concurrency: concurrency, Bytes: len(body),
		Elapsed: elapsed, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
	}
	b.logf("bare HTTP sender: %.1f CPU-µs per request", float64(b.res.HTTPFloor.CPUPerRequest())/1e3)
	return nil
}

// floorBody is the request notifierd would send for n events of one workload session.
func floorBody(n int) ([]byte, error) {
	w := NewWorkload(1, 1, "floor-")
	d := &event.Decoder{Client: "benchclient", Channel: "web", Limits: notify.DefaultLimits, Now: time.Now}
	items := make([]*batch.Item, 0, n)
	for i := range n {
		m := w.event(&w.sessions[0], 0, notify.TypeDisplay, time.Now().UnixMilli())
		ev, err := d.Decode(m.Value, event.Source{Topic: "floor", Offset: int64(i)})
		if err != nil {
			return nil, fmt.Errorf("workload event: %w", err)
		}
		items = append(items, batch.NewItem(ev, event.Source{}, nil, m.Value, nil))
	}
	return delivery.Body(items[0].Notification.Envelope, items), nil
}

// HTTPFloorSend is the bare HTTP sender's process: it posts body (of notifications) to url
// requests times with concurrency senders, through the daemon's client, and fails on any
// error or on a notification left unacknowledged. Each sender is a session of its own,
// with one request in flight, as Target requires; its number completes url.
func HTTPFloorSend(ctx context.Context, url string, body []byte, notifications, requests, concurrency int) error {
	transport := delivery.NewTransport(concurrency)
	defer transport.CloseIdleConnections()
	client := &delivery.Client{HTTP: &http.Client{Transport: transport}, Timeout: 10 * time.Second}
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
	)
	for i := range concurrency {
		session := url + strconv.Itoa(i)
		wg.Go(func() {
			for next.Add(1) <= int64(requests) && failed.Load() == nil {
				resp, err := client.Send(ctx, session, body)
				if err == nil && len(resp.Acked) != notifications {
					err = fmt.Errorf("%d of %d notifications acknowledged", len(resp.Acked), notifications)
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	return nil
}
