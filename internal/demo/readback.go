package demo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/kafkaread"
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
	parts, err := kafkaread.PartitionIDs(ctx, client, topic)
	if err != nil {
		return o, err
	}
	if o.End, err = kafkaread.EndOffsets(ctx, client, topic, parts); err != nil {
		return o, err
	}
	o.Committed, err = kafkaread.CommittedOffsets(ctx, client, group, topic, parts)
	return o, err
}

// readTopic reads every message in topic, from each partition's first offset to its end,
// first waiting out metadata that has not reached the broker answering (kafkaread.ReadAll
// reports a topic it does not see at once).
func readTopic(ctx context.Context, client *kafka.Client, topic string) ([]kafka.Message, error) {
	err := kafkaread.Retry(ctx, func() error {
		_, err := kafkaread.PartitionIDs(ctx, client, topic)
		return err
	})
	if err != nil {
		return nil, err
	}
	return kafkaread.ReadAll(ctx, client, topic)
}
