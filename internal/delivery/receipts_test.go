package delivery

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/lease"
)

// receiptsFunc is a fake receipts writer.
type receiptsFunc func(ctx context.Context, it *batch.Item, a Answer) error

func (f receiptsFunc) Acknowledged(ctx context.Context, it *batch.Item, a Answer) error {
	return f(ctx, it, a)
}

// With receipts on, an acknowledged item goes to the receipts writer, which settles it, with
// what Target answered and how many requests its batch took.
func TestAcknowledgedItemsGoToTheReceipts(t *testing.T) {
	o := newOutcome()
	calls := 0
	var mu sync.Mutex
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			return nil, &Error{Status: 503, Retryable: true, Reason: "503"}
		}
		r := ackAll(idsOf(t, body))
		r.RequestID, r.TntID = "req-7", "v-s1.35_0"
		return r, nil
	}
	d, _ := startDispatcherWith(t, send, o, func(d *Dispatcher) {
		d.SendReceipts(receiptsFunc(func(_ context.Context, it *batch.Item, a Answer) error {
			mu.Lock()
			defer mu.Unlock()
			if a.RequestID != "req-7" || a.TntID != "v-s1.35_0" || a.EdgeHost != "mboxedge35.tt.omtrdc.net" || a.LocationHint != "35" || a.Status != 200 || a.Attempts != 2 || a.At.IsZero() {
				t.Errorf("receipt of %s: %+v", it.Notification.ID, a)
			}
			it.Settle(lease.Acknowledged) // what the writer does once the receipt is written
			return nil
		}))
	})
	d.Submit(batchOf(o.item(t, "s1", "a"), o.item(t, "s1", "b")))
	o.waitFinished(t, 2)
}

// A receipts writer that cannot take the item (the daemon is stopping) leaves it unsettled.
func TestNoReceiptNoSettle(t *testing.T) {
	o := newOutcome()
	handed := make(chan struct{}, 2)
	send := func(_ context.Context, _ string, body []byte) (*Response, error) { return ackAll(idsOf(t, body)), nil }
	d, _ := startDispatcherWith(t, send, o, func(d *Dispatcher) {
		d.SendReceipts(receiptsFunc(func(context.Context, *batch.Item, Answer) error {
			handed <- struct{}{}
			return errors.New("stopping")
		}))
	})
	d.Submit(batchOf(o.item(t, "s1", "a"), o.item(t, "s1", "b")))
	<-handed
	<-handed
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.settled) != 0 {
		t.Fatalf("settled %v without receipts", o.settled)
	}
}
