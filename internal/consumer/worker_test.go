package consumer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/fetch"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/offsets"
)

// fetches is a fake partition: each call answers with the next step, then blocks until ctx ends.
type fetches struct {
	mu     sync.Mutex
	steps  []step
	calls  int
	called chan int    // when set, receives the count of every call
	onCall func(n int) // when set, runs at every call, in the fetching goroutine
}

type step struct {
	res fetch.Result
	err error
}

func (f *fetches) Fetch(ctx context.Context) (fetch.Result, error) {
	f.mu.Lock()
	f.calls++
	if f.onCall != nil {
		f.onCall(f.calls)
	}
	if f.called != nil {
		f.called <- f.calls
	}
	if len(f.steps) > 0 {
		s := f.steps[0]
		f.steps = f.steps[1:]
		f.mu.Unlock()
		return s.res, s.err
	}
	f.mu.Unlock()
	<-ctx.Done()
	return fetch.Result{}, ctx.Err()
}

func msgs(offsets ...int64) []kafka.Message {
	out := make([]kafka.Message, len(offsets))
	for i, o := range offsets {
		out[i] = kafka.Message{Topic: topic, Partition: 0, Offset: o}
	}
	return out
}

// pipeline is a fake Pipeline: handle takes each message.
type pipeline struct {
	handle   func(msg kafka.Message, l *lease.Lease) error
	released []lease.Outcome
	full     bool // the buffer has no room: fetching ahead stops
}

func (p *pipeline) Handle(_ context.Context, msg kafka.Message, l *lease.Lease) error {
	return p.handle(msg, l)
}
func (p *pipeline) Flush(int)                               {}
func (p *pipeline) HasRoom(int) bool                        { return !p.full }
func (p *pipeline) Release(_ *lease.Lease, o lease.Outcome) { p.released = append(p.released, o) }

// testWorker consumes partition 0 from start; handle gets every message.
type testWorker struct {
	*worker
	metrics *metrics.Metrics
	pipe    *pipeline
	handled []int64
}

func newTestWorker(start int64, handle func(msg kafka.Message, l *lease.Lease) error) *testWorker {
	m := metrics.New(prometheus.NewRegistry())
	tw := &testWorker{metrics: m}
	tw.pipe = &pipeline{handle: func(msg kafka.Message, l *lease.Lease) error {
		tw.handled = append(tw.handled, msg.Offset)
		return handle(msg, l)
	}}
	c := &Consumer{cfg: Config{Topic: topic}, pipe: tw.pipe, metrics: m, log: zap.NewNop()}
	cm := &committer{commitOffsets: (&commits{}).commitOffsets, topic: topic, metrics: m, log: zap.NewNop(), progress: new(atomic.Int64), last: map[int]int64{}}
	tw.worker = &worker{c: c, partition: 0, start: start, tracker: offsets.New(start, 100), committer: cm}
	return tw
}

// consumeUntil runs consume until the tracker's watermark reaches want, then ends it. It
// polls: Skip, which moves the watermark past markers, wakes no one.
func (tw *testWorker) consumeUntil(t *testing.T, src source, want int64) int64 {
	t.Helper()
	return tw.consumeWhile(src, func() bool { return tw.tracker.Watermark() < want })
}

// consumeWhile runs consume while more() holds (10 s at most), then ends it and returns
// what it returned.
func (tw *testWorker) consumeWhile(src source, more func() bool) int64 {
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan int64, 1)
	go func() { result <- tw.consume(ctx, src, zap.NewNop()) }()
	for deadline := time.Now().Add(10 * time.Second); more() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	return <-result
}

func acknowledge(_ kafka.Message, l *lease.Lease) error { l.Settle(lease.Acknowledged); return nil }

