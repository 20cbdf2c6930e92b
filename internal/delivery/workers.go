package delivery

import (
	"sync"
	"sync/atomic"
	"time"
)

// workers runs the dispatcher's attempts on goroutines that outlive them. A goroutine
// started for each attempt grew its stack through net/http's call chain every time:
// copying stacks was 5 % of the daemon's CPU in the bench's profile. A worker grows its
// stack once and keeps it between attempts (until the garbage collector shrinks an idle
// one), and leaves after workerIdle without work, so a quiet daemon holds none.
type workers struct {
	jobs chan func()
	quit chan struct{}
	wg   sync.WaitGroup
	idle time.Duration
	// started counts the workers ever started, for tests.
	started atomic.Int64
}

// workerIdle is how long a worker waits for the next attempt before it ends.
const workerIdle = 10 * time.Second

func newWorkers(idle time.Duration) *workers {
	return &workers{jobs: make(chan func()), quit: make(chan struct{}), idle: idle}
}

// run hands job to an idle worker, or starts one: it never waits.
func (w *workers) run(job func()) {
	select {
	case w.jobs <- job:
	default:
		w.started.Add(1)
		w.wg.Go(func() { w.loop(job) })
	}
}

func (w *workers) loop(job func()) {
	idle := time.NewTimer(w.idle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(w.idle)
		select {
		case job = <-w.jobs:
		case <-idle.C:
			return
		case <-w.quit:
			return
		}
	}
}

// stop lets the workers finish their attempts, ends them and waits for them.
func (w *workers) stop() {
	close(w.quit)
	w.wg.Wait()
}
