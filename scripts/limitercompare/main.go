// Command limitercompare compares failsafe-go's adaptivelimiter with notifierd's internal/limit against the same
// driver: 3000 senders that always have work, a server 100 ms away, a 429 storm from 10 s to
// 15 s (answered in 1 ms), then normal again until 25 s. Prints limit and in-flight each second.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"

	"github.com/notifierd/notifierd/internal/limit"
)

type lim interface {
	acquire() (func(pushedBack bool), bool)
	limit() int
}

type ours struct{ l *limit.Limiter }

func (o ours) acquire() (func(bool), bool) {
	if !o.l.TryAcquire(time.Now()) {
		return nil, false
	}
	start := time.Now()
	return func(pb bool) {
		out := limit.Accepted
		if pb {
			out = limit.PushedBack
		}
		o.l.Release(time.Now(), time.Since(start), out)
	}, true
}
func (o ours) limit() int { return o.l.Limit() }

type theirs struct {
	l adaptivelimiter.AdaptiveLimiter[any]
}

func (f theirs) acquire() (func(bool), bool) {
	p, ok := f.l.TryAcquirePermit()
	if !ok {
		return nil, false
	}
	return func(bool) { p.Record() }, true
}
func (f theirs) limit() int { return f.l.Limit() }

func run(name string, l lim) {
	var inflight, done atomic.Int64
	start := time.Now()
	stop := make(chan struct{})
	storm := func() bool { e := time.Since(start); return e > 10*time.Second && e < 15*time.Second }
	var wg sync.WaitGroup
	for range 3000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				release, ok := l.acquire()
				if !ok {
					time.Sleep(2 * time.Millisecond)
					continue
				}
				inflight.Add(1)
				pb := storm()
				if pb {
					time.Sleep(time.Millisecond)
				} else {
					time.Sleep(100 * time.Millisecond)
					done.Add(1)
				}
				inflight.Add(-1)
				release(pb)
				if pb {
					time.Sleep(50 * time.Millisecond) // the session's backoff
				}
			}
		}()
	}
	fmt.Printf("%s\n  t(s)  limit  inflight  ok/s\n", name)
	var last int64
	for i := 1; i <= 25; i++ {
		time.Sleep(time.Second)
		d := done.Load()
		fmt.Printf("  %4d  %5d  %8d  %5d\n", i, l.limit(), inflight.Load(), d-last)
		last = d
	}
	close(stop)
	wg.Wait()
}

func main() {
	run("notifierd internal/limit (Defaults(2048))", ours{limit.New(limit.Defaults(2048))})
	run("failsafe-go adaptivelimiter v0.9.8 (limits 1..2048, initial 20)", theirs{adaptivelimiter.NewBuilder[any]().WithLimits(1, 2048, 20).Build()})
}
