package consumer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/fetch"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/offsets"
)

// source is a partition's fetcher: *fetch.Fetcher, or a fake in tests.
type source interface {
	Fetch(ctx context.Context) (fetch.Result, error)
}

// worker consumes one partition for one generation.
type worker struct {
	c         *Consumer
	partition int
	start     int64
	tracker   *offsets.Tracker
	committer *committer
	// fetchBytes is what one fetch asks for: kafka.maxFetchBytes, or less when many
	// partitions share the fetch memory.
	fetchBytes int
}

// run fetches until the generation ends, then drains: flush, wait for in-flight work up to
// DrainTimeout, commit what is done, and give up the rest.
func (w *worker) run(genCtx, base context.Context) {
	log := w.c.log.With(zap.String("topic", w.c.cfg.Topic), zap.Int("partition", w.partition))
	src := fetch.New(w.c.cfg.Transport, w.c.client.Addr, fetch.Config{
		Topic:     w.c.cfg.Topic,
		Partition: w.partition,
		Isolation: w.c.cfg.Isolation,
		MaxBytes:  w.fetchBytes,
		MaxWait:   250 * time.Millisecond,
		Timeout:   w.c.cfg.RequestTimeout,
		// Beyond the log's end, the reset policy decides, as for a partition with no commit.
		PastEndAtLatest: w.c.cfg.StartOffset == kafka.LastOffset,
	}, w.start)
	// The series exists from the assignment on, so the alert's increase() sees a later gap.
	w.c.metrics.OffsetsSkipped.WithLabelValues(w.c.cfg.Topic, strconv.Itoa(w.partition), "out_of_range")
	log.Debug("partition assigned", zap.Int64("offset", w.start))
	unhandled := w.consume(genCtx, src, log)
	w.drain(base, unhandled, log)
}

// consume hands fetched messages to the handler until ctx ends. While the buffer has room,
// the next fetch is under way as soon as a result arrives; once it has none, the next fetch
// waits until the result is handed on, so a backpressured partition holds one result, not
// two. It returns the offset of a message fetched but not taken by the handler, or -1.
func (w *worker) consume(ctx context.Context, src source, log *zap.Logger) int64 {
	fetchCtx, stop := context.WithCancel(ctx)
	results := make(chan fetch.Result)
	want := make(chan struct{}, 1) // one fetch asked for at a time
	want <- struct{}{}
	var prefetching sync.WaitGroup
	prefetching.Go(func() { w.prefetch(fetchCtx, src, want, results, log) })
	// The partition is going: no more prefetching while its work drains.
	defer prefetching.Wait()
	defer stop()

	leases := &partitionLeases{tracker: w.tracker, pipe: w.c.pipe}
	for res := range results {
		if ctx.Err() != nil {
			return -1
		}
		ahead := w.c.pipe.HasRoom(w.fetchBytes)
		if ahead {
			want <- struct{}{}
		}
		if res.Gap != nil && !w.gap(ctx, *res.Gap, log) {
			return -1
		}
		w.committer.highWater.Store(w.partition, res.End)
		for _, msg := range res.Messages {
			if err := w.tracker.Begin(ctx, msg.Offset, time.Now()); err != nil {
				return -1 // generation ended while waiting for room: the message is refetched later
			}
			w.c.metrics.EventsConsumed.Inc()
			if err := w.c.pipe.Handle(ctx, msg, lease.New(leases, msg.Offset)); err != nil {
				return msg.Offset // stays pending, so no commit passes it
			}
		}
		w.tracker.Skip(res.Next) // markers and aborted records after the last message
		if !ahead {
			want <- struct{}{}
		}
	}
	return -1
}

// prefetch makes one fetch for each token on want and sends its result to out, until ctx
// ends; then it closes out.
func (w *worker) prefetch(ctx context.Context, src source, want <-chan struct{}, out chan<- fetch.Result, log *zap.Logger) {
	defer close(out)
	for {
		select {
		case <-want:
		case <-ctx.Done():
			return
		}
		res, ok := w.fetchRetrying(ctx, src, log)
		if !ok {
			return
		}
		select {
		case out <- res:
		case <-ctx.Done():
			return
		}
	}
}

