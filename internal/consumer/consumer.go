// Package consumer reads the events topic as a member of a Kafka consumer group with
// kafka-go's ConsumerGroup/Generation API: one worker per assigned partition, reading through
// package fetch (transactions filtered, retention gaps reported), a contiguous per-partition
// watermark committed every second and when a partition is revoked or the daemon stops.
// Offsets are committed with the generation and member ids that fetched them, so a late
// commit can never rewind another member's progress, and to whichever broker coordinates the
// group at the time. Stopping is bounded: the member does not wait on kafka-go's group calls
// past shutdown.timeout, or past a few seconds once nothing is left in flight.
package consumer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/offsets"
)

// Pipeline is where fetched messages go: the daemon's decoding, batching and delivery.
type Pipeline interface {
	// Handle takes one message with its lease. Unless it returns an error, the lease must be
	// settled exactly once, when the message's outcome is final. Handle may block, which is how
	// backpressure stops fetching; it returns an error only when ctx ended first.
	Handle(ctx context.Context, msg kafka.Message, l *lease.Lease) error
	// Flush hands on a partition's buffered batches without waiting for their linger.
	Flush(partition int)
	// Release gives back what a settled lease held besides its offset: its share of the
	// buffer, the buffer metrics, the progress mark.
	Release(l *lease.Lease, o lease.Outcome)
	// HasRoom reports whether the buffer could take size more bytes now. A worker fetches
	// ahead only while it can: a fetched result waiting for room is memory no budget counts.
	HasRoom(size int) bool
}

// Config is the consumer's part of the configuration.
type Config struct {
	Brokers []string
	Topic   string
	Group   string
	Dialer  *kafka.Dialer // group membership (join, sync, heartbeat, leave)
	// Transport carries fetches, offset lookups, commits and metadata; its metadata refresh
	// is how a worker finds a partition's new leader.
	Transport         kafka.RoundTripper
	Isolation         kafka.IsolationLevel
	StartOffset       int64 // kafka.FirstOffset or kafka.LastOffset, for partitions with no commit
	MaxInFlight       int   // offsets pending per partition before fetching pauses
	CommitInterval    time.Duration
	DrainTimeout      time.Duration // how long a revoked partition waits for its in-flight work
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	RequestTimeout    time.Duration // coordinator requests; kafka-go's 5 s default ends generations on a busy host
	MaxFetchBytes     int           // the most one fetch of one partition asks for
	// FetchMemory bounds the fetched results a member holds across its partitions (a result
	// being handed on and one fetched ahead, per partition): a fetch asks for at most
	// FetchMemory / (2 × assigned partitions), within minFetchBytes and MaxFetchBytes.
	FetchMemory int64
	// Hooks, when set, run around each generation's partitions (kafka.routesTopic).
	Hooks GenerationHooks
}

// GenerationHooks run around each generation's partitions: Assigned before any of them is
// fetched (ctx ends with the generation), Drained once every one is drained and committed and
// before the member can join the next generation (ctx is the daemon's base context).
type GenerationHooks interface {
	Assigned(ctx context.Context)
	Drained(ctx context.Context)
}

// Consumer runs the group membership.
type Consumer struct {
	cfg     Config
	pipe    Pipeline
	metrics *metrics.Metrics
	log     *zap.Logger

	client   *kafka.Client
	joined   atomic.Bool
	left     atomic.Bool // Run returned: kafka-go's goroutines no longer log through c.log
	topic    topicState
	progress atomic.Int64   // unix nanos of the last commit that moved a watermark
	running  sync.WaitGroup // the functions started in generations: workers, committer, watcher

	mu       sync.Mutex
	trackers map[int]*offsets.Tracker // partitions of the current generation
}

// New returns a consumer; Run joins the group.
func New(cfg Config, pipe Pipeline, m *metrics.Metrics, log *zap.Logger) *Consumer {
	c := &Consumer{cfg: cfg, pipe: pipe, metrics: m, log: log, trackers: make(map[int]*offsets.Tracker)}
	c.client = &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: cfg.Transport, Timeout: cfg.RequestTimeout}
	return c
}

