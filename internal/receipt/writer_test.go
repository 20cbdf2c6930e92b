package receipt

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/pkg/notify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// holder records the outcomes its leases were settled with.
type holder struct {
	settled chan lease.Outcome
	before  func() // runs at each settle, to check what had been written by then
}

func (h *holder) Release(_ *lease.Lease, o lease.Outcome) { h.before(); h.settled <- o }
func (h *holder) GivenUp() bool                           { return false }

// run starts w and returns its stop.
func run(w *Writer) func() {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	return func() { cancel(); <-stopped }
}

func TestReceiptWrittenBeforeTheLeaseIsSettled(t *testing.T) {
	var mu sync.Mutex
	var written []kafka.Message
	attempts := 0
	produce := func(_ context.Context, msgs ...kafka.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if attempts++; attempts == 1 {
			return errors.New("leader not available") // retried
		}
		written = append(written, msgs...)
		return nil
	}
	w := NewWriter(produce, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	stop := run(w)
	defer stop()

	h := &holder{settled: make(chan lease.Outcome, 2)}
	h.before = func() {
		mu.Lock()
		defer mu.Unlock()
		if len(written) == 0 {
			t.Error("a lease was settled before its receipt was written")
		}
	}
	env := &event.Envelope{Client: "acme", SessionID: "s-1", Hint: ""}
	it := &batch.Item{
		Notification: &event.Notification{ID: "n-1", Type: notify.TypeDisplay, Timestamp: 1764331200000, Envelope: env},
		Source:       event.Source{Topic: "events", Partition: 3, Offset: 1042}, Key: []byte("s-1"), Lease: lease.New(h, 1042),
	}
	at := time.UnixMilli(1764331200250)
	if err := w.Acknowledged(context.Background(), it, delivery.Answer{RequestID: "req-1", EdgeHost: "mboxedge35.tt.omtrdc.net", TntID: "t.35_0", LocationHint: "35", Status: 200, Attempts: 2, At: at}); err != nil {
		t.Fatal(err)
	}
	bad := dlq.Entry{Source: event.Source{Topic: "events", Partition: 1, Offset: 7}, Key: []byte("s-2"), Reason: notify.ReasonBadValue, Lease: lease.New(h, 7)}
	if err := w.DeadLettered(context.Background(), bad, at); err != nil {
		t.Fatal(err)
	}
	got := map[lease.Outcome]bool{<-h.settled: true, <-h.settled: true}
	if !got[lease.Acknowledged] || !got[lease.DeadLettered] {
		t.Fatalf("settled %v, want acknowledged and dead_lettered", got)
	}

	mu.Lock()
	defer mu.Unlock()
	want := map[string]notify.Receipt{
		"s-1": {ID: "n-1", Source: notify.ReceiptSource{Topic: "events", Partition: 3, Offset: 1042}, Outcome: notify.OutcomeAcknowledged,
			RequestID: "req-1", EdgeHost: "mboxedge35.tt.omtrdc.net", TntID: "t.35_0", LocationHint: "35", Client: "acme", SessionID: "s-1",
			Status: 200, Attempts: 2, EventTime: 1764331200000, AckTime: 1764331200250},
		"s-2": {Source: notify.ReceiptSource{Topic: "events", Partition: 1, Offset: 7}, Outcome: notify.OutcomeDeadLettered,
			Reason: notify.ReasonBadValue, AckTime: 1764331200250},
	}
	if len(written) != 2 {
		t.Fatalf("%d receipts written, want 2", len(written))
	}
	for _, m := range written {
		r, err := notify.DecodeReceipt(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if r != want[string(m.Key)] {
			t.Errorf("receipt keyed %s:\n got %+v\nwant %+v", m.Key, r, want[string(m.Key)])
		}
	}
}

func TestNoSettleWhenTheWriteNeverSucceeds(t *testing.T) {
	failing := make(chan struct{}, 1)
	produce := func(context.Context, ...kafka.Message) error {
		select {
		case failing <- struct{}{}:
		default:
		}
		return errors.New("topic authorization failed")
	}
	w := NewWriter(produce, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	stop := run(w)
	h := &holder{settled: make(chan lease.Outcome, 1), before: func() {}}
	if err := w.DeadLettered(context.Background(), dlq.Entry{Key: []byte("k"), Reason: "x", Lease: lease.New(h, 0)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	<-failing
	stop()
	select {
	case o := <-h.settled:
		t.Fatalf("settled as %s although no receipt was written", o)
	default:
	}
}
