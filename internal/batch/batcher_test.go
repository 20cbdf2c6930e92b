package batch

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/pkg/notify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var decoder = &event.Decoder{Client: "acme", Channel: "web", Now: time.Now, Limits: notify.Limits{}}

func item(t *testing.T, session string, i int) *Item {
	t.Helper()
	n, err := decoder.Decode([]byte(fmt.Sprintf(`{"id":"%s-%d","type":"click","timestamp":1,"sessionId":%q,"tntId":"v","mbox":{"name":"m"},"tokens":["x"]}`, session, i, session)), event.Source{})
	if err != nil {
		t.Fatal(err)
	}
	return NewItem(n, event.Source{}, nil, nil, nil)
}

func collect() (func(*Batch), chan *Batch) {
	out := make(chan *Batch, 100)
	return func(b *Batch) { out <- b }, out
}

func TestFlushesWhenFull(t *testing.T) {
	flush, out := collect()
	b := New(Config{MaxNotifications: 3, Linger: time.Hour}, flush)
	for i := range 7 {
		b.Add(item(t, "s", i))
	}
	for range 2 {
		got := <-out
		if len(got.Items) != 3 || got.Trigger != TriggerFull {
			t.Fatalf("batch of %d closed by %s, want 3 by full", len(got.Items), got.Trigger)
		}
	}
	if b.Open() != 1 {
		t.Fatalf("open batches = %d, want the 7th item waiting", b.Open())
	}
	b.Flush()
	if got := <-out; len(got.Items) != 1 || got.Trigger != TriggerFlush {
		t.Fatalf("flushed batch of %d by %s", len(got.Items), got.Trigger)
	}
}

func TestFlushPartitionLeavesTheOthersLingering(t *testing.T) {
	flush, out := collect()
	b := New(Config{MaxNotifications: 50, Linger: time.Hour}, flush)
	add := func(session string, partition int) {
		it := item(t, session, partition)
		it.Source.Partition = partition
		b.Add(it)
	}
	add("a", 1)
	add("b", 2)
	add("c", 1)
	add("b", 1) // session b's events on two partitions: its batch goes with either
	add("d", 3)
	b.FlushPartition(1)
	flushed := map[string]int{}
	for range 3 {
		got := <-out
		if got.Trigger != TriggerFlush {
			t.Errorf("batch closed by %s, want flush", got.Trigger)
		}
		flushed[got.Envelope.SessionID] = len(got.Items)
	}
	if len(flushed) != 3 || flushed["a"] != 1 || flushed["b"] != 2 || flushed["c"] != 1 {
		t.Errorf("flushed %v, want the batches of sessions a, b (2 items) and c", flushed)
	}
	if b.Open() != 1 {
		t.Errorf("open batches = %d, want partition 3's still lingering", b.Open())
	}
	b.Flush()
	if got := <-out; got.Envelope.SessionID != "d" {
		t.Errorf("the last batch is session %s's, want d's", got.Envelope.SessionID)
	}
}

func TestLingerGroupsASession(t *testing.T) {
	flush, out := collect()
	b := New(Config{MaxNotifications: 50, Linger: 20 * time.Millisecond}, flush)
	for i := range 5 {
		b.Add(item(t, "s1", i))
	}
	b.Add(item(t, "s2", 0))
	sizes := map[string]int{}
	for range 2 {
		got := <-out
		if got.Trigger != TriggerLinger {
			t.Fatalf("trigger = %s, want linger", got.Trigger)
		}
		sizes[got.Envelope.SessionID] = len(got.Items)
	}
	if sizes["s1"] != 5 || sizes["s2"] != 1 {
		t.Fatalf("batch sizes by session = %v, want s1:5 s2:1", sizes)
	}
}

// TestOneTimerServesEveryBatch: batches closed early are not flushed again at their
// deadline, the rest expire in the order they opened, and the timer is armed again once
// everything that waited has gone.
func TestOneTimerServesEveryBatch(t *testing.T) {
	flush, out := collect()
	b := New(Config{MaxNotifications: 2, Linger: 20 * time.Millisecond}, flush)
	b.Add(item(t, "a", 0))
	b.Add(item(t, "a", 1)) // full: closed now, its place in the deadline list stays behind
	b.Add(item(t, "b", 0))
	b.Add(item(t, "c", 0))
	next := func() *Batch {
		t.Helper()
		select {
		case got := <-out:
			return got
		case <-time.After(5 * time.Second):
			t.Fatal("no batch flushed")
			return nil
		}
	}
	for _, want := range []struct {
		session, trigger string
		items            int
	}{{"a", TriggerFull, 2}, {"b", TriggerLinger, 1}, {"c", TriggerLinger, 1}} {
		got := next()
		if got.Envelope.SessionID != want.session || got.Trigger != want.trigger || len(got.Items) != want.items {
			t.Fatalf("got %s: %d items by %s, want %s: %d by %s", got.Envelope.SessionID, len(got.Items), got.Trigger, want.session, want.items, want.trigger)
		}
	}
	b.Add(item(t, "d", 0))
	if got := next(); got.Envelope.SessionID != "d" || got.Trigger != TriggerLinger {
		t.Fatalf("after the list emptied: got %s by %s, want d by linger", got.Envelope.SessionID, got.Trigger)
	}
	select {
	case got := <-out:
		t.Fatalf("a batch was flushed twice: %s by %s", got.Envelope.SessionID, got.Trigger)
	default:
	}
	if b.Open() != 0 {
		t.Fatalf("open batches = %d, want none", b.Open())
	}
}

func TestByteBound(t *testing.T) {
	flush, out := collect()
	one := item(t, "s", 0).Size()
	b := New(Config{MaxNotifications: 50, MaxBytes: 2*one + 1, Linger: time.Hour}, flush)
	for i := range 3 {
		b.Add(item(t, "s", i))
	}
	got := <-out
	if len(got.Items) != 2 || got.Trigger != TriggerBytes || got.Bytes > 2*one+1 {
		t.Fatalf("batch %d items, %d bytes, by %s; want 2 items within the byte bound", len(got.Items), got.Bytes, got.Trigger)
	}
	b.Flush()
	<-out
}

func TestBudgetBlocksAtTheBound(t *testing.T) {
	bud := NewBudget(2, 1000)
	ctx := context.Background()
	if err := bud.Acquire(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if err := bud.Acquire(ctx, 10); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := bud.Acquire(short, 10); err == nil {
		t.Fatal("Acquire past the event bound did not wait")
	}
	got := make(chan error)
	go func() { got <- bud.Acquire(ctx, 10) }()
	for { // Release must wake a waiter, not merely precede it
		bud.mu.Lock()
		waiting := bud.waiters
		bud.mu.Unlock()
		if waiting == 1 {
			break
		}
		runtime.Gosched()
	}
	bud.Release(10)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Release did not wake the waiting Acquire")
	}
	if events, bytes := bud.Used(); events != 2 || bytes != 20 {
		t.Fatalf("Used() = %d, %d", events, bytes)
	}
}

func TestBudgetByteBoundLetsAGiantThroughAlone(t *testing.T) {
	bud := NewBudget(100, 100)
	if err := bud.Acquire(context.Background(), 500); err != nil {
		t.Fatal("an event larger than the byte bound must pass when nothing else is held")
	}
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := bud.Acquire(short, 1); err == nil {
		t.Fatal("the byte bound is exceeded, yet Acquire did not wait")
	}
}
