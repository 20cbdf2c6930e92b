package outbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNextTakesWhatIsQueuedUpToMax(t *testing.T) {
	in := make(chan int, 10)
	for i := range 5 {
		in <- i
	}
	if got, ok := Next(context.Background(), in, 3); !ok || len(got) != 3 {
		t.Fatalf("got %v %v, want 3 items", got, ok)
	}
	if got, ok := Next(context.Background(), in, 3); !ok || len(got) != 2 {
		t.Fatalf("got %v %v, want the 2 left", got, ok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, ok := Next(ctx, in, 3); ok || got != nil {
		t.Fatalf("got %v %v from an empty queue after ctx ended", got, ok)
	}
}

func TestWriteRetriesUntilItSucceeds(t *testing.T) {
	attempts, failures := 0, 0
	err := Write(context.Background(), func(context.Context) error {
		if attempts++; attempts < 3 {
			return errors.New("not yet")
		}
		return nil
	}, func(err error, wait time.Duration) bool {
		failures++
		return true // at once: the test need not wait
	})
	if err != nil || attempts != 3 || failures != 2 {
		t.Fatalf("err %v after %d attempts, %d failures heard; want nil, 3, 2", err, attempts, failures)
	}
}

func TestWriteStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := Write(ctx, func(context.Context) error { return errors.New("broker down") },
		func(error, time.Duration) bool { cancel(); return false })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
