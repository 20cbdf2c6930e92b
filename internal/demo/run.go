package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// run is the running part of a demo: notifierd, the publisher and the progress loop that
// decides when to stop them.
type run struct {
	cfg   Config
	msgs  []Message
	sim   *targetsim.Sim
	reg   prometheus.Gatherer
	start time.Time

	adminAddr      net.Addr
	stopDaemonCtx  context.CancelFunc
	daemonDone     chan error
	daemonErr      error
	daemonStopped  bool
	produced       atomic.Int64 // the first produced messages are in the topic
	stopPublishing context.CancelFunc
	pubDone        chan error
	pubErr         error
	pubStopped     bool
}

// adminBindTimeout bounds the wait for notifierd's admin listener. daemon.Run reports a
// listener that cannot bind only when it returns, so there is no signal to wait for instead.
const adminBindTimeout = 10 * time.Second

// startDaemon runs d and waits until its admin listener is bound (when it has one), so a port
// in use fails the demo at once rather than leaving it without /metrics.
func (r *run) startDaemon(ctx context.Context, d *daemon.Daemon) error {
	bound := make(chan net.Addr, 1)
	d.AdminAddr = func(a net.Addr) { bound <- a }
	dctx, cancel := context.WithCancel(ctx)
	r.stopDaemonCtx = cancel
	r.daemonDone = make(chan error, 1)
	go func() { r.daemonDone <- d.Run(dctx) }()
	if r.cfg.AdminListen == "" {
		return nil
	}
	timer := time.NewTimer(adminBindTimeout)
	defer timer.Stop()
	select {
	case r.adminAddr = <-bound:
		return nil
	case r.daemonErr = <-r.daemonDone:
		r.daemonStopped = true
		err := r.stopDaemon() // releases the context and wraps Run's error
		if err == nil {
			err = errors.New("Run returned nil")
		}
		return fmt.Errorf("notifierd stopped at start: %w", err)
	case <-timer.C:
		err := r.stopDaemon()
		return fmt.Errorf("notifierd's admin listener on %s did not come up within %s: %w", r.cfg.AdminListen, adminBindTimeout, err)
	case <-ctx.Done():
		return errors.Join(ctx.Err(), r.stopDaemon())
	}
}

// stopDaemon is a SIGTERM: notifierd stops fetching, flushes, waits for its deliveries,
// commits and leaves the group; stopDaemon returns when Run has.
func (r *run) stopDaemon() error {
	r.stopDaemonCtx()
	if !r.daemonStopped {
		r.daemonErr = <-r.daemonDone
		r.daemonStopped = true
	}
	if r.daemonErr != nil {
		return fmt.Errorf("notifierd: %w", r.daemonErr)
	}
	return nil
}

// startPublisher writes the messages at cfg.Rate, in order, counting those the broker confirmed.
func (r *run) startPublisher(ctx context.Context, p *testbed.Producer) {
	pctx, cancel := context.WithCancel(ctx)
	r.stopPublishing, r.pubDone = cancel, make(chan error, 1)
	sent := 0
	next := func(n int) []Message {
		chunk := r.msgs[sent:min(sent+n, len(r.msgs))]
		sent += len(chunk)
		return chunk
	}
	write := func(ctx context.Context, chunk []Message) error {
		if err := p.Write(ctx, kafkaMessages(chunk)...); err != nil {
			return fmt.Errorf("publishing messages %d to %d: %w", r.produced.Load(), r.produced.Load()+int64(len(chunk))-1, err)
		}
		r.produced.Add(int64(len(chunk)))
		return nil
	}
	go func() { r.pubDone <- testbed.Pace(pctx, r.cfg.Rate, 1000, nil, next, write) }()
}

// stopPublisher stops publishing (if it has not finished) and returns its error, unless the
// error is only that it was stopped.
func (r *run) stopPublisher() error {
	r.stopPublishing()
	if !r.pubStopped {
		r.pubErr = <-r.pubDone
		r.pubStopped = true
	}
	if r.pubErr != nil && !errors.Is(r.pubErr, context.Canceled) {
		return r.pubErr
	}
	return nil
}

// Why a run stopped, besides timing out or failing.
const (
	stopComplete    = "complete"
	stopInterrupted = "interrupted"
)

// watch refreshes the progress display until every event is committed (which happens only
// once it was acknowledged or dead-lettered), ctx ends, the timeout passes, publishing fails
// or notifierd stops by itself. It returns why it stopped.
func (r *run) watch(ctx context.Context) string {
	every := r.cfg.Refresh
	if !r.cfg.TTY {
		every = max(every, time.Second)
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	timeout := time.NewTimer(r.cfg.Timeout)
	defer timeout.Stop()
	display := NewDisplay(r.cfg.Out, r.cfg.TTY)
	defer display.Leave()
	pubDone := r.pubDone
	for {
		select {
		case <-ctx.Done():
			return stopInterrupted
		case <-timeout.C:
			return fmt.Sprintf("timed out after %s", r.cfg.Timeout)
		case r.daemonErr = <-r.daemonDone:
			r.daemonStopped = true
			return "notifierd stopped by itself"
		case r.pubErr = <-pubDone:
			r.pubStopped, pubDone = true, nil
			if r.pubErr != nil {
				return "publishing failed"
			}
			continue
		case <-ticker.C:
		}
		s := r.snapshot()
		display.Show(s)
		if r.pubStopped && s.Daemon.Committed >= int64(len(r.msgs)) {
			return stopComplete
		}
	}
}

func (r *run) snapshot() Snapshot {
	n, err := ReadDaemon(r.reg)
	if err != nil {
		r.cfg.Log.Warn("reading notifierd's metrics", zap.Error(err))
	}
	return Snapshot{
		Elapsed: time.Since(r.start), Target: len(r.msgs), Produced: r.produced.Load(),
		Daemon: n, Sim: r.sim.Stats(),
	}
}
