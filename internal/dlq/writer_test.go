package dlq

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// An entry counts as done only once its write succeeded, however many attempts that takes.
func TestDoneOnlyAfterASuccessfulWrite(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	var written []kafka.Message
	produce := func(_ context.Context, msgs ...kafka.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			return errors.New("broker not available")
		}
		written = append(written, msgs...)
		return nil
	}
	w := NewWriter(produce, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	done := make(chan struct{})
	err := w.Send(ctx, Entry{
		Source: event.Source{Topic: "events", Partition: 2, Offset: 7, ReplayedFrom: "dlq/0/4"}, Key: []byte("s1"), Value: []byte(`{"bad"`),
		Reason: "bad_json", Detail: "invalid event: unexpected end", Done: func() {
			mu.Lock()
			defer mu.Unlock()
			if len(written) == 0 {
				t.Error("Done ran before the write succeeded")
			}
			close(done)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 || len(written) != 1 {
		t.Fatalf("attempts = %d, written = %d", attempts, len(written))
	}
	if got := Header(written[0], HeaderReplayedFrom); got != "dlq/0/4" {
		t.Fatalf("%s = %q: a replay dead-lettered again must keep its first entry", HeaderReplayedFrom, got)
	}
	m := written[0]
	for name, want := range map[string]string{HeaderReason: "bad_json", HeaderError: "invalid event: unexpected end", HeaderTopic: "events", HeaderPartition: "2", HeaderOffset: "7"} {
		if got := Header(m, name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if string(m.Key) != "s1" || string(m.Value) != `{"bad"` {
		t.Errorf("the original key and value must be kept: %q %q", m.Key, m.Value)
	}
}

// A write that never succeeds leaves the entry not done when the writer stops.
func TestNotDoneWhenStoppedBeforeSuccess(t *testing.T) {
	failing := make(chan struct{}, 1)
	produce := func(context.Context, ...kafka.Message) error {
		select {
		case failing <- struct{}{}:
		default:
		}
		return errors.New("broker not available")
	}
	w := NewWriter(produce, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	_ = w.Send(ctx, Entry{Reason: "x", Done: func() { t.Error("Done ran although nothing was written") }})
	<-failing
	cancel()
	<-stopped
}
