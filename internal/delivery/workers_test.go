package delivery

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAWorkerWaitsForTheNextAttempt(t *testing.T) {
	w := newWorkers(time.Minute)
	defer w.stop()
	done := make(chan struct{})
	w.run(func() { done <- struct{}{} })
	<-done
	for range 3 {
		w.jobs <- func() { done <- struct{}{} } // taken only by the idle worker
		<-done
	}
	if n := w.started.Load(); n != 1 {
		t.Fatalf("%d workers started for 4 sequential attempts, want 1", n)
	}
}

func TestRunNeverWaitsForABusyWorker(t *testing.T) {
	w := newWorkers(time.Minute)
	defer w.stop()
	release := make(chan struct{})
	var running sync.WaitGroup
	running.Add(3)
	for range 3 {
		w.run(func() { running.Done(); <-release })
	}
	running.Wait() // all three at once: each got a worker of its own
	close(release)
	if n := w.started.Load(); n != 3 {
		t.Fatalf("%d workers started for 3 concurrent attempts, want 3", n)
	}
}

func TestAnIdleWorkerLeaves(t *testing.T) {
	w := newWorkers(10 * time.Millisecond)
	done := make(chan struct{})
	w.run(func() { close(done) })
	<-done
	w.wg.Wait() // returns only because the worker ended after its idle time: quit is still open
	close(w.quit)
}

func TestStopWaitsForTheAttemptsUnderWay(t *testing.T) {
	w := newWorkers(time.Minute)
	var finished atomic.Bool
	started, release := make(chan struct{}), make(chan struct{})
	w.run(func() { close(started); <-release; finished.Store(true) })
	<-started
	stopped := make(chan struct{})
	go func() { w.stop(); close(stopped) }()
	close(release)
	<-stopped
	if !finished.Load() {
		t.Fatal("stop returned before the attempt under way finished")
	}
}
