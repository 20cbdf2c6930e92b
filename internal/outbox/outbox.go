// Package outbox is the loop the daemon's writers to its own topics share (dead letters,
// receipts): take a batch of what is queued, write it until the write succeeds or the daemon
// stops, then settle. Every commit waits on these writes, so they never give up on their own.
package outbox

import (
	"context"
	"time"

	"github.com/notifierd/notifierd/internal/retry"
)

// Next waits for a first item, then takes whatever else is queued, up to max in all. ok is
// false when ctx ended first.
func Next[T any](ctx context.Context, in <-chan T, max int) (batch []T, ok bool) {
	select {
	case v := <-in:
		batch = append(batch, v)
	case <-ctx.Done():
		return nil, false
	}
	for len(batch) < max {
		select {
		case v := <-in:
			batch = append(batch, v)
		default:
			return batch, true
		}
	}
	return batch, true
}

// policy paces the attempts: at most 2 s apart, so a partition leader that moved is found
// again within seconds (the transport's metadata refresh).
var policy = retry.Policy{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}

// Write calls write until it succeeds, and returns ctx's error if ctx ends first. After each
// failure, failed hears the error and the wait before the next attempt; it adjusts what the
// next attempt writes (dropping what was written, say), and returns true to try again at once.
func Write(ctx context.Context, write func(context.Context) error, failed func(err error, wait time.Duration) (now bool)) error {
	b := policy.NewBackOff()
	for {
		err := write(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, _ := retry.Wait(b, 0)
		if failed(err, wait) {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