func TestConsumeMovesPastMarkersAndAbortedRecords(t *testing.T) {
	src := &fetches{steps: []step{
		{res: fetch.Result{Messages: msgs(0, 1), Next: 3, End: 3}}, // 2: a commit marker
		{res: fetch.Result{Messages: msgs(5), Next: 10, End: 10}},  // 3-4 aborted, 6-9 aborted and marker
		{res: fetch.Result{Messages: nil, Next: 12, End: 12}},      // only markers
	}}
	tw := newTestWorker(0, acknowledge)
	if unhandled := tw.consumeUntil(t, src, 12); unhandled != -1 {
		t.Errorf("unhandled %d, want -1", unhandled)
	}
	if !slices.Equal(tw.handled, []int64{0, 1, 5}) {
		t.Errorf("handled %v, want [0 1 5]", tw.handled)
	}
	if wm := tw.tracker.Watermark(); wm != 12 {
		t.Errorf("watermark %d, want 12: a drained partition commits past its last marker", wm)
	}
	if hw, _ := tw.committer.highWater.Load(0); hw != int64(12) {
		t.Errorf("lag measured against %v, want the last stable offset 12", hw)
	}
}

func TestConsumeReportsARetentionGap(t *testing.T) {
	src := &fetches{steps: []step{
		{res: fetch.Result{Next: 40, End: 50, Gap: &fetch.Gap{From: 10, LogStart: 40, To: 40}}},
		{res: fetch.Result{Messages: msgs(40, 41), Next: 42, End: 50}},
	}}
	tw := newTestWorker(10, acknowledge)
	tw.consumeUntil(t, src, 42)
	if got := counterValue(t, tw.metrics.OffsetsSkipped.WithLabelValues(topic, "0", "out_of_range")); got != 30 {
		t.Errorf("notifierd_offsets_skipped_total = %g, want 30", got)
	}
	if !slices.Equal(tw.handled, []int64{40, 41}) || tw.tracker.Watermark() != 42 {
		t.Errorf("handled %v up to watermark %d, want [40 41] and 42", tw.handled, tw.tracker.Watermark())
	}
}

func TestConsumeStartsOverInALogShorterThanThePosition(t *testing.T) {
	// The topic was recreated: the fetcher resumes at the new log's start, and the worker
	// follows it back, so what was written to the new log since is delivered.
	src := &fetches{steps: []step{
		{res: fetch.Result{Next: 0, End: 2, Gap: &fetch.Gap{From: 90, LogStart: 0, To: 0}}},
		{res: fetch.Result{Messages: msgs(0, 1), Next: 2, End: 2}},
	}}
	tw := newTestWorker(90, acknowledge)
	tw.consumeWhile(src, func() bool { return tw.tracker.Watermark() != 2 }) // 90 until the rewind
	if !slices.Equal(tw.handled, []int64{0, 1}) || tw.tracker.Watermark() != 2 {
		t.Errorf("handled %v up to watermark %d, want [0 1] and 2", tw.handled, tw.tracker.Watermark())
	}
	if got := counterValue(t, tw.metrics.OffsetsSkipped.WithLabelValues(topic, "0", "out_of_range")); got != 0 {
		t.Errorf("notifierd_offsets_skipped_total = %g, want 0: nothing was skipped", got)
	}
}

func TestConsumeRetriesFailedFetches(t *testing.T) {
	src := &fetches{steps: []step{
		{err: kafka.NotLeaderForPartition},
		{err: errors.New("dial tcp: connection refused")},
		{res: fetch.Result{Messages: msgs(7), Next: 8, End: 8}},
	}}
	tw := newTestWorker(7, acknowledge)
	tw.consumeUntil(t, src, 8)
	if !slices.Equal(tw.handled, []int64{7}) {
		t.Errorf("handled %v after two failed fetches, want [7]", tw.handled)
	}
}