// Ready says why the member is not consuming (nil once it is): not yet in a generation, or
// the topic missing or without partitions.
func (c *Consumer) Ready() error {
	if err := c.topic.problem(); err != nil {
		return err
	}
	if !c.joined.Load() {
		return errors.New("not yet a member of consumer group " + c.cfg.Group)
	}
	return nil
}

// LastCommitProgress is when a commit last moved a watermark forward.
func (c *Consumer) LastCommitProgress() time.Time { return time.Unix(0, c.progress.Load()) }

// Pending counts the offsets in flight over the current generation's partitions.
func (c *Consumer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.trackers {
		n += t.Pending()
	}
	return n
}

// Run consumes until ctx ends, then ends the generation, which makes every partition worker
// flush, wait for its in-flight work up to DrainTimeout, and commit; then it leaves the group.
// base bounds that drain: when it ends, uncommitted work is simply redelivered later.
func (c *Consumer) Run(ctx, base context.Context) error {
	if !c.waitForTopic(ctx) {
		return nil // stopped before there was anything to consume
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                c.cfg.Group,
		Brokers:           c.cfg.Brokers,
		Dialer:            c.cfg.Dialer,
		Topics:            []string{c.cfg.Topic},
		StartOffset:       c.cfg.StartOffset,
		SessionTimeout:    c.cfg.SessionTimeout,
		RebalanceTimeout:  c.cfg.RebalanceTimeout,
		HeartbeatInterval: c.cfg.HeartbeatInterval,
		Timeout:           c.cfg.RequestTimeout,
		JoinGroupBackoff:  time.Second,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			if !c.left.Load() { // a join left behind by leave may end after Run returned
				c.log.Sugar().Warnf(msg, args...)
			}
		}),
	})
	if err != nil {
		return errors.Join(errors.New("creating consumer group "+c.cfg.Group), err)
	}
	for {
		gen, err := group.Next(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			// Out of the group until a join succeeds: /readyz says so, and nothing is assigned.
			c.joined.Store(false)
			c.metrics.AssignedPartition.Set(0)
			c.log.Warn("consumer group generation failed; rejoining", zap.String("group", c.cfg.Group), zap.Error(err))
			continue
		}
		c.startGeneration(base, gen)
	}
	c.log.Info("leaving consumer group", zap.String("group", c.cfg.Group))
	defer c.left.Store(true)
	return c.leave(group, base)
}

// leaveGrace is how long leaving may take once every partition is drained and committed.
const leaveGrace = 3 * time.Second

// lastCommitWait is how long leave waits, past the shutdown deadline, for the partitions'
// last commits (minLastCommit each, in parallel).
const lastCommitWait = minLastCommit + 500*time.Millisecond

// leave closes the group: the partition workers drain and commit, then the member leaves. It
// does not wait on kafka-go past the bound: a join or sync in progress (the group waiting for
// crashed members to expire) cannot be interrupted and can take the whole rebalance timeout.
// What is committed stays committed, and the broker expires the member after its session.
func (c *Consumer) leave(group *kafka.ConsumerGroup, base context.Context) error {
	closed := make(chan error, 1)
	go func() { closed <- group.Close() }()
	drained := make(chan struct{})
	go func() { c.running.Wait(); close(drained) }()
	select {
	case err := <-closed:
		return err
	case <-base.Done():
		// The workers stop waiting for their work and commit what is done, within
		// minLastCommit: wait for that, not for the group.
		t := time.NewTimer(lastCommitWait)
		defer t.Stop()
		select {
		case <-drained:
		case <-t.C:
		}
		c.log.Warn("shutdown timeout reached while leaving the consumer group; the broker expires this member after its session timeout", zap.String("group", c.cfg.Group))
		return nil
	case <-drained:
	}
	grace := time.NewTimer(leaveGrace)
	defer grace.Stop()
	select {
	case err := <-closed:
		return err
	case <-grace.C:
	case <-base.Done():
	}
	c.log.Warn("the consumer group did not confirm the leave in time (a join or sync in progress); not waiting: the broker expires this member after its session timeout",
		zap.String("group", c.cfg.Group), zap.Duration("waited", leaveGrace))
	return nil
}

