// Package consumer reads the events topic as a member of a Kafka consumer group with
// kafka-go's ConsumerGroup/Generation API: one worker per assigned partition, a contiguous
// per-partition watermark committed every second and when a partition is revoked or the
// daemon stops. Offsets are committed inside the generation that fetched them, so a late
// commit can never rewind another member's progress.
package consumer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/offsets"
)

// Handler takes one fetched message. Unless it returns an error, it must arrange for done
// to be called exactly once when the message's outcome is final (acknowledged or
// dead-lettered); stale tells whether the partition was given up since. A Handler may block,
// which is how backpressure stops fetching; it returns an error only when ctx ended first.
type Handler func(ctx context.Context, msg kafka.Message, done func(), stale func() bool) error

// Config is the consumer's part of the configuration.
type Config struct {
	Brokers           []string
	Topic             string
	Group             string
	Dialer            *kafka.Dialer
	StartOffset       int64 // kafka.FirstOffset or kafka.LastOffset, for partitions with no commit
	MaxInFlight       int   // offsets pending per partition before fetching pauses
	CommitInterval    time.Duration
	DrainTimeout      time.Duration // how long a revoked partition waits for its in-flight work
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	RequestTimeout    time.Duration // coordinator requests; kafka-go's 5 s default ends generations on a busy host
	MaxFetchBytes     int
}

// Consumer runs the group membership.
type Consumer struct {
	cfg     Config
	handle  Handler
	flush   func() // hands on buffered batches without waiting for their linger
	metrics *metrics.Metrics
	log     *zap.Logger

	joined   atomic.Bool
	progress atomic.Int64 // unix nanos of the last commit that moved a watermark

	mu       sync.Mutex
	trackers map[int]*offsets.Tracker // partitions of the current generation
}

// New returns a consumer; Run joins the group.
func New(cfg Config, handle Handler, flush func(), m *metrics.Metrics, log *zap.Logger) *Consumer {
	return &Consumer{cfg: cfg, handle: handle, flush: flush, metrics: m, log: log, trackers: make(map[int]*offsets.Tracker)}
}

// Joined reports whether the member has been given a generation.
func (c *Consumer) Joined() bool { return c.joined.Load() }

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
		ErrorLogger:       kafka.LoggerFunc(func(msg string, args ...any) { c.log.Sugar().Warnf(msg, args...) }),
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
	return group.Close() // waits for the partition workers to drain and commit
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

	committer := &committer{commitOffsets: gen.CommitOffsets, topic: c.cfg.Topic, metrics: c.metrics, log: c.log, progress: &c.progress, last: make(map[int]int64)}
	for _, a := range assigned {
		if a.Offset >= 0 { // already committed: re-committing it is neither needed nor progress
			committer.last[a.ID] = a.Offset
		}
	}
	for _, a := range assigned {
		w := &worker{c: c, partition: a.ID, start: a.Offset, tracker: trackers[a.ID], committer: committer}
		gen.Start(func(ctx context.Context) { w.run(ctx, base) })
	}
	gen.Start(func(ctx context.Context) { committer.loop(ctx, trackers, c.cfg.CommitInterval) })
}
