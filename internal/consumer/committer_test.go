package consumer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/offsets"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const topic = "events"

// commits records what a committer sent; fail, when set, answers the next call.
type commits struct {
	calls []map[int]int64
	fail  error
}

func (c *commits) commitOffsets(_ context.Context, offsets map[int]int64) error {
	if err := c.fail; err != nil {
		c.fail = nil
		return err
	}
	c.calls = append(c.calls, maps.Clone(offsets))
	return nil
}

func newCommitter(c *commits, committed map[int]int64) (*committer, *metrics.Metrics) {
	m := metrics.New(prometheus.NewRegistry())
	last := map[int]int64{}
	maps.Copy(last, committed)
	return &committer{commitOffsets: c.commitOffsets, topic: topic, metrics: m, log: zap.NewNop(),
		progress: new(atomic.Int64), last: last}, m
}

// tracker starts at start with the offsets begun and those of them done.
func tracker(t *testing.T, start int64, begun, done []int64) *offsets.Tracker {
	t.Helper()
	tr := offsets.New(start, 100)
	for _, o := range begun {
		if err := tr.Begin(context.Background(), o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range done {
		tr.Done(o)
	}
	return tr
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var out dto.Metric
	if err := g.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetGauge().GetValue()
}

func committedGauge(t *testing.T, m *metrics.Metrics, partition string) float64 {
	return gaugeValue(t, m.CommittedOffset.WithLabelValues(topic, partition))
}

// series counts what c exports.
func series(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	return len(ch)
}

func TestCommitsTheWatermarksThatMovedInOneRequest(t *testing.T) {
	c := &commits{}
	cm, m := newCommitter(c, map[int]int64{0: 10, 1: 20})
	given := tracker(t, 30, []int64{30, 31}, []int64{30, 31})
	given.Abandon()
	trackers := map[int]*offsets.Tracker{
		0: tracker(t, 10, []int64{10, 11, 12}, []int64{10, 12}), // 11 pending: the watermark is 11
		1: tracker(t, 20, nil, nil),                             // nothing new since the commit at 20
		2: given,                                                // no longer ours
		3: tracker(t, 40, []int64{40}, []int64{40}),             // never committed: 41
	}
	if err := cm.commit(context.Background(), trackers); err != nil {
		t.Fatal(err)
	}
	if want := []map[int]int64{{0: 11, 3: 41}}; len(c.calls) != 1 || !maps.Equal(c.calls[0], want[0]) {
		t.Fatalf("commits %v, want %v", c.calls, want)
	}
	if got := committedGauge(t, m, "0"); got != 11 {
		t.Errorf("notifierd_committed_offset{partition=0} = %g, want 11", got)
	}
	if cm.progress.Load() == 0 {
		t.Error("a commit must count as progress")
	}
	if err := cm.commit(context.Background(), trackers); err != nil || len(c.calls) != 1 {
		t.Errorf("nothing moved: want no second request, got %v (%v)", c.calls, err)
	}
}

func TestFailedCommitIsSentAgainNextTime(t *testing.T) {
	c := &commits{fail: errors.New("coordinator moved")}
	cm, m := newCommitter(c, nil)
	trackers := map[int]*offsets.Tracker{0: tracker(t, 5, []int64{5, 6}, []int64{5, 6})}
	if err := cm.commit(context.Background(), trackers); err == nil {
		t.Fatal("a failed commit must be reported")
	}
	if cm.progress.Load() != 0 || committedGauge(t, m, "0") != 0 {
		t.Error("a failed commit must not count as progress or show as committed")
	}
	if err := cm.commit(context.Background(), trackers); err != nil {
		t.Fatal(err)
	}
	if len(c.calls) != 1 || c.calls[0][0] != 7 {
		t.Errorf("commits %v, want the same watermark 7 sent again", c.calls)
	}
}

func TestLagFollowsTheHighWaterWithoutACommit(t *testing.T) {
	c := &commits{}
	cm, m := newCommitter(c, map[int]int64{0: 12})
	cm.highWater.Store(0, int64(100))
	trackers := map[int]*offsets.Tracker{0: tracker(t, 12, nil, nil)}
	if err := cm.commit(context.Background(), trackers); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, m.ConsumerLag.WithLabelValues(topic, "0")); got != 88 || len(c.calls) != 0 {
		t.Errorf("lag %g with %d commits, want 88 with none (stuck at 12 while the partition grew to 100)", got, len(c.calls))
	}
}

func TestForgetDropsThePartitionsSeries(t *testing.T) {
	c := &commits{}
	cm, m := newCommitter(c, nil)
	cm.highWater.Store(4, int64(9))
	if err := cm.commit(context.Background(), map[int]*offsets.Tracker{4: tracker(t, 3, []int64{3}, []int64{3})}); err != nil {
		t.Fatal(err)
	}
	cm.forget(4)
	if n := series(m.CommittedOffset) + series(m.ConsumerLag); n != 0 {
		t.Errorf("%d series left for a partition no longer ours", n)
	}
}

func TestFinalCommitIsRetriedWhileTheCoordinatorMoves(t *testing.T) {
	tests := []struct {
		name      string
		failures  []error
		wantCalls int
		wantErr   bool
	}{
		{name: "coordinator moved, then elected", failures: []error{kafka.NotCoordinatorForGroup, kafka.GroupCoordinatorNotAvailable}, wantCalls: 1},
		{name: "connection to the old coordinator closed", failures: []error{errors.New("use of closed network connection")}, wantCalls: 1},
		{name: "an attempt timed out (a coordinator gone silent)", failures: []error{fmt.Errorf("offset commit: %w", context.DeadlineExceeded)}, wantCalls: 1},
		{name: "the new coordinator not yet in this member's metadata", failures: []error{kafka.BrokerNotAvailable}, wantCalls: 1},
		{name: "rebalance under way without this member: not retried", failures: []error{kafka.RebalanceInProgress}, wantErr: true},
		{name: "generation over: not retried", failures: []error{kafka.IllegalGeneration}, wantErr: true},
		{name: "member unknown: not retried", failures: []error{kafka.UnknownMemberId}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &commits{}
			failures := tt.failures
			cm, _ := newCommitter(c, nil)
			cm.commitOffsets = func(ctx context.Context, offsets map[int]int64) error {
				if len(failures) > 0 {
					err := failures[0]
					failures = failures[1:]
					return err
				}
				return c.commitOffsets(ctx, offsets)
			}
			err := cm.commitLast(context.Background(), 0, tracker(t, 5, []int64{5}, []int64{5}))
			if (err != nil) != tt.wantErr || len(c.calls) != tt.wantCalls {
				t.Errorf("error %v and %d commits, want error %v and %d", err, len(c.calls), tt.wantErr, tt.wantCalls)
			}
			if !tt.wantErr && len(failures) != 0 {
				t.Errorf("%d failures not retried", len(failures))
			}
		})
	}
}

func TestFinalCommitStopsAtTheDeadline(t *testing.T) {
	cm, _ := newCommitter(&commits{}, nil)
	cm.commitOffsets = func(context.Context, map[int]int64) error { return kafka.NotCoordinatorForGroup }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cm.commitLast(ctx, 0, tracker(t, 5, []int64{5}, []int64{5})); !errors.Is(err, kafka.NotCoordinatorForGroup) {
		t.Errorf("error %v, want the last failure once the context ended", err)
	}
}