// fetchRetrying fetches until a fetch succeeds or ctx ends. A failing fetch (a leader moving,
// a broker going away) is retried with backoff; the transport's metadata names the new
// leader. A failure that lasts is logged again every failingReport.
func (w *worker) fetchRetrying(ctx context.Context, src source, log *zap.Logger) (fetch.Result, bool) {
	var failing, reported time.Time // when this run of failures began, was last logged
	delay := 100 * time.Millisecond
	for failures := 0; ; failures++ {
		res, err := src.Fetch(ctx)
		if ctx.Err() != nil {
			return fetch.Result{}, false
		}
		if err == nil {
			if failures > 0 {
				log.Info("fetching resumed", zap.Int("failures", failures), zap.Duration("after", time.Since(failing)))
			}
			return res, true
		}
		switch {
		case failures == 0:
			failing, reported = time.Now(), time.Now()
			log.Warn("fetch failed; retrying", zap.Error(err))
		case time.Since(reported) >= failingReport:
			reported = time.Now()
			log.Warn("fetch still failing; the partition does not move", zap.Int("failures", failures+1), zap.Duration("for", time.Since(failing)), zap.Error(err))
		default:
			log.Debug("fetch failed again", zap.Int("failures", failures+1), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return fetch.Result{}, false
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// failingReport is how often a fetch that keeps failing is logged at warn level.
const failingReport = 30 * time.Second

// gap reports offsets the fetcher could not read and moves the watermark to where reading
// resumes. It returns false when ctx ended first.
func (w *worker) gap(ctx context.Context, g fetch.Gap, log *zap.Logger) bool {
	committed := w.committer.lastCommitted(w.partition)
	if g.To > g.From {
		log.Warn("offsets removed by retention before they were read; resuming at the log start",
			zap.Int64("committed", committed), zap.Int64("offset", g.From), zap.Int64("logStart", g.LogStart), zap.Int64("skipped", g.Skipped()))
		w.c.metrics.OffsetsSkipped.WithLabelValues(w.c.cfg.Topic, strconv.Itoa(w.partition), "out_of_range").Add(float64(g.Skipped()))
		w.tracker.Skip(g.To)
		return true
	}
	// The log ends below the position: the topic was recreated, or an unclean leader election
	// truncated it. Nothing in it was read from this log: start over where the reset policy
	// says (the log start unless kafka.startOffset is latest) once the work in flight is
	// done, as the watermark cannot move backwards past pending offsets.
	log.Warn("offset beyond the end of the log (topic recreated or truncated); resuming where kafka.startOffset says",
		zap.Int64("committed", committed), zap.Int64("offset", g.From), zap.Int64("logStart", g.LogStart), zap.Int64("resumeAt", g.To))
	if err := w.tracker.WaitIdle(ctx); err != nil {
		return false
	}
	if err := w.tracker.Rewind(g.To); err != nil {
		log.Error("cannot rewind the partition", zap.Error(err))
		return false
	}
	return true
}

// partitionLeases holds the leases of one partition for one generation: a settled lease
// gives back its buffer share through the pipeline and its offset to the tracker.
type partitionLeases struct {
	tracker *offsets.Tracker
	pipe    Pipeline
}

func (p *partitionLeases) Release(l *lease.Lease, o lease.Outcome) {
	p.pipe.Release(l, o)
	p.tracker.Done(l.Offset())
}

func (p *partitionLeases) GivenUp() bool { return p.tracker.Abandoned() }

// drain waits for the work below unhandled (everything, when -1) and commits it, within one
// DrainTimeout for both: a revoked partition's member must rejoin before the group's
// rebalance timeout, so shutdown.timeout stays below kafka.rebalanceTimeout.
func (w *worker) drain(base context.Context, unhandled int64, log *zap.Logger) {
	w.c.pipe.Flush(w.partition)
	ctx, cancel := context.WithTimeout(base, w.c.cfg.DrainTimeout)
	defer cancel()
	err := w.tracker.WaitWatermark(ctx, unhandled)
	// What is done is committed even when the wait ran out; the commit is retried (a
	// coordinator being elected after a crash takes seconds) within what is left, or for
	// minLastCommit at least. At shutdown it is base that ends the wait, at the deadline: the
	// commit must outlive base, or everything acknowledged while draining is redelivered.
	budget := max(time.Until(deadline(ctx)), minLastCommit)
	if base.Err() != nil {
		budget = minLastCommit
	}
	commitCtx, cancelCommit := context.WithTimeout(context.WithoutCancel(base), budget)
	defer cancelCommit()
	if cerr := w.committer.commitLast(commitCtx, w.partition, w.tracker); cerr != nil {
		log.Warn("partition released without its last commit; what is above the committed offset will be redelivered", zap.Error(cerr))
	}
	w.tracker.Abandon()
	w.committer.forget(w.partition)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		log.Warn("partition released with work in flight; it will be redelivered",
			zap.Int("pending", w.tracker.Pending()), zap.Int64("committed", w.tracker.Watermark()))
		return
	}
	log.Debug("partition released", zap.Int64("committed", w.tracker.Watermark()))
}

// minLastCommit is the least time the last commit of a released partition gets, when waiting
// for its work took the whole drain timeout or the shutdown deadline passed; leave waits for
// it (lastCommitWait).
const minLastCommit = 2 * time.Second

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
