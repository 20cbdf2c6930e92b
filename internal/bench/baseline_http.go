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
	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/targetsim"
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
	run, err := b.sendFloor(ctx, nil)
	if err != nil {
		return err
	}
	b.res.HTTPFloor = run
	return nil
}

// floorConcurrency is the bare sender's requests in flight: enough to keep a 0 ms simulator
// busy, as notifierd's limit did before it adapted.
const floorConcurrency = 256

// sendFloor runs the bare HTTP sender against a fresh 0 ms simulator, over HTTPS when t is
// set.
func (b *Bench) sendFloor(ctx context.Context, t *simTLS) (*HTTPFloorRun, error) {
	var serverTLS *targetsim.TLS
	if t != nil {
		serverTLS = t.server
	}
	sim, err := startSim(ctx, 0, serverTLS)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sim.Close() }()
	body, err := floorBody(httpFloorNotifications)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.dir, "http-floor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bodyPath := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyPath, body, 0o644); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	url := sim.URL + "/rest/v1/delivery?client=benchclient&sessionId=floor-" // + the sender's number
	args := []string{HTTPFloorCommand, url, bodyPath,
		strconv.Itoa(httpFloorNotifications), strconv.Itoa(httpFloorRequests), strconv.Itoa(floorConcurrency)}
	proto := "plain HTTP"
	if t != nil {
		proto = map[bool]string{true: "http1", false: "h2"}[t.http1()]
		args = append(args, t.caFile(), proto)
	}
	b.logf("bare HTTP sender (%s): %d requests of %d notifications, %d concurrent", proto, httpFloorRequests, httpFloorNotifications, floorConcurrency)
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdout, cmd.Stderr = b.opt.Log, b.opt.Log
	// No garbage collection, bounded: a floor leaves out what a bigger heap would amortise.
	cmd.Env = append(os.Environ(), "GOGC=off", "GOMEMLIMIT=1GiB")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bare HTTP sender: %w", err)
	}
	elapsed := time.Since(start)
	if got := sim.Stats().Accepted; got != httpFloorRequests {
		return nil, fmt.Errorf("bare HTTP sender: the simulator accepted %d of %d requests", got, httpFloorRequests)
	}
	run := &HTTPFloorRun{
		Requests: httpFloorRequests, Notifications: httpFloorNotifications, Concurrency: floorConcurrency, Bytes: len(body),
		Elapsed: elapsed, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), Conns: sim.Conns(),
	}
	b.logf("bare HTTP sender (%s): %.1f CPU-µs per request, %d connections", proto, float64(run.CPUPerRequest())/1e3, run.Conns)
	return run, nil
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
func HTTPFloorSend(ctx context.Context, url string, body []byte, notifications, requests, concurrency int, caFile string, http1 bool) error {
	transport, err := delivery.NewTransportWith(delivery.TransportConfig{MaxConnsPerHost: concurrency, CAFile: caFile, HTTP2: !http1})
	if err != nil {
		return err
	}
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
