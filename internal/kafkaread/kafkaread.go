// Package kafkaread owns reading a Kafka topic back without a consumer group: listing a
// topic's partitions, their first and last (end) offsets and a group's committed offsets, and
// reading the messages of each partition from its first offset up to its end as it was when
// the read started, so a read always ends and commits nothing.
//
// Requests are retried while Kafka answers with an error it calls temporary (a partition
// between leaders, metadata propagating), until ctx ends; only the metadata request that
// lists the partitions is not, so a missing topic is reported at once rather than waited for
// (wrap PartitionIDs in Retry to wait for it). Messages come back with Topic, Partition,
// Offset, HighWaterMark, Key, Value, Headers and Time set.
package kafkaread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

// Pause is how long Retry waits between attempts.
const Pause = 50 * time.Millisecond

// Retry runs op until it succeeds, fails with an error Kafka does not call temporary
// (kafka.Error.Temporary: leader changes, coordinators loading, metadata propagating...), or
// ctx ends; then the error wraps both op's last error and ctx's. Brokers give no notification
// for those states ending, hence the polling.
func Retry(ctx context.Context, op func() error) error { return RetryIf(ctx, Temporary, op) }

// RetryIf is Retry with the caller's idea of a temporary error: a test bed that restarts
// its broker counts network errors too.
func RetryIf(ctx context.Context, temporary func(error) bool, op func() error) error {
	for {
		err := op()
		if err == nil || !temporary(err) {
			return err
		}
		t := time.NewTimer(Pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (still failing when %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// Temporary reports whether err holds an error Kafka calls temporary.
func Temporary(err error) bool {
	var kerr kafka.Error
	return errors.As(err, &kerr) && kerr.Temporary()
}

// PartitionIDs lists topic's partitions, sorted, with one metadata request and no retry. It
// does not auto-create the topic; a missing one is an error wrapping
// kafka.UnknownTopicOrPartition.
func PartitionIDs(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, tm := range md.Topics {
		if tm.Name != topic {
			continue
		}
		if tm.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", topic, tm.Error)
		}
		ids := make([]int, 0, len(tm.Partitions))
		for _, p := range tm.Partitions {
			ids = append(ids, p.ID)
		}
		sort.Ints(ids)
		return ids, nil
	}
	return nil, fmt.Errorf("metadata of %s: %w", topic, kafka.UnknownTopicOrPartition)
}

// ListOffsets returns the first and last (end, the high watermark) offsets of the given
// partitions of topic, sorted by partition, retrying until every partition's leader answers.
func ListOffsets(ctx context.Context, client *kafka.Client, topic string, partitions []int) ([]kafka.PartitionOffsets, error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*len(partitions))
	for _, p := range partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	var out []kafka.PartitionOffsets
	err := Retry(ctx, func() error {
		res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			return err
		}
		out = res.Topics[topic]
		for _, po := range out {
			if po.Error != nil {
				return fmt.Errorf("partition %d: %w", po.Partition, po.Error)
			}
		}
		if len(out) != len(partitions) {
			return fmt.Errorf("offsets for %d of %d partitions: %w", len(out), len(partitions), kafka.LeaderNotAvailable)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}

// EndOffsets returns the end offset (the high watermark) of each of the given partitions of
// topic, as ListOffsets does.
func EndOffsets(ctx context.Context, client *kafka.Client, topic string, partitions []int) (map[int]int64, error) {
	listed, err := ListOffsets(ctx, client, topic, partitions)
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(listed))
	for _, po := range listed {
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// CommittedOffsets returns group's committed offset for each of the given partitions of
// topic, -1 where it has committed nothing (also when the broker does not know the group).
func CommittedOffsets(ctx context.Context, client *kafka.Client, group, topic string, partitions []int) (map[int]int64, error) {
	out := make(map[int]int64, len(partitions))
	for _, p := range partitions {
		out[p] = -1
	}
	var res *kafka.OffsetFetchResponse
	err := Retry(ctx, func() (err error) {
		res, err = client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
		if err == nil {
			err = res.Error
		}
		return err
	})
	if errors.Is(err, kafka.GroupIdNotFound) {
		return out, nil // kfake's answer for a group that never committed; Kafka answers -1 offsets
	}
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s on %s: %w", group, topic, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("committed offset of group %s on %s/%d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// Read yields the messages of topic, partition by partition (ascending) in offset order, from
// each partition's first offset up to its end as it was when the iteration started: messages
// written meanwhile are not seen, so a read always ends. It holds one fetch (at most 8 MiB)
// at a time. On error it yields the error once and stops.
func Read(ctx context.Context, client *kafka.Client, topic string) iter.Seq2[kafka.Message, error] {
	return func(yield func(kafka.Message, error) bool) {
		_, ranges, err := partitionOffsets(ctx, client, topic)
		if err != nil {
			yield(kafka.Message{}, err)
			return
		}
		for _, r := range ranges {
			for m, err := range readRange(ctx, client, topic, r.Partition, r.FirstOffset, r.LastOffset) {
				if !yield(m, err) || err != nil {
					return
				}
			}
		}
	}
}

// Follow is Read that does not stop at the end: it goes on yielding what is written later,
// polling every pollEvery, until ctx ends, when it stops without an error.
func Follow(ctx context.Context, client *kafka.Client, topic string, pollEvery time.Duration) iter.Seq2[kafka.Message, error] {
	return func(yield func(kafka.Message, error) bool) {
		parts, ranges, err := partitionOffsets(ctx, client, topic)
		if err != nil {
			yield(kafka.Message{}, err)
			return
		}
		next := map[int]int64{}
		for _, r := range ranges {
			next[r.Partition] = r.FirstOffset
		}
		for ctx.Err() == nil {
			ends, err := EndOffsets(ctx, client, topic, parts)
			if err != nil {
				if ctx.Err() == nil {
					yield(kafka.Message{}, err)
				}
				return
			}
			for _, p := range parts {
				for m, err := range readRange(ctx, client, topic, p, next[p], ends[p]) {
					if err != nil && ctx.Err() != nil {
						return
					}
					if !yield(m, err) || err != nil {
						return
					}
					next[p] = m.Offset + 1
				}
			}
			t := time.NewTimer(pollEvery)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
}

// partitionOffsets lists topic's partitions and their first and end offsets.
func partitionOffsets(ctx context.Context, client *kafka.Client, topic string) ([]int, []kafka.PartitionOffsets, error) {
	parts, err := PartitionIDs(ctx, client, topic)
	if err != nil {
		return nil, nil, err
	}
	ranges, err := ListOffsets(ctx, client, topic, parts)
	return parts, ranges, err
}

// ReadAll is Read collected: every message of topic up to each partition's end at the call,
// ordered by partition, then offset.
func ReadAll(ctx context.Context, client *kafka.Client, topic string) ([]kafka.Message, error) {
	var out []kafka.Message
	for m, err := range Read(ctx, client, topic) {
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// FetchRange returns the messages of topic/partition with offsets in [from, to), in order.
func FetchRange(ctx context.Context, client *kafka.Client, topic string, partition int, from, to int64) ([]kafka.Message, error) {
	var out []kafka.Message
	for m, err := range readRange(ctx, client, topic, partition, from, to) {
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// readRange yields the messages of topic/partition with offsets in [from, to), one fetch at a
// time; on error it yields the error once and stops.
func readRange(ctx context.Context, client *kafka.Client, topic string, partition int, from, to int64) iter.Seq2[kafka.Message, error] {
	return func(yield func(kafka.Message, error) bool) {
		for next := from; next < to; {
			msgs, err := fetch(ctx, client, topic, partition, next, to)
			if err != nil {
				yield(kafka.Message{}, err)
				return
			}
			for _, m := range msgs {
				if !yield(m, nil) {
					return
				}
				next = m.Offset + 1
			}
		}
	}
}

// fetch returns the messages of topic/partition from offset from up to (not including) to, as
// many as one fetch brings: at least one, else an error.
func fetch(ctx context.Context, client *kafka.Client, topic string, partition int, from, to int64) ([]kafka.Message, error) {
	var res *kafka.FetchResponse
	err := Retry(ctx, func() (err error) {
		res, err = client.Fetch(ctx, &kafka.FetchRequest{
			Topic: topic, Partition: partition, Offset: from,
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err == nil {
			err = res.Error
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, from, err)
	}
	var out []kafka.Message
	for {
		rec, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, from, err)
		}
		if rec.Offset < from || rec.Offset >= to {
			continue // a batch may start before the offset asked for
		}
		m := kafka.Message{
			Topic: topic, Partition: partition, Offset: rec.Offset, HighWaterMark: res.HighWatermark,
			Headers: append([]kafka.Header(nil), rec.Headers...), Time: rec.Time,
		}
		if m.Key, err = kafka.ReadAll(rec.Key); err == nil {
			m.Value, err = kafka.ReadAll(rec.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, rec.Offset, err)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		// Without this a gap (say, removed by retention meanwhile) would fetch forever.
		return nil, fmt.Errorf("fetch %s/%d at %d: no records below the end offset %d", topic, partition, from, to)
	}
	return out, nil
}
