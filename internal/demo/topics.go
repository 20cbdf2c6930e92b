package demo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

// kafkaPause is how long the Kafka helpers wait between attempts while a broker settles
// (topic creation propagating, leaders electing): brokers give no notification for those.
const kafkaPause = 50 * time.Millisecond

// createTopic creates topic with the given partitions unless it exists, and waits until every
// partition's leader answers requests.
func createTopic(ctx context.Context, client *kafka.Client, topic string, partitions int) error {
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	if err := res.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return retryKafka(ctx, func() error {
		ids, err := partitionIDs(ctx, client, topic)
		if err != nil {
			return err
		}
		if len(ids) != partitions {
			return fmt.Errorf("topic %s has %d of %d partitions: %w", topic, len(ids), partitions, kafka.LeaderNotAvailable)
		}
		_, err = listOffsets(ctx, client, topic, ids)
		return err
	})
}

// partitionIDs lists topic's partitions, sorted.
func partitionIDs(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
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

// listOffsets returns the first and end offsets of topic's partitions.
func listOffsets(ctx context.Context, client *kafka.Client, topic string, partitions []int) ([]kafka.PartitionOffsets, error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*len(partitions))
	for _, p := range partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	out := res.Topics[topic]
	for _, po := range out {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
	}
	if len(out) != len(partitions) {
		return nil, fmt.Errorf("list offsets of %s: %d of %d partitions: %w", topic, len(out), len(partitions), kafka.LeaderNotAvailable)
	}
	return out, nil
}

// retryKafka runs op until it succeeds, fails with an error Kafka does not call temporary, or
// ctx ends.
func retryKafka(ctx context.Context, op func() error) error {
	for {
		err := op()
		var kerr kafka.Error
		if err == nil || !errors.As(err, &kerr) || !kerr.Temporary() {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still failing when %w)", err, ctx.Err())
		case <-time.After(kafkaPause):
		}
	}
}
