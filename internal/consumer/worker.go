package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/offsets"
)

// worker consumes one partition for one generation.
type worker struct {
	c         *Consumer
	partition int
	start     int64
	tracker   *offsets.Tracker
	committer *committer
}

// run fetches until the generation ends, then drains: flush, wait for in-flight work up to
// DrainTimeout, commit what is done, and give up the rest.
func (w *worker) run(genCtx, base context.Context) {
	log := w.c.log.With(zap.String("topic", w.c.cfg.Topic), zap.Int("partition", w.partition))
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   w.c.cfg.Brokers,
		Dialer:    w.c.cfg.Dialer,
		Topic:     w.c.cfg.Topic,
		Partition: w.partition,
		MinBytes:  1,
		MaxBytes:  w.c.cfg.MaxFetchBytes,
		MaxWait:   250 * time.Millisecond,
	})
	if err := reader.SetOffset(w.start); err != nil {
		reader.Close()
		log.Error("cannot start partition", zap.Int64("offset", w.start), zap.Error(err))
		return
	}
	log.Debug("partition assigned", zap.Int64("offset", w.start))
	unhandled := w.fetch(genCtx, reader, log)
	reader.Close() // the partition is going: no more prefetching while its work drains
	w.drain(base, unhandled, log)
}

// fetch hands messages to the handler until ctx ends. It returns the offset of a message
// fetched but not taken by the handler, or -1.
func (w *worker) fetch(ctx context.Context, reader *kafka.Reader, log *zap.Logger) int64 {
	stale := w.tracker.Abandoned
	highWater := int64(-1)
	for {
		msg, err := reader.FetchMessage(ctx)
		if ctx.Err() != nil {
			return -1
		}
		if err != nil {
			log.Warn("fetch failed", zap.Error(err))
			select {
			case <-ctx.Done():
				return -1
			case <-time.After(time.Second):
			}
			continue
		}
		if err := w.tracker.Begin(ctx, msg.Offset, time.Now()); err != nil {
			return -1 // generation ended while waiting for room: the message is refetched later
		}
		w.c.metrics.EventsConsumed.Inc()
		if msg.HighWaterMark != highWater { // changes per fetch, not per message
			highWater = msg.HighWaterMark
			w.committer.highWater.Store(w.partition, highWater)
		}
		offset := msg.Offset
		if err := w.c.handle(ctx, msg, func() { w.tracker.Done(offset) }, stale); err != nil {
			return offset // stays pending, so no commit passes it
		}
	}
}

// drain waits for the work below unhandled (everything, when -1) and commits it.
func (w *worker) drain(base context.Context, unhandled int64, log *zap.Logger) {
	w.c.flush()
	ctx, cancel := context.WithTimeout(base, w.c.cfg.DrainTimeout)
	defer cancel()
	err := w.tracker.WaitWatermark(ctx, unhandled)
	if cerr := w.committer.commit(map[int]*offsets.Tracker{w.partition: w.tracker}); cerr != nil {
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
