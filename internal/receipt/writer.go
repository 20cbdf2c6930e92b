// Package receipt writes the receipts topic (kafka.receiptsTopic): one record per event
// outcome, acknowledged by Target or dead-lettered, so producers learn what became of their
// events, with Target's requestId, edgeHost and tntId. A receipt is written before its
// event's lease is settled, so no offset is committed without its receipt; a crash between
// the two writes the receipt again (at least once, like delivery).
package receipt

import (
	"context"
	"errors"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/outbox"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Produce writes messages to the receipts topic; kafka.Writer.WriteMessages in production.
type Produce func(ctx context.Context, msgs ...kafka.Message) error

// Writer batches receipts into the topic and settles each event's lease once its receipt
// is written. It implements delivery.Receipts and dlq.Receipts.
type Writer struct {
	produce Produce
	in      chan pending
	metrics *metrics.Metrics
	log     *zap.Logger
}

// pending is a receipt waiting to be written, and the lease it settles.
type pending struct {
	key     []byte
	receipt notify.Receipt
	lease   *lease.Lease
	outcome lease.Outcome
}

// maxBatch bounds the receipts of one write.
const maxBatch = 1000

// NewWriter returns a writer; Run must be running for it to make progress.
func NewWriter(produce Produce, m *metrics.Metrics, log *zap.Logger) *Writer {
	return &Writer{
		produce: produce,
		in:      make(chan pending, 4*maxBatch),
		metrics: m,
		log:     log,
	}
}

// Acknowledged queues the receipt of an item Target acknowledged.
func (w *Writer) Acknowledged(ctx context.Context, it *batch.Item, a delivery.Answer) error {
	r := fromNotification(it.Notification, it.Source, a.At)
	r.Outcome = notify.OutcomeAcknowledged
	r.RequestID, r.EdgeHost, r.TntID = a.RequestID, a.EdgeHost, a.TntID
	r.LocationHint, r.Status, r.Attempts = a.LocationHint, a.Status, a.Attempts
	return w.queue(ctx, pending{key: it.Key, receipt: r, lease: it.Lease, outcome: lease.Acknowledged})
}

// DeadLettered queues the receipt of an entry written to the dead-letter topic at at.
func (w *Writer) DeadLettered(ctx context.Context, e dlq.Entry, at time.Time) error {
	r := fromNotification(e.Notification, e.Source, at)
	r.Outcome, r.Reason = notify.OutcomeDeadLettered, e.Reason
	return w.queue(ctx, pending{key: e.Key, receipt: r, lease: e.Lease, outcome: lease.DeadLettered})
}

// fromNotification fills what every receipt says of its event; n is nil for an event that
// could not be decoded.
func fromNotification(n *event.Notification, src event.Source, at time.Time) notify.Receipt {
	r := notify.Receipt{
		Source:  notify.ReceiptSource{Topic: src.Topic, Partition: src.Partition, Offset: src.Offset},
		AckTime: at.UnixMilli(),
	}
	if n != nil {
		r.ID, r.EventTime = n.ID, n.Timestamp
		if env := n.Envelope; env != nil {
			r.Client, r.SessionID, r.LocationHint = env.Client, env.SessionID, env.Hint
		}
	}
	return r
}

// queue waits when the queue is full, which slows its caller rather than dropping anything.
func (w *Writer) queue(ctx context.Context, p pending) error {
	select {
	case w.in <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes queued receipts until ctx ends; receipts not written by then leave their
// events unsettled, so their offsets are not committed and they come back.
func (w *Writer) Run(ctx context.Context) {
	for {
		batch, ok := outbox.Next(ctx, w.in, maxBatch)
		if !ok || w.write(ctx, batch) != nil {
			return
		}
		for _, p := range batch {
			w.metrics.ReceiptsWritten.WithLabelValues(p.receipt.Outcome).Inc()
			if p.lease != nil {
				p.lease.Settle(p.outcome)
			}
		}
	}
}

// write writes the batch, retrying until it is written or ctx ends.
func (w *Writer) write(ctx context.Context, batch []pending) error {
	msgs := make([]kafka.Message, 0, len(batch))
	for _, p := range batch {
		value, err := notify.EncodeReceipt(p.receipt)
		if err != nil { // strings and numbers only: cannot fail
			return err
		}
		msgs = append(msgs, kafka.Message{Key: p.key, Value: value})
	}
	return outbox.Write(ctx, func(ctx context.Context) error { return w.produce(ctx, msgs...) }, func(err error, wait time.Duration) bool {
		w.metrics.ReceiptWriteErrors.Inc()
		var partial kafka.WriteErrors
		if errors.As(err, &partial) && len(partial) == len(msgs) {
			var again []kafka.Message // the ones written must not be written twice
			for i, e := range partial {
				if e != nil {
					again = append(again, msgs[i])
				}
			}
			msgs = again
		}
		w.log.Warn("receipts write failed; retrying (the events' offsets wait for it)", zap.Int("receipts", len(msgs)), zap.Duration("wait", wait), zap.Error(err))
		return false
	})
}
