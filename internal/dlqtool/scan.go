package dlqtool

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

// Entries yields every entry of topic, partition by partition in offset order, from each
// partition's first offset up to its end when Entries started: entries dead-lettered
// meanwhile are not seen, so a listing always ends. It uses no consumer group and commits
// nothing. On error it yields the error once and stops.
func Entries(ctx context.Context, client *kafka.Client, topic string) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		ranges, err := partitionRanges(ctx, client, topic)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		for _, r := range ranges {
			for next := r.FirstOffset; next < r.LastOffset; {
				msgs, err := fetch(ctx, client, topic, r.Partition, next, r.LastOffset)
				if err != nil {
					yield(Entry{}, err)
					return
				}
				for _, m := range msgs {
					if !yield(NewEntry(m), nil) {
						return
					}
					next = m.Offset + 1
				}
			}
		}
	}
}

// partitionRanges lists topic's partitions with their first and end offsets, by partition.
func partitionRanges(ctx context.Context, client *kafka.Client, topic string) ([]kafka.PartitionOffsets, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", topic, err)
	}
	var reqs []kafka.OffsetRequest
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("topic %s not found", topic)
	}
	var out []kafka.PartitionOffsets
	err = retry(ctx, func() error {
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
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", topic, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}

// fetch returns the messages of topic/partition from offset from up to (not including) end,
// as many as one fetch brings.
func fetch(ctx context.Context, client *kafka.Client, topic string, partition int, from, end int64) ([]kafka.Message, error) {
	var res *kafka.FetchResponse
	err := retry(ctx, func() (err error) {
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
		return nil, fmt.Errorf("fetching %s/%d at offset %d: %w", topic, partition, from, err)
	}
	var out []kafka.Message
	for {
		rec, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s/%d at offset %d: %w", topic, partition, from, err)
		}
		if rec.Offset < from || rec.Offset >= end {
			continue // a batch may start before the offset asked for
		}
		m := kafka.Message{Topic: topic, Partition: partition, Offset: rec.Offset, Time: rec.Time, Headers: rec.Headers}
		if m.Key, err = kafka.ReadAll(rec.Key); err == nil {
			m.Value, err = kafka.ReadAll(rec.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s/%d at offset %d: %w", topic, partition, rec.Offset, err)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		// Without this a gap (say, removed by retention meanwhile) would loop forever.
		return nil, fmt.Errorf("fetching %s/%d at offset %d: no messages although the partition ends at %d", topic, partition, from, end)
	}
	return out, nil
}

// retry runs op until it succeeds, fails with an error Kafka does not call temporary (a
// partition between leaders, metadata propagating), or ctx ends.
func retry(ctx context.Context, op func() error) error {
	const pause = 100 * time.Millisecond
	for {
		err := op()
		var kerr kafka.Error
		if err == nil || !errors.As(err, &kerr) || !kerr.Temporary() {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (still failing when %v)", err, ctx.Err())
		case <-t.C:
		}
	}
}
