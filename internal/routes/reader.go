package routes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/kafkaread"
)

// Offsets lists the routes topic's partitions with their first and end offsets.
type Offsets func(ctx context.Context) ([]kafka.PartitionOffsets, error)

// Fetch returns the messages of a partition from offset from, below to, as one fetch brings
// them; none means there is nothing more below to (compaction can leave a tail of offsets
// without records).
type Fetch func(ctx context.Context, partition int, from, to int64) ([]kafka.Message, error)

// Apply hands a stored route to the router (delivery.Router.Load); false: a later route was
// known.
type Apply func(key, hint string, at int64) bool

// Reader catches up on the routes topic: every partition, no consumer group, from where the
// previous catch-up stopped up to the end offsets seen as the catch-up starts.
type Reader struct {
	offsets Offsets
	fetch   Fetch
	apply   Apply
	metrics *Metrics
	log     *zap.Logger
	now     func() time.Time

	mu   sync.Mutex    // one catch-up at a time; it guards next
	next map[int]int64 // per partition, the offset the next catch-up reads from
}

// NewReader returns a reader that hands what it reads to apply.
func NewReader(offsets Offsets, fetch Fetch, apply Apply, m *Metrics, log *zap.Logger) *Reader {
	return &Reader{offsets: offsets, fetch: fetch, apply: apply, metrics: m, log: log, now: time.Now, next: make(map[int]int64)}
}

// Stats is what one catch-up read.
type Stats struct {
	Read, Loaded, Expired, Superseded, Invalid int
	Took                                       time.Duration
}

// CatchUp reads what was written to the routes topic since the last catch-up, up to the end
// offsets of this moment, and applies every route younger than MaxAge. Partitions read
// completely are not read again, even when a later one fails.
func (r *Reader) CatchUp(ctx context.Context) (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := r.now()
	var st Stats
	ranges, err := r.offsets(ctx)
	if err != nil {
		return st, fmt.Errorf("listing the routes topic's offsets: %w", err)
	}
	oldest := start.Add(-MaxAge).UnixMilli()
	for _, pr := range ranges {
		from := max(r.next[pr.Partition], pr.FirstOffset) // below the log start: removed by retention
		for from < pr.LastOffset {
			msgs, err := r.fetch(ctx, pr.Partition, from, pr.LastOffset)
			if err != nil {
				st.Took = r.now().Sub(start)
				return st, fmt.Errorf("reading routes partition %d at offset %d: %w", pr.Partition, from, err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				st.Read++
				r.take(m, oldest, &st)
				from = m.Offset + 1
			}
		}
		r.next[pr.Partition] = max(from, pr.LastOffset)
	}
	r.metrics.Loaded.Add(float64(st.Loaded))
	r.metrics.Skipped.WithLabelValues("expired").Add(float64(st.Expired))
	r.metrics.Skipped.WithLabelValues("superseded").Add(float64(st.Superseded))
	r.metrics.Skipped.WithLabelValues("invalid").Add(float64(st.Invalid))
	st.Took = r.now().Sub(start)
	return st, nil
}

func (r *Reader) take(m kafka.Message, oldest int64, st *Stats) {
	if m.Value == nil { // a tombstone: nobody writes them, but compaction would honour one
		return
	}
	rec, err := decodeRecord(m.Value)
	switch {
	case err != nil || len(m.Key) == 0:
		st.Invalid++
	case rec.LearnedAt <= oldest:
		st.Expired++
	case r.apply(string(m.Key), rec.Hint, rec.LearnedAt):
		st.Loaded++
	default:
		st.Superseded++
	}
}

// KafkaOffsets lists topic's partitions and offsets through client.
func KafkaOffsets(client *kafka.Client, topic string) Offsets {
	return func(ctx context.Context) ([]kafka.PartitionOffsets, error) {
		parts, err := kafkaread.PartitionIDs(ctx, client, topic)
		if err != nil {
			return nil, err
		}
		return kafkaread.ListOffsets(ctx, client, topic, parts)
	}
}

// KafkaFetch fetches topic's records through client, up to 8 MiB at a time.
func KafkaFetch(client *kafka.Client, topic string) Fetch {
	return func(ctx context.Context, partition int, from, to int64) ([]kafka.Message, error) {
		var res *kafka.FetchResponse
		err := kafkaread.Retry(ctx, func() (err error) {
			res, err = client.Fetch(ctx, &kafka.FetchRequest{
				Topic: topic, Partition: partition, Offset: from,
				MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond,
			})
			if err == nil {
				err = res.Error
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		var out []kafka.Message
		for {
			rec, err := res.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if rec.Offset < from || rec.Offset >= to {
				continue // a batch may start before the offset asked for
			}
			m := kafka.Message{Partition: partition, Offset: rec.Offset}
			if m.Key, err = kafka.ReadAll(rec.Key); err == nil && rec.Value != nil {
				m.Value, err = kafka.ReadAll(rec.Value)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
}
