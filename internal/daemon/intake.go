package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/tracing/kafkaheaders"
	"github.com/notifierd/notifierd/pkg/notify"
)

// intake is the consumer's pipeline: it decodes each fetched message, dead-letters what is
// not a valid event, buffers the rest within the budget and batches it; and it gives back
// what a settled event held.
type intake struct {
	decoder     *event.Decoder
	budget      *batch.Budget
	batcher     *batch.Batcher
	deadLetters *dlq.Writer
	metrics     *metrics.Metrics
	log         *zap.Logger
	// traces reads each record's traceparent header; off, the headers are not even looked at.
	traces bool

	lastProgress atomic.Int64 // unix nanos of the last event settled
}

// Handle takes one message from a partition worker.
func (in *intake) Handle(ctx context.Context, msg kafka.Message, l *lease.Lease) error {
	src := event.Source{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset,
		ReplayedFrom: dlq.Header(msg, dlq.HeaderReplayedFrom)}
	n, err := in.decoder.Decode(msg.Value, src)
	if err != nil {
		reason := notify.ReasonBadValue
		var ee *event.Error
		if errors.As(err, &ee) {
			reason = ee.Reason
		}
		in.metrics.EventsInvalid.WithLabelValues(reason).Inc()
		in.log.Debug("invalid event", zap.String("topic", src.Topic), zap.Int("partition", src.Partition), zap.Int64("offset", src.Offset), zap.Error(err))
		e := dlq.Entry{Source: src, Key: msg.Key, Value: msg.Value, Reason: reason, Detail: err.Error(), Lease: l}
		if in.traces {
			e.Trace = kafkaheaders.Extract(msg.Headers)
		}
		return in.deadLetters.Send(ctx, e)
	}
	size := batch.Footprint(n, msg.Key, msg.Value)
	if err := in.budget.Acquire(ctx, size); err != nil {
		return fmt.Errorf("waiting for buffer room: %w", err)
	}
	l.Hold(size)
	in.metrics.BufferedEvents.Inc()
	in.metrics.BufferedBytes.Add(float64(size))
	it := batch.NewItem(n, src, msg.Key, msg.Value, l)
	if in.traces {
		it.Trace = kafkaheaders.Extract(msg.Headers)
	}
	in.batcher.Add(it)
	return nil
}

// Flush hands on a partition's open batches now.
func (in *intake) Flush(partition int) { in.batcher.FlushPartition(partition) }

// HasRoom reports whether the buffer budget has size bytes free.
func (in *intake) HasRoom(size int) bool { return in.budget.HasRoom(size) }

// Release gives back a settled event's buffer share and records the progress.
func (in *intake) Release(l *lease.Lease, _ lease.Outcome) {
	if size := l.Size(); size > 0 {
		in.budget.Release(size)
		in.metrics.BufferedEvents.Dec()
		in.metrics.BufferedBytes.Sub(float64(size))
	}
	in.markProgress()
}

// markProgress records that an event reached its outcome: healthy measures stalls from it.
func (in *intake) markProgress() { in.lastProgress.Store(time.Now().UnixNano()) }
