package consumer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/offsetcommit"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/offsets"
)

// commitOffsets commits the events topic's offsets per partition for one generation:
// clientCommit in the daemon, a fake in tests.
type commitOffsets func(ctx context.Context, offsets map[int]int64) error

// clientCommit commits through the consumer's transport, which looks the group's
// coordinator up for every request, with the generation and member ids of the join. A
// coordinator that moves (a broker restart) then costs one failed attempt, not every commit
// until the generation ends, which is what kafka.Generation.CommitOffsets does: it keeps the
// join's connection. The request is built here rather than by kafka.Client.OffsetCommit,
// which sends leader epoch 0 with every offset: a Java or franz-go consumer taking the group
// over would take that for a truncated log and reset. -1 says "no epoch".
func clientCommit(rt kafka.RoundTripper, addr net.Addr, group, topic string, gen *kafka.Generation, timeout time.Duration) commitOffsets {
	return func(ctx context.Context, offsets map[int]int64) error {
		ctx, cancel := context.WithTimeout(ctx, timeout) // a dead coordinator must not hold the commit forever
		defer cancel()
		parts := make([]offsetcommit.RequestPartition, 0, len(offsets))
		for p, o := range offsets {
			parts = append(parts, offsetcommit.RequestPartition{PartitionIndex: int32(p), CommittedOffset: o, CommittedLeaderEpoch: -1})
		}
		res, err := rt.RoundTrip(ctx, addr, &offsetcommit.Request{
			GroupID: group, GenerationID: gen.ID, MemberID: gen.MemberID,
			Topics: []offsetcommit.RequestTopic{{Name: topic, Partitions: parts}},
		})
		if err != nil {
			return err
		}
		r, ok := res.(*offsetcommit.Response)
		if !ok {
			return fmt.Errorf("unexpected response %T", res)
		}
		var errs []error
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					errs = append(errs, fmt.Errorf("partition %d: %w", p.PartitionIndex, kafka.Error(p.ErrorCode)))
				}
			}
		}
		return errors.Join(errs...)
	}
}

// generationOver reports that a commit failed because the coordinator no longer knows this
// member's generation: retrying cannot mend that. Anything else (the coordinator moving, loading,
// not yet known to this member's metadata, a timeout, the network) may pass, so the last
// commit of a released partition is sent again until its deadline.
func generationOver(err error) bool {
	return errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.UnknownMemberId) ||
		errors.Is(err, kafka.FencedInstanceID) || errors.Is(err, kafka.RebalanceInProgress)
}

// committer commits watermarks for one generation.
type committer struct {
	commitOffsets commitOffsets
	topic         string
	metrics       *metrics.Metrics
	log           *zap.Logger
	progress      *atomic.Int64

	mu        sync.Mutex
	last      map[int]int64 // last committed per partition
	highWater sync.Map      // partition -> int64, from fetched messages
}

func (cm *committer) loop(ctx context.Context, trackers map[int]*offsets.Tracker, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		_ = cm.commit(ctx, trackers) // logged; the next tick tries again
		oldest := time.Time{}
		for _, t := range trackers {
			if at, ok := t.Oldest(); ok && (oldest.IsZero() || at.Before(oldest)) {
				oldest = at
			}
		}
		if oldest.IsZero() {
			cm.metrics.OldestUnacked.Set(0)
		} else {
			cm.metrics.OldestUnacked.Set(time.Since(oldest).Seconds())
		}
	}
}

// commit commits, in one request, the watermarks of trackers that moved, and says why not
// if that failed. A partition already given up is left alone: its series are gone.
func (cm *committer) commit(ctx context.Context, trackers map[int]*offsets.Tracker) error {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	moved := map[int]int64{}
	for p, t := range trackers {
		wm := t.Watermark()
		if wm < 0 || t.Abandoned() {
			continue // nothing fetched yet from a partition with no commit, or no longer ours
		}
		if hw, ok := cm.highWater.Load(p); ok { // lag grows during an outage too, not only on commits
			cm.metrics.ConsumerLag.WithLabelValues(cm.topic, strconv.Itoa(p)).Set(float64(max(hw.(int64)-wm, 0)))
		}
		if last, ok := cm.last[p]; !ok || wm != last {
			moved[p] = wm
		}
	}
	if len(moved) == 0 {
		return nil
	}
	if err := cm.commitOffsets(ctx, moved); err != nil {
		cm.log.Warn("offset commit failed", zap.String("topic", cm.topic), zap.Any("offsets", moved), zap.Error(err))
		return fmt.Errorf("committing %s at %v: %w", cm.topic, moved, err)
	}
	for p, wm := range moved {
		cm.last[p] = wm
		cm.metrics.CommittedOffset.WithLabelValues(cm.topic, strconv.Itoa(p)).Set(float64(wm))
	}
	cm.progress.Store(time.Now().UnixNano())
	return nil
}

// commitLast commits a released partition's watermark, sending it again while the failure
// is one a retry can mend (a coordinator being elected after a crash takes seconds), until
// ctx ends.
func (cm *committer) commitLast(ctx context.Context, p int, t *offsets.Tracker) error {
	delay := 100 * time.Millisecond
	for {
		err := cm.commit(ctx, map[int]*offsets.Tracker{p: t})
		if err == nil || generationOver(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// lastCommitted is partition p's last committed offset in this generation, or -1.
func (cm *committer) lastCommitted(p int) int64 {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	if o, ok := cm.last[p]; ok {
		return o
	}
	return -1
}

// forget drops partition p's series once it is no longer ours, so a former owner does not
// keep reporting its last values.
func (cm *committer) forget(p int) {
	label := strconv.Itoa(p)
	cm.metrics.CommittedOffset.DeleteLabelValues(cm.topic, label)
	cm.metrics.ConsumerLag.DeleteLabelValues(cm.topic, label)
}
