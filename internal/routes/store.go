package routes

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Store is the daemon's use of kafka.routesTopic: the topic made sure of at start, the
// writer, and the reader, run by the consumer's generation hooks (it is a
// consumer.GenerationHooks).
type Store struct {
	Topic  string
	Writer *Writer
	Reader *Reader
	ensure func(ctx context.Context) error
	log    *zap.Logger
	// CatchUpTimeout bounds a catch-up: past it, the partitions are delivered with the routes
	// loaded so far rather than held back.
	CatchUpTimeout time.Duration
	// FlushTimeout bounds the flush when a generation's partitions are drained.
	FlushTimeout time.Duration
}

// NewStore wires a store on topic: client lists, fetches and creates, produce writes, and
// apply hands stored routes to the router (delivery.Router.Load). The counters go to reg.
func NewStore(topic string, client *kafka.Client, produce Produce, apply Apply, reg prometheus.Registerer, log *zap.Logger) *Store {
	m := NewMetrics(reg)
	log = log.With(zap.String("routes_topic", topic))
	return &Store{
		Topic:          topic,
		Writer:         NewWriter(WriterConfig{}, produce, m, log),
		Reader:         NewReader(KafkaOffsets(client, topic), KafkaFetch(client, topic), apply, m, log),
		ensure:         func(ctx context.Context) error { return EnsureTopic(ctx, client, topic) },
		log:            log,
		CatchUpTimeout: time.Minute,
		FlushTimeout:   5 * time.Second,
	}
}

// KafkaWriter is the routes topic's writer: a visitor's route always goes to the same
// partition (murmur2 of the key, as producers partition), so compaction keeps its latest;
// every in-sync replica acknowledges; large lz4-compressed batches, since a catch-up after a
// deploy reads them all. One attempt per write, as long as the Writer waits for it: a failed
// write stays pending for the next flush, and kafka-go's own retries would go on in the
// background, holding Close.
func KafkaWriter(brokers []string, topic string, t kafka.RoundTripper) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Transport: t,
		Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 10_000, BatchTimeout: 5 * time.Millisecond, Compression: kafka.Lz4,
		MaxAttempts: 1, WriteTimeout: defaultWriteTimeout,
	}
}

// Start makes sure the topic exists (compacted) and loads it, while the member joins its
// group; the first generation's catch-up then reads only what came meanwhile.
func (s *Store) Start(ctx context.Context) {
	if err := s.ensure(ctx); err != nil {
		s.log.Warn("the routes topic could not be created; create it compacted (cleanup.policy=compact) or routes are neither kept nor loaded", zap.Error(err))
	}
	s.catchUp(ctx, "start")
}

// Assigned loads what other members wrote before this generation's partitions are fetched.
func (s *Store) Assigned(ctx context.Context) { s.catchUp(ctx, "assignment") }

// Drained writes what this member learned, so whoever gets its partitions next reads it.
func (s *Store) Drained(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, s.FlushTimeout)
	defer cancel()
	_ = s.Writer.Flush(fctx) // a failure is counted and logged by the writer
}

func (s *Store) catchUp(ctx context.Context, why string) {
	cctx, cancel := context.WithTimeout(ctx, s.CatchUpTimeout)
	defer cancel()
	st, err := s.Reader.CatchUp(cctx)
	fields := []zap.Field{zap.String("on", why), zap.Int("read", st.Read), zap.Int("loaded", st.Loaded),
		zap.Int("expired", st.Expired), zap.Int("superseded", st.Superseded), zap.Int("invalid", st.Invalid), zap.Duration("took", st.Took)}
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopping, or the generation ended: its successor catches up again.
	case err != nil:
		s.log.Warn("loading edge routes failed; visitors without a loaded route go to the client host until Target names their edge", append(fields, zap.Error(err))...)
	default:
		s.log.Info("edge routes loaded", fields...)
	}
}
