package consumer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/offsets"
)

// commitOffsets commits offsets per topic and partition: kafka.Generation.CommitOffsets, or
// a fake in tests.
type commitOffsets func(map[string]map[int]int64) error

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
		_ = cm.commit(trackers) // logged; the next tick tries again
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
func (cm *committer) commit(trackers map[int]*offsets.Tracker) error {
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
	if err := cm.commitOffsets(map[string]map[int]int64{cm.topic: moved}); err != nil {
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

// forget drops partition p's series once it is no longer ours, so a former owner does not
// keep reporting its last values.
func (cm *committer) forget(p int) {
	label := strconv.Itoa(p)
	cm.metrics.CommittedOffset.DeleteLabelValues(cm.topic, label)
	cm.metrics.ConsumerLag.DeleteLabelValues(cm.topic, label)
}