func TestConsumeReturnsTheMessageTheHandlerRefused(t *testing.T) {
	src := &fetches{steps: []step{{res: fetch.Result{Messages: msgs(3, 4, 5), Next: 6, End: 6}}}}
	tw := newTestWorker(3, func(msg kafka.Message, l *lease.Lease) error {
		if msg.Offset == 4 {
			return context.Canceled // what a handler says when the generation ended under it
		}
		l.Settle(lease.Acknowledged)
		return nil
	})
	if unhandled := tw.consume(context.Background(), src, zap.NewNop()); unhandled != 4 {
		t.Errorf("unhandled %d, want 4", unhandled)
	}
	if wm := tw.tracker.Watermark(); wm != 4 {
		t.Errorf("watermark %d, want 4: no commit may pass the refused message", wm)
	}
}

func TestDrainCommitsTheWorkBelowTheRefusedMessage(t *testing.T) {
	var committed []map[int]int64
	tw := newTestWorker(3, acknowledge)
	tw.c.cfg.DrainTimeout = 10 * time.Second
	tw.committer.commitOffsets = func(_ context.Context, o map[int]int64) error {
		committed = append(committed, o)
		return nil
	}
	for _, o := range []int64{3, 4} {
		if err := tw.tracker.Begin(context.Background(), o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tw.tracker.Done(3)
	tw.drain(context.Background(), 4, zap.NewNop())
	if len(committed) != 1 || committed[0][0] != 4 || !tw.tracker.Abandoned() {
		t.Errorf("commits %v, abandoned %v; want one commit at 4 and the partition given up", committed, tw.tracker.Abandoned())
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var out dto.Metric
	if err := c.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

func TestASettledLeaseReleasesItsOffsetAndBuffer(t *testing.T) {
	var leases []*lease.Lease
	tw := newTestWorker(0, func(_ kafka.Message, l *lease.Lease) error {
		leases = append(leases, l)
		return nil
	})
	src := &fetches{steps: []step{{res: fetch.Result{Messages: msgs(0, 1), Next: 2, End: 2}}}}
	tw.consumeWhile(src, func() bool { return tw.tracker.Pending() < 2 }) // returns once consume did
	if len(leases) != 2 || tw.tracker.Watermark() != 0 {
		t.Fatalf("%d leases, watermark %d; want 2 pending at 0", len(leases), tw.tracker.Watermark())
	}
	leases[1].Settle(lease.Acknowledged)
	leases[0].Settle(lease.DeadLettered)
	leases[0].Settle(lease.Abandoned) // settled already: ignored
	if wm := tw.tracker.Watermark(); wm != 2 {
		t.Errorf("watermark %d after both settled, want 2", wm)
	}
	if want := []lease.Outcome{lease.Acknowledged, lease.DeadLettered}; !slices.Equal(tw.pipe.released, want) {
		t.Errorf("pipeline released %v, want %v", tw.pipe.released, want)
	}
	if leases[0].Stale() {
		t.Error("stale while the partition is held")
	}
	tw.tracker.Abandon()
	if !leases[0].Stale() {
		t.Error("not stale once the partition was given up")
	}
}

func TestFetchingAheadStopsWhenTheBufferIsFull(t *testing.T) {
	for _, full := range []bool{false, true} {
		src := &fetches{called: make(chan int, 10), steps: []step{
			{res: fetch.Result{Messages: msgs(0, 1), Next: 2, End: 4}},
			{res: fetch.Result{Messages: msgs(2, 3), Next: 4, End: 4}},
		}}
		entered, release := make(chan struct{}), make(chan struct{})
		var handedOn atomic.Int64
		tw := newTestWorker(0, func(msg kafka.Message, l *lease.Lease) error {
			if msg.Offset == 0 {
				close(entered)
				<-release // the buffer's budget, holding the first message
			}
			l.Settle(lease.Acknowledged)
			handedOn.Add(1)
			return nil
		})
		var atSecondFetch atomic.Int64
		src.onCall = func(n int) {
			if n == 2 {
				atSecondFetch.Store(handedOn.Load())
			}
		}
		tw.pipe.full = full
		done := make(chan int64, 1)
		go func() { done <- tw.consumeUntil(t, src, 4) }()
		<-entered
		if n := <-src.called; n != 1 {
			t.Fatalf("call %d first", n)
		}
		if full {
			// A fetch that should not happen has no signal: give a wrong one time to show.
			select {
			case n := <-src.called:
				t.Errorf("buffer full: fetch %d made while the first result waits for room", n)
			case <-time.After(200 * time.Millisecond):
			}
		} else if n := <-src.called; n != 2 {
			t.Errorf("buffer with room: call %d, want the second fetch under way while the first result is handled", n)
		}
		close(release)
		<-done
		if !slices.Equal(tw.handled, []int64{0, 1, 2, 3}) {
			t.Errorf("full %v: handled %v, want 0-3", full, tw.handled)
		}
		if full && atSecondFetch.Load() != 2 {
			t.Errorf("buffer full: the second fetch came after %d of the first result's 2 messages were handed on, want both", atSecondFetch.Load())
		}
	}
}

func TestFetchSizeSharesTheFetchMemory(t *testing.T) {
	tests := []struct {
		maxFetch   int
		memory     int64
		partitions int
		want       int
	}{
		{1 << 20, 256 << 20, 12, 1 << 20},   // production defaults: the cap
		{1 << 20, 8 << 20, 12, 349525},      // a small buffer: 8 MiB over 24 results
		{1 << 20, 8 << 20, 1000, 64 << 10},  // never below the floor
		{32 << 10, 8 << 20, 1000, 32 << 10}, // nor above a cap set below the floor
		{1 << 20, 0, 12, 1 << 20},           // no bound
	}
	for _, tt := range tests {
		c := &Consumer{cfg: Config{MaxFetchBytes: tt.maxFetch, FetchMemory: tt.memory}}
		if got := c.fetchBytes(tt.partitions); got != tt.want {
			t.Errorf("max %d, memory %d, %d partitions: %d bytes per fetch, want %d", tt.maxFetch, tt.memory, tt.partitions, got, tt.want)
		}
	}
}

func TestDrainThatTimesOutCommitsWhatIsDoneAndGivesUpTheRest(t *testing.T) {
	var committed []map[int]int64
	tw := newTestWorker(3, acknowledge)
	tw.c.cfg.DrainTimeout = 50 * time.Millisecond // work in flight outlasts it
	tw.committer.commitOffsets = func(_ context.Context, o map[int]int64) error {
		committed = append(committed, o)
		return nil
	}
	for _, o := range []int64{3, 4, 5} {
		if err := tw.tracker.Begin(context.Background(), o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tw.tracker.Done(3)
	tw.tracker.Done(5) // 4 is still with Target when the deadline comes
	tw.drain(context.Background(), -1, zap.NewNop())
	if len(committed) != 1 || committed[0][0] != 4 {
		t.Errorf("commits %v, want one at 4: below the work still in flight", committed)
	}
	if !tw.tracker.Abandoned() || tw.tracker.Pending() != 2 {
		t.Errorf("abandoned %v with %d pending, want the partition given up with 4 and 5 left to the next owner", tw.tracker.Abandoned(), tw.tracker.Pending())
	}
}

func TestDrainCutShortByTheShutdownDeadlineStillCommitsWhatIsDone(t *testing.T) {
	var committed []map[int]int64
	tw := newTestWorker(3, acknowledge)
	tw.c.cfg.DrainTimeout = time.Minute // the shutdown deadline comes first
	tw.committer.commitOffsets = func(ctx context.Context, o map[int]int64) error {
		if err := ctx.Err(); err != nil {
			return err // what a commit over the network does with an ended context
		}
		committed = append(committed, o)
		return nil
	}
	for _, o := range []int64{3, 4, 5} {
		if err := tw.tracker.Begin(context.Background(), o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tw.tracker.Done(3)
	tw.tracker.Done(4) // acknowledged while draining; 5 is still with Target
	base, cancel := context.WithCancel(context.Background())
	cancel() // shutdown.timeout passed
	tw.drain(base, -1, zap.NewNop())
	if len(committed) != 1 || committed[0][0] != 5 {
		t.Errorf("commits %v, want one at 5: what was acknowledged while draining", committed)
	}
}
