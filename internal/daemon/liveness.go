package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/notifierd/notifierd/internal/delivery"
)

// liveness answers /healthz: it tells a stuck process apart from one retrying through a
// Target outage. With events pending, the process is alive while, within admin.stallTimeout,
//
//   - something progressed: an event acknowledged or dead-lettered, an offset committed; or
//   - Target answered a request, with any outcome (an error, a 5xx, a refused connection):
//     the dispatcher is attempting as designed, and a restart would only cost a rebalance,
//     duplicates and a fresh backoff.
//
// A session retrying alone waits up to target.retry.maxInterval between attempts, and as long
// as Target's Retry-After asks: both stretch the window, so waiting as told is not "stuck".
// What is left is a process where nothing moves: workers blocked, a request outliving its
// timeout, a pipeline that no longer hands work to the dispatcher.
type liveness struct {
	stall   time.Duration // admin.stallTimeout
	maxWait time.Duration // target.retry.maxInterval: the longest backoff between attempts
	now     func() time.Time

	pending  func() int       // events between fetch and outcome
	progress func() time.Time // the last event settled or offset committed
	answer   func() time.Time // the last request answered, any outcome; zero before the first
	told     func() time.Time // when the longest wait Target asked for (Retry-After) ends

	// idle is when a check last found nothing pending (unix ns): work that arrives after a
	// quiet hour is timed from then, not from the hour-old last progress.
	idle atomic.Int64
}

// check returns an error when the process is stuck, and otherwise a note, empty unless Target
// is failing: alive, but nothing acknowledged for admin.stallTimeout.
func (l *liveness) check() (note string, err error) {
	now := l.now()
	pending := l.pending()
	if pending == 0 {
		l.idle.Store(now.UnixNano())
		return "", nil
	}
	progress := latest(l.progress(), time.Unix(0, l.idle.Load()))
	if now.Sub(progress) <= l.stall {
		return "", nil
	}
	answer := l.answer()
	answered := !answer.IsZero() && now.Sub(answer) <= l.stall+l.maxWait
	if told := l.told(); answered || now.Sub(told) <= l.stall {
		since := "never"
		if !answer.IsZero() {
			since = now.Sub(answer).Round(time.Millisecond).String() + " ago"
		}
		return fmt.Sprintf("Target failing: nothing acknowledged for %s with %d events pending; retrying, last answer %s",
			now.Sub(progress).Round(time.Second), pending, since), nil
	}
	if answer.IsZero() {
		return "", fmt.Errorf("stuck: no progress for %s with %d events pending, and no Target request answered since start",
			now.Sub(progress).Round(time.Second), pending)
	}
	return "", fmt.Errorf("stuck: no progress for %s with %d events pending, and no Target request answered for %s",
		now.Sub(progress).Round(time.Second), pending, now.Sub(answer).Round(time.Second))
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// toldWait remembers when the longest wait Target asked for (Retry-After) ends, from what
// Send returns, so that liveness takes sessions waiting as told for alive.
type toldWait struct {
	until atomic.Int64 // unix ns
	now   func() time.Time
}

// observe wraps send; only failed attempts cost anything beyond the call.
func (w *toldWait) observe(send delivery.Send) delivery.Send {
	return func(ctx context.Context, url string, body []byte) (*delivery.Response, error) {
		resp, err := send(ctx, url, body)
		var tErr *delivery.Error
		if err != nil && errors.As(err, &tErr) && tErr.RetryAfter > 0 {
			until := w.now().Add(tErr.RetryAfter).UnixNano()
			for cur := w.until.Load(); until > cur && !w.until.CompareAndSwap(cur, until); cur = w.until.Load() {
			}
		}
		return resp, err
	}
}

// end is when the longest wait asked for ends; zero if none was.
func (w *toldWait) end() time.Time {
	if ns := w.until.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}
