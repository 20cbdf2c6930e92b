package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
)

// readBack is what the accounting needs from Kafka once notifierd has stopped: where every
// message of the events topic sits, what the dead-letter topic holds, and how far the group
// committed.
func readBack(ctx context.Context, client *kafka.Client, topic, dlqTopic, group string) (Outcomes, error) {
	var o Outcomes
	events, err := readTopic(ctx, client, topic)
	if err != nil {
		return o, err
	}
	for _, m := range events {
		o.Topic = append(o.Topic, Located{ID: dlq.Header(m, HeaderID), Partition: m.Partition, Offset: m.Offset})
	}
	dead, err := readTopic(ctx, client, dlqTopic)
	if err != nil {
		return o, err
	}
	for _, m := range dead {
		p, perr := strconv.Atoi(dlq.Header(m, dlq.HeaderPartition))
		off, oerr := strconv.ParseInt(dlq.Header(m, dlq.HeaderOffset), 10, 64)
		if perr != nil || oerr != nil {
			return o, fmt.Errorf("dead letter %d/%d has no source partition and offset", m.Partition, m.Offset)
		}
		o.DeadLetters = append(o.DeadLetters, DeadLetter{
			Topic: dlq.Header(m, dlq.HeaderTopic), Partition: p, Offset: off, Reason: dlq.Header(m, dlq.HeaderReason),
		})
	}
	parts, err := partitionIDs(ctx, client, topic)
	if err != nil {
		return o, err
	}
	if o.End, err = endOffsets(ctx, client, topic, parts); err != nil {
		return o, err
	}
	o.Committed, err = committedOffsets(ctx, client, group, topic, parts)
	return o, err
}

// readTopic reads every message in topic, from each partition's first offset to its end.
func readTopic(ctx context.Context, client *kafka.Client, topic string) ([]kafka.Message, error) {
	var parts []int
	err := retryKafka(ctx, func() (err error) {
		parts, err = partitionIDs(ctx, client, topic)
		return err
	})
	if err != nil {
		return nil, err
	}
	listed, err := listOffsets(ctx, client, topic, parts)
	if err != nil {
		return nil, err
	}
	var out []kafka.Message
	for _, po := range listed {
		msgs, err := fetchRange(ctx, client, topic, po.Partition, po.FirstOffset, po.LastOffset)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// fetchRange returns the messages of topic/partition with offsets in [from, to).
func fetchRange(ctx context.Context, client *kafka.Client, topic string, partition int, from, to int64) ([]kafka.Message, error) {
	var out []kafka.Message
	for next := from; next < to; {
		var res *kafka.FetchResponse
		err := retryKafka(ctx, func() (err error) {
			res, err = client.Fetch(ctx, &kafka.FetchRequest{
				Topic: topic, Partition: partition, Offset: next,
				MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 500 * time.Millisecond,
			})
			if err == nil {
				err = res.Error
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, next, err)
		}
		before := next
		for {
			rec, err := res.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, next, err)
			}
			if rec.Offset < next || rec.Offset >= to {
				continue // a batch may start before the offset asked for
			}
			value, err := kafka.ReadAll(rec.Value)
			if err != nil {
				return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, rec.Offset, err)
			}
			out = append(out, kafka.Message{Topic: topic, Partition: partition, Offset: rec.Offset, Value: value, Headers: rec.Headers})
			next = rec.Offset + 1
		}
		if next == before {
			return nil, fmt.Errorf("fetch %s/%d at %d: no records below the end offset %d", topic, partition, next, to)
		}
	}
	return out, nil
}

// endOffsets returns the end offset (high watermark) of each partition.
func endOffsets(ctx context.Context, client *kafka.Client, topic string, parts []int) (map[int]int64, error) {
	var listed []kafka.PartitionOffsets
	err := retryKafka(ctx, func() (err error) {
		listed, err = listOffsets(ctx, client, topic, parts)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(listed))
	for _, po := range listed {
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// committedOffsets returns the group's committed offset per partition, -1 where it has none.
func committedOffsets(ctx context.Context, client *kafka.Client, group, topic string, parts []int) (map[int]int64, error) {
	out := make(map[int]int64, len(parts))
	for _, p := range parts {
		out[p] = -1
	}
	var res *kafka.OffsetFetchResponse
	err := retryKafka(ctx, func() (err error) {
		res, err = client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err == nil {
			err = res.Error
		}
		return err
	})
	if errors.Is(err, kafka.GroupIdNotFound) {
		return out, nil // kfake's answer for a group that never committed
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
