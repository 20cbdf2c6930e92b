package dlq

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
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
		Reason: "bad_json", Detail: "invalid event: unexpected end", Lease: lease.New(releaseFunc(func(_ *lease.Lease, o lease.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			if len(written) == 0 {
				t.Error("the lease was settled before the write succeeded")
			}
			if o != lease.DeadLettered {
				t.Errorf("settled as %s, want dead_lettered", o)
			}
			close(done)
		}), 7),
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
	_ = w.Send(ctx, Entry{Reason: "x", Lease: lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) { t.Error("settled although nothing was written") }), 0)})
	<-failing
	cancel()
	<-stopped
}

// writeAll runs a writer over produce, sends entries and waits until each is done.
func writeAll(t *testing.T, produce func(context.Context, ...kafka.Message) error, entries ...Entry) {
	t.Helper()
	w := NewWriter(produce, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()
	done := make(chan struct{}, len(entries))
	for _, e := range entries {
		e.Lease = lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) { done <- struct{}{} }), e.Source.Offset)
		if err := w.Send(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for range entries {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("an entry was never written: dead-lettering stalled")
		}
	}
}

// TestTooLargeEntryIsWrittenWithoutItsValue: an entry over the size limit fails every time
// as it is; written without the value it does not stop every other dead letter.
func TestTooLargeEntryIsWrittenWithoutItsValue(t *testing.T) {
	var mu sync.Mutex
	var written []kafka.Message
	produce := func(_ context.Context, msgs ...kafka.Message) error {
		for i, m := range msgs {
			if len(m.Value) > 100 { // refused before sending, as kafka-go does over BatchBytes
				rest := append(append([]kafka.Message{}, msgs[:i]...), msgs[i+1:]...)
				return kafka.MessageTooLargeError{Message: m, Remaining: rest}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		written = append(written, msgs...)
		return nil
	}
	big := make([]byte, 1000)
	writeAll(t, produce,
		Entry{Source: event.Source{Topic: "ev", Partition: 1, Offset: 5}, Value: big, Reason: "too_large"},
		Entry{Source: event.Source{Topic: "ev", Partition: 1, Offset: 6}, Value: []byte(`{}`), Reason: "bad_json"})
	mu.Lock()
	defer mu.Unlock()
	if len(written) != 2 {
		t.Fatalf("%d messages written, want 2", len(written))
	}
	for _, m := range written {
		dropped := Header(m, HeaderValueDropped)
		switch Header(m, HeaderOffset) {
		case "5":
			if m.Value != nil || !strings.HasPrefix(dropped, "1000 bytes") {
				t.Errorf("too large entry written with %d bytes of value, %s %q", len(m.Value), HeaderValueDropped, dropped)
			}
		case "6":
			if string(m.Value) != `{}` || dropped != "" {
				t.Errorf("the other entry lost its value (%q, %q)", m.Value, dropped)
			}
		}
	}
}

// TestPartialWriteRetriesOnlyWhatFailed: messages the broker took are not written twice.
func TestPartialWriteRetriesOnlyWhatFailed(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	count := map[string]int{}
	produce := func(_ context.Context, msgs ...kafka.Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 && len(msgs) == 2 {
			count[Header(msgs[0], HeaderOffset)]++
			return kafka.WriteErrors{nil, errors.New("leader not available")}
		}
		for _, m := range msgs {
			count[Header(m, HeaderOffset)]++
		}
		return nil
	}
	w := NewWriter(produce, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	defer func() { cancel(); <-stopped }()
	done := make(chan struct{}, 2)
	// Queued before Run starts, so the two go out in one batch.
	for o := range 2 {
		if err := w.Send(ctx, Entry{Source: event.Source{Topic: "ev", Offset: int64(o)}, Reason: "x", Lease: lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) { done <- struct{}{} }), int64(o))}); err != nil {
			t.Fatal(err)
		}
	}
	go func() { w.Run(ctx); close(stopped) }()
	for range 2 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("an entry was never written")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if count["0"] != 1 || count["1"] != 1 {
		t.Fatalf("writes per entry %v: want each written once", count)
	}
}

// releaseFunc is a fake lease holder of a partition still owned.
type releaseFunc func(l *lease.Lease, o lease.Outcome)

func (f releaseFunc) Release(l *lease.Lease, o lease.Outcome) { f(l, o) }
func (f releaseFunc) GivenUp() bool                           { return false }