// minFetchBytes is the least a fetch asks for, however many partitions share FetchMemory. A
// record larger than what a fetch asks for still comes whole (Kafka returns the first batch
// regardless), so this bounds round trips, not what can be read.
const minFetchBytes = 64 << 10

// fetchBytes is what one fetch asks for when partitions share FetchMemory.
func (c *Consumer) fetchBytes(partitions int) int {
	n := c.cfg.MaxFetchBytes
	if c.cfg.FetchMemory > 0 && partitions > 0 {
		n = int(min(int64(n), c.cfg.FetchMemory/int64(2*partitions)))
	}
	return max(n, min(minFetchBytes, c.cfg.MaxFetchBytes))
}

// start runs fn in gen, counted in c.running so that leave knows when nothing of ours is left.
func (c *Consumer) start(gen *kafka.Generation, fn func(ctx context.Context)) {
	c.running.Add(1)
	gen.Start(func(ctx context.Context) {
		defer c.running.Done()
		fn(ctx)
	})
}

func (c *Consumer) startGeneration(base context.Context, gen *kafka.Generation) {
	assigned := gen.Assignments[c.cfg.Topic]
	c.log.Info("joined generation", zap.Int32("generation", gen.ID), zap.String("member", gen.MemberID), zap.Int("partitions", len(assigned)))
	c.metrics.AssignedPartition.Set(float64(len(assigned)))
	c.joined.Store(true)

	c.mu.Lock()
	c.trackers = make(map[int]*offsets.Tracker, len(assigned))
	for _, a := range assigned {
		c.trackers[a.ID] = offsets.New(a.Offset, c.cfg.MaxInFlight)
	}
	trackers := c.trackers
	c.mu.Unlock()

	committer := &committer{commitOffsets: clientCommit(c.cfg.Transport, c.client.Addr, c.cfg.Group, c.cfg.Topic, gen, c.cfg.RequestTimeout), topic: c.cfg.Topic, metrics: c.metrics, log: c.log, progress: &c.progress, last: make(map[int]int64)}
	for _, a := range assigned {
		if a.Offset >= 0 { // already committed: re-committing it is neither needed nor progress
			committer.last[a.ID] = a.Offset
		}
	}
	fetchBytes := c.fetchBytes(len(assigned))
	ready := c.startHooks(base, gen, len(assigned))
	for _, a := range assigned {
		w := &worker{c: c, partition: a.ID, start: a.Offset, tracker: trackers[a.ID], committer: committer, fetchBytes: fetchBytes}
		c.start(gen, func(ctx context.Context) {
			defer ready.drained.Done()
			select {
			case <-ready.assigned:
				w.run(ctx, base)
			case <-ctx.Done():
			}
		})
	}
	c.start(gen, func(ctx context.Context) { committer.loop(ctx, trackers, c.cfg.CommitInterval) })
	c.start(gen, c.watchPartitions)
}

// generationHooks is how a generation's workers wait for Assigned and tell Drained they are done.
type generationHooks struct {
	assigned chan struct{} // closed once Assigned returned
	drained  *sync.WaitGroup
}

// startHooks runs the Hooks for a generation of n partitions, if any: Assigned at once,
// Drained once the n workers are done. Without Hooks the workers start at once.
func (c *Consumer) startHooks(base context.Context, gen *kafka.Generation, n int) generationHooks {
	h := generationHooks{assigned: make(chan struct{}), drained: &sync.WaitGroup{}}
	h.drained.Add(n) // before anything can wait on it
	if c.cfg.Hooks == nil {
		close(h.assigned)
		return h
	}
	c.start(gen, func(ctx context.Context) {
		c.cfg.Hooks.Assigned(ctx)
		close(h.assigned)
		<-ctx.Done() // returning earlier would end the generation
		h.drained.Wait()
		c.cfg.Hooks.Drained(base)
	})
	return h
}
