package routes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
	)
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestRecordEncoding(t *testing.T) {
	for _, tc := range []struct {
		hint string
		at   int64
	}{{"35", 1764331200000}, {"a1", 1}} {
		v := appendRecord(nil, tc.hint, tc.at)
		got, err := decodeRecord(v)
		if err != nil || got != (Record{Hint: tc.hint, LearnedAt: tc.at}) {
			t.Errorf("%s: decoded %+v, %v", v, got, err)
		}
	}
	// Other JSON of the same shape is read too (written by hand, or by another tool).
	if got, err := decodeRecord([]byte(`{ "learnedAt": 7, "hint": "Z9" }`)); err != nil || got != (Record{Hint: "Z9", LearnedAt: 7}) {
		t.Errorf("reordered record: %+v, %v", got, err)
	}
	for _, bad := range []string{``, `{}`, `{"hint":"35"}`, `{"learnedAt":5}`, `not json`, `{"hint":"","learnedAt":5}`, `{"hint":"35","learnedAt":-5}`} {
		if _, err := decodeRecord([]byte(bad)); err == nil {
			t.Errorf("%q decoded without error", bad)
		}
	}
}

// produced records what a fake Produce was given, and fails while failing is set.
type produced struct {
	mu      sync.Mutex
	calls   [][]kafka.Message
	failing bool
}

func (p *produced) produce(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failing {
		return errors.New("broker says no")
	}
	p.calls = append(p.calls, msgs)
	return nil
}

func (p *produced) records() map[string]Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]Record{}
	for _, call := range p.calls {
		for _, m := range call {
			r, err := decodeRecord(m.Value)
			if err != nil {
				panic(err)
			}
			out[string(m.Key)] = r
		}
	}
	return out
}

func newTestWriter(cfg WriterConfig, p *produced) (*Writer, *Metrics, *observer.ObservedLogs) {
	core, logs := observer.New(zap.WarnLevel)
	m := NewMetrics(prometheus.NewRegistry())
	return NewWriter(cfg, p.produce, m, zap.New(core)), m, logs
}

// A flush writes the newest route of each visitor once.
func TestFlushWritesTheNewestRoutePerVisitor(t *testing.T) {
	p := &produced{}
	w, m, _ := newTestWriter(WriterConfig{}, p)
	w.Learned("tnt:a", "35", 100)
	w.Learned("tnt:b", "31", 101)
	w.Learned("tnt:a", "21", 102)
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]Record{"tnt:a": {"21", 102}, "tnt:b": {"31", 101}}
	if got := p.records(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("written %v, want %v", got, want)
	}
	if n := counter(m.Written); n != 2 {
		t.Fatalf("written_total %v, want 2", n)
	}
	if err := w.Flush(t.Context()); err != nil || len(p.calls) != 1 {
		t.Fatalf("an empty flush wrote (%d calls, %v)", len(p.calls), err)
	}
}

// A failed write counts, warns once per WarnEvery, keeps its routes for the next write unless
// a newer route or Target's session overtook them, and never blocks Learned.
func TestFailedWritesAreKeptCountedAndWarnedSparingly(t *testing.T) {
	p := &produced{failing: true}
	w, m, logs := newTestWriter(WriterConfig{WarnEvery: time.Minute}, p)
	clock := time.UnixMilli(10_000_000)
	w.now = func() time.Time { return clock }
	old := clock.Add(-MaxAge).UnixMilli()
	w.Learned("tnt:a", "35", clock.UnixMilli())
	w.Learned("tnt:old", "35", old)
	if err := w.Flush(t.Context()); err == nil {
		t.Fatal("flush succeeded against a failing topic")
	}
	w.Learned("tnt:a", "21", clock.UnixMilli()+1) // newer than the failed one
	w.Learned("tnt:b", "31", clock.UnixMilli())
	clock = clock.Add(time.Second)
	if err := w.Flush(t.Context()); err == nil {
		t.Fatal("second flush succeeded")
	}
	if n := counter(m.WriteErrors); n != 4 {
		t.Errorf("write_errors_total %v, want 4 (2 routes, then 2 again)", n)
	}
	if n := logs.Len(); n != 1 {
		t.Errorf("%d warnings, want 1 within WarnEvery", n)
	}
	p.mu.Lock()
	p.failing = false
	p.mu.Unlock()
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]Record{"tnt:a": {"21", clock.Add(-time.Second).UnixMilli() + 1}, "tnt:b": {"31", clock.Add(-time.Second).UnixMilli()}}
	if got := p.records(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("written %v, want %v (the expired route dropped)", got, want)
	}
}

