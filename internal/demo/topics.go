package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/kafkaread"
)

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
	return kafkaread.Retry(ctx, func() error {
		ids, err := kafkaread.PartitionIDs(ctx, client, topic)
		if err != nil {
			return err
		}
		if len(ids) != partitions {
			return fmt.Errorf("topic %s has %d of %d partitions: %w", topic, len(ids), partitions, kafka.LeaderNotAvailable)
		}
		_, err = kafkaread.ListOffsets(ctx, client, topic, ids)
		return err
	})
}
