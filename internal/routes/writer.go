package routes

import (
	"context"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Produce writes messages to the routes topic; kafka.Writer.WriteMessages in production.
type Produce func(ctx context.Context, msgs ...kafka.Message) error

// WriterConfig bounds the writer; zero values take the defaults.
type WriterConfig struct {
	Linger       time.Duration // how long a learned route waits for others to share its write; 200 ms
	MaxPending   int           // routes waiting at most; more are dropped (counted); 100,000
	WriteTimeout time.Duration // one write attempt; 10 s
	WarnEvery    time.Duration // failing writes are logged once, then once per this; 30 s
}

// Writer batches learned routes into the routes topic, in the background: Learned never
// blocks, and a failing topic costs only metrics and a warning now and then.
type Writer struct {
	cfg     WriterConfig
	produce Produce
	metrics *Metrics
	log     *zap.Logger
	now     func() time.Time

	mu      sync.Mutex
	pending map[string]Record // newest route per visitor not yet written
	wake    chan struct{}

	writing    sync.Mutex // one write at a time: Run's, or Flush's
	lastWarn   time.Time
	suppressed int // failed routes since the last warning
}

// NewWriter returns a writer; Run must be running for routes to be written without Flush.
func NewWriter(cfg WriterConfig, produce Produce, m *Metrics, log *zap.Logger) *Writer {
	if cfg.Linger <= 0 {
		cfg.Linger = 200 * time.Millisecond
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100_000
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = defaultWriteTimeout
	}
	if cfg.WarnEvery <= 0 {
		cfg.WarnEvery = 30 * time.Second
	}
	return &Writer{cfg: cfg, produce: produce, metrics: m, log: log, now: time.Now,
		pending: make(map[string]Record), wake: make(chan struct{}, 1)}
}

// Learned queues a route (delivery.Router's OnLearn). It never blocks: past MaxPending
// visitors waiting, the route is dropped and counted.
func (w *Writer) Learned(key, hint string, at int64) {
	w.mu.Lock()
	if _, ok := w.pending[key]; !ok && len(w.pending) >= w.cfg.MaxPending {
		w.mu.Unlock()
		w.metrics.Dropped.Inc()
		return
	}
	w.pending[key] = Record{Hint: hint, LearnedAt: at}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run writes what is learned, Linger after the first route of a batch, until ctx ends. A
// failed write keeps its routes for the next one, after a pause that doubles up to 30 s.
func (w *Writer) Run(ctx context.Context) {
	pause := time.Duration(0)
	for {
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		}
		if err := sleep(ctx, max(w.cfg.Linger, pause)); err != nil {
			return
		}
		if w.Flush(ctx) != nil {
			pause = min(max(2*pause, time.Second), 30*time.Second)
			w.signal() // what failed is pending again
		} else {
			pause = 0
		}
	}
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Flush writes every route learned so far, now. Routes whose write fails stay pending, unless
// a newer one for the visitor came meanwhile or they are older than Target's session. The
// daemon calls it once a generation's partitions are drained, so the member that gets them
// next reads what this one learned, and when it stops.
func (w *Writer) Flush(ctx context.Context) error {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	batch := w.pending
	if len(batch) > 0 {
		w.pending = make(map[string]Record, len(batch))
	}
	w.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(batch))
	for key, r := range batch {
		msgs = append(msgs, kafka.Message{Key: []byte(key), Value: appendRecord(make([]byte, 0, 48), r.Hint, r.LearnedAt)})
	}
	wctx, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
	err := w.produce(wctx, msgs...)
	cancel()
	if err == nil {
		w.metrics.Written.Add(float64(len(msgs)))
		return nil
	}
	w.metrics.WriteErrors.Add(float64(len(msgs)))
	w.warn(len(msgs), err)
	oldest := w.now().Add(-MaxAge).UnixMilli()
	w.mu.Lock()
	for key, r := range batch {
		if _, newer := w.pending[key]; !newer && r.LearnedAt > oldest && len(w.pending) < w.cfg.MaxPending {
			w.pending[key] = r
		}
	}
	w.mu.Unlock()
	return err
}

// warn logs a failed write at once, then at most once per WarnEvery, with the routes whose
// writes failed meanwhile.
func (w *Writer) warn(routes int, err error) {
	w.suppressed += routes
	if now := w.now(); w.lastWarn.IsZero() || now.Sub(w.lastWarn) >= w.cfg.WarnEvery {
		w.log.Warn("writing edge routes to the routes topic failed; delivery goes on, a restarted or new member sends these visitors to the client host until Target names their edge again",
			zap.Int("routes", w.suppressed), zap.Error(err))
		w.lastWarn, w.suppressed = now, 0
	}
}

// defaultWriteTimeout bounds one write attempt, in the Writer and in KafkaWriter's writer.
const defaultWriteTimeout = 10 * time.Second

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