// Past MaxPending waiting visitors, routes are dropped and counted, not queued.
func TestLearnedDropsPastMaxPending(t *testing.T) {
	p := &produced{}
	w, m, _ := newTestWriter(WriterConfig{MaxPending: 2}, p)
	for i := range 5 {
		w.Learned(fmt.Sprintf("tnt:%d", i), "35", 1)
	}
	w.Learned("tnt:0", "21", 2) // a visitor already waiting is updated in place
	if n := counter(m.Dropped); n != 3 {
		t.Fatalf("dropped_total %v, want 3", n)
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.records(); len(got) != 2 || got["tnt:0"].Hint != "21" {
		t.Fatalf("written %v", got)
	}
}

// Run writes what is learned without anyone flushing, and stops with its context.
func TestRunWritesInTheBackground(t *testing.T) {
	p := &produced{}
	written := make(chan struct{})
	w, _, _ := newTestWriter(WriterConfig{Linger: time.Millisecond}, p)
	w.produce = func(ctx context.Context, msgs ...kafka.Message) error {
		err := p.produce(ctx, msgs...)
		close(written)
		return err
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	w.Learned("tnt:a", "35", 1)
	<-written
	cancel()
	<-done
	if got := p.records(); got["tnt:a"].Hint != "35" {
		t.Fatalf("written %v", got)
	}
}

// fakeLog is a routes topic in memory: partitions of messages, with a log start each.
type fakeLog struct {
	parts     map[int][]kafka.Message // by partition; offsets may have holes (compaction)
	start     map[int]int64
	end       map[int]int64
	fetches   int
	failAfter int // fail the fetch after this many; 0: never
}

func (f *fakeLog) add(p int, offset int64, key, value string) {
	if f.parts == nil {
		f.parts, f.start, f.end = map[int][]kafka.Message{}, map[int]int64{}, map[int]int64{}
	}
	var v []byte
	if value != "" {
		v = []byte(value)
	}
	f.parts[p] = append(f.parts[p], kafka.Message{Partition: p, Offset: offset, Key: []byte(key), Value: v})
	f.end[p] = max(f.end[p], offset+1)
}

func (f *fakeLog) offsets(context.Context) ([]kafka.PartitionOffsets, error) {
	var out []kafka.PartitionOffsets
	for p := range len(f.end) {
		out = append(out, kafka.PartitionOffsets{Partition: p, FirstOffset: f.start[p], LastOffset: f.end[p]})
	}
	return out, nil
}

// fetch returns up to two messages at a time, to exercise the loop.
func (f *fakeLog) fetch(_ context.Context, p int, from, to int64) ([]kafka.Message, error) {
	f.fetches++
	if f.failAfter > 0 && f.fetches > f.failAfter {
		return nil, errors.New("leader gone")
	}
	var out []kafka.Message
	for _, m := range f.parts[p] {
		if m.Offset >= from && m.Offset < to && len(out) < 2 {
			out = append(out, m)
		}
	}
	return out, nil
}

type applied struct {
	got    map[string]Record
	refuse map[string]bool // keys for which a later route is known
}

func (a *applied) apply(key, hint string, at int64) bool {
	if a.refuse[key] {
		return false
	}
	a.got[key] = Record{hint, at}
	return true
}

func rec(hint string, at int64) string { return string(appendRecord(nil, hint, at)) }

func TestCatchUpLoadsFreshRoutesOnceEach(t *testing.T) {
	now := time.UnixMilli(100_000_000)
	fresh, stale := now.Add(-MaxAge+time.Second).UnixMilli(), now.Add(-MaxAge).UnixMilli()
	log := &fakeLog{}
	log.add(0, 0, "tnt:a", rec("35", fresh))
	log.add(0, 3, "tnt:b", rec("31", stale)) // offsets 1-2 compacted away
	log.add(0, 4, "tnt:c", "junk")
	log.add(0, 5, "tnt:d", rec("21", fresh))
	log.add(1, 7, "tnt:e", rec("34", fresh)) // offsets below 7 removed by retention
	log.start[1] = 7
	log.add(1, 8, "tnt:f", rec("35", fresh))
	log.add(1, 9, "tnt:g", "") // a tombstone
	a := &applied{got: map[string]Record{}, refuse: map[string]bool{"tnt:f": true}}
	m := NewMetrics(prometheus.NewRegistry())
	r := NewReader(log.offsets, log.fetch, a.apply, m, zap.NewNop())
	r.now = func() time.Time { return now }

	st, err := r.CatchUp(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Read: 7, Loaded: 3, Expired: 1, Superseded: 1, Invalid: 1}
	st.Took = 0
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if len(a.got) != 3 || a.got["tnt:a"].Hint != "35" || a.got["tnt:d"].Hint != "21" || a.got["tnt:e"].Hint != "34" {
		t.Errorf("applied %v", a.got)
	}
	if n := counter(m.Loaded); n != 3 {
		t.Errorf("loaded_total %v", n)
	}
	if n := counter(m.Skipped.WithLabelValues("expired")); n != 1 {
		t.Errorf("skipped_total{expired} %v", n)
	}

	// The next catch-up reads only what came since.
	log.add(0, 6, "tnt:h", rec("35", fresh))
	st, err = r.CatchUp(t.Context())
	if err != nil || st.Read != 1 || a.got["tnt:h"].Hint != "35" {
		t.Fatalf("second catch-up: %+v, %v, applied %v", st, err, a.got)
	}
}

// A failed fetch leaves the partitions read completely behind it, and the rest to re-read.
func TestCatchUpResumesAfterAFailure(t *testing.T) {
	now := time.UnixMilli(100_000_000)
	log := &fakeLog{failAfter: 2}
	for i := range 3 {
		log.add(0, int64(i), fmt.Sprintf("tnt:p0-%d", i), rec("35", now.UnixMilli()))
		log.add(1, int64(i), fmt.Sprintf("tnt:p1-%d", i), rec("35", now.UnixMilli()))
	}
	a := &applied{got: map[string]Record{}}
	r := NewReader(log.offsets, log.fetch, a.apply, NewMetrics(prometheus.NewRegistry()), zap.NewNop())
	r.now = func() time.Time { return now }
	if _, err := r.CatchUp(t.Context()); err == nil {
		t.Fatal("no error from a failing fetch")
	}
	log.failAfter = 0
	st, err := r.CatchUp(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.got) != 6 || st.Read != 3 {
		t.Fatalf("after the retry: applied %d routes, the retry read %d (want 6 and 3: partition 0 not read again)", len(a.got), st.Read)
	}
}
