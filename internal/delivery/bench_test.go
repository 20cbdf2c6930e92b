package delivery

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/retry"
)

// benchIDs are the notification ids of one request of the daemon's profile (about 6.5 per
// request), shaped like the UUIDs producers use.
var benchIDs = func() []string {
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = fmt.Sprintf("0b5c7e2a-3f1d-4c8e-9a6b-%012d", i)
	}
	return ids
}()

// benchAck is the simulator's 200 for benchIDs: the same members Target sends.
func benchAck(ids []string) []byte {
	var b strings.Builder
	b.WriteString(`{"status":200,"requestId":"5f3b0c1e-8d2a-4b7e-9c41-2e6f0a9d7b13","id":{"tntId":"v-1f0e2d3c.35_0"},"client":"acme","edgeHost":"mboxedge35.tt.omtrdc.net","notifications":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%q}`, id)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// benchItems renders len(ids) notifications of one session, displays and clicks mixed.
func benchItems(b *testing.B, session string, ids []string) []*batch.Item {
	b.Helper()
	items := make([]*batch.Item, len(ids))
	for i, id := range ids {
		typ := "display"
		if i%3 == 2 {
			typ = "click"
		}
		value := fmt.Sprintf(`{"id":%q,"type":%q,"timestamp":%d,"sessionId":%q,"tntId":"v-%s.35_0","mbox":{"name":"homepage-hero"},"tokens":["9jGWwyLxTXvcvnq3FBcVk2qipfsEHvvhcJr6KZWUvUhs0uuGdqBp4jhl1Ed44ke4nqpH0MbYBPQDAL3jeLS7Ng=="]}`,
			id, typ, time.Now().UnixMilli(), session, session)
		n, err := decoder.Decode([]byte(value), event.Source{Topic: "t"})
		if err != nil {
			b.Fatal(err)
		}
		items[i] = batch.NewItem(n, event.Source{Topic: "t"}, nil, []byte(value), lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) {}), int64(i)))
	}
	return items
}

// cpuPerOp reports the process's CPU time per op beside ns/op: the machines this runs on
// are shared, and wall time per op there measures the neighbours as much as the code.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSend is one Client.Send over loopback HTTP/1.1 keep-alive to a server that
// answers at once; the handler's own work is included but constant.
func BenchmarkSend(b *testing.B) {
	ack := benchAck(benchIDs)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4096)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(ack)
	}))
	defer srv.Close()
	c := &Client{HTTP: &http.Client{Transport: NewTransport(4)}, Timeout: 10 * time.Second}
	defer c.HTTP.CloseIdleConnections()
	items := benchItems(b, "s1", benchIDs)
	env := items[0].Notification.Envelope
	body := Body(env, items)
	router := NewRouter(srv.URL+"/{client}", srv.URL+"/{hint}", "", 100)
	url := router.URL(env)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		resp, err := c.Send(ctx, url, body)
		if err != nil || resp.EdgeHost == "" {
			b.Fatal(resp, err)
		}
	}
}

// BenchmarkDecodeAck is the reading of a 200's body.
func BenchmarkDecodeAck(b *testing.B) {
	ack := benchAck(benchIDs)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := decodeAck(ack); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatcher is the dispatcher's own work per request: a batch of six through
// Submit, admit, attempt, Body, the route, metrics and acknowledgement, with a Send that answers
// at once with a decoded acknowledgement of every id.
func BenchmarkDispatcher(b *testing.B) {
	resp, err := decodeAck(benchAck(benchIDs))
	if err != nil {
		b.Fatal(err)
	}
	send := func(_ context.Context, _ string, body []byte) (*Response, error) { return resp, nil }
	router := NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", 100)
	d := NewDispatcher(Config{MaxPerEdge: 1, MaxNotifications: 50, MaxSessions: 10,
		Retry: retry.Policy{Initial: time.Millisecond, Max: time.Second, Multiplier: 2, MaxElapsed: time.Minute}},
		send, router, deadLetterFunc(func(context.Context, *batch.Item, string, string) error { b.Fatal("dead letter"); return nil }),
		metrics.New(prometheus.NewRegistry()), zap.NewNop())
	// Items settle once; later acknowledgements of the same items cost what a first one does
	// apart from the settle callback, which is not the dispatcher's.
	bt := &batch.Batch{Envelope: nil}
	for _, it := range benchItems(b, "s1", benchIDs) {
		bt.Envelope = it.Notification.Envelope
		bt.Items = append(bt.Items, it)
		bt.Bytes += it.Size()
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		d.Submit(bt)
		s := <-d.ready
		url, edge, _ := d.admit(s)
		d.attempt(ctx, s, url, edge)
	}
	if d.Sessions() != 0 {
		b.Fatal("session left behind")
	}
}

// BenchmarkUnmarshalAck is the reference decodeAck falls back to.
func BenchmarkUnmarshalAck(b *testing.B) {
	ack := benchAck(benchIDs)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := unmarshalAck(ack); err != nil {
			b.Fatal(err)
		}
	}
}
