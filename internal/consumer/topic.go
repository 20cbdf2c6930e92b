package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// partitionWatchInterval is how often a generation checks the topic's partitions.
const partitionWatchInterval = 5 * time.Second

// errNoTopic says the events topic is missing or has no partitions.
var errNoTopic = errors.New("no partitions to consume")

// topicState is what the member knows of the events topic, for /readyz.
type topicState struct {
	mu  sync.Mutex
	err error // nil: the topic has partitions (or nothing is known yet)
}

func (s *topicState) problem() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// set records err and tells whether it is news (a problem appearing, changing or ending).
func (s *topicState) set(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	news := (s.err == nil) != (err == nil) || (err != nil && err.Error() != s.err.Error())
	s.err = err
	return news
}

// waitForTopic returns once the topic has partitions, or false when ctx ended first. Joining
// before would let kafka-go's group leader create the topic: it asks for the topic's
// partitions allowing auto-creation, and a broker with auto.create.topics.enable (Kafka's
// default) then makes it with the broker's default partition count.
func (c *Consumer) waitForTopic(ctx context.Context) bool {
	return c.pollTopic(ctx, consumerTopicPoll, func(n int) bool { return n > 0 })
}

// consumerTopicPoll is how often a member waiting for its topic looks again, in the
// transport's metadata, which is itself refreshed every few seconds.
const consumerTopicPoll = 2 * time.Second

// watchPartitions runs in every generation. A topic that is missing or has no partitions is
// reported once (log and /readyz) instead of being consumed silently as nothing; when the
// number of partitions changes (partitions added, the topic recreated) it ends the
// generation, so the group rebalances and the partitions are assigned. A topic gone (0) is
// reported, not rejoined for: kafka-go's group leader would create it again, with the
// broker's defaults, while reading its partitions.
func (c *Consumer) watchPartitions(ctx context.Context) {
	seen := -1
	c.pollTopic(ctx, partitionWatchInterval, func(n int) bool {
		if seen >= 0 && n > 0 && n != seen {
			c.log.Info("the topic's partitions changed; rejoining the group to have them assigned",
				zap.String("topic", c.cfg.Topic), zap.Int("before", seen), zap.Int("now", n))
			return true
		}
		if n > 0 {
			seen = n
		}
		return false
	})
}

// pollTopic reads the topic's partition count every interval and records what it says for
// /readyz, logging each change once, until done(count) holds (it returns true) or ctx ends
// (false). Counts the metadata could not give are skipped.
func (c *Consumer) pollTopic(ctx context.Context, interval time.Duration, done func(partitions int) bool) bool {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		n, err := c.partitions(ctx)
		if ctx.Err() != nil {
			return false
		}
		switch {
		case err != nil && !errors.Is(err, errNoTopic):
			c.log.Debug("checking the topic's partitions", zap.String("topic", c.cfg.Topic), zap.Error(err))
		default:
			if c.topic.set(err) {
				if err != nil {
					c.log.Warn("nothing to consume; waiting for the topic's partitions", zap.String("topic", c.cfg.Topic), zap.Error(err))
				} else {
					c.log.Info("topic has partitions", zap.String("topic", c.cfg.Topic), zap.Int("partitions", n))
				}
			}
			if done(n) {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-ticker.C:
		}
	}
}

// partitions counts the topic's partitions in the transport's metadata; errNoTopic when it
// has none or does not exist.
func (c *Consumer) partitions(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	res, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{c.cfg.Topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata of topic %s: %w", c.cfg.Topic, err)
	}
	for _, t := range res.Topics {
		if t.Name != c.cfg.Topic {
			continue
		}
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return 0, fmt.Errorf("topic %s does not exist: %w", c.cfg.Topic, errNoTopic)
		}
		if t.Error != nil {
			return 0, fmt.Errorf("metadata of topic %s: %w", c.cfg.Topic, t.Error)
		}
		if len(t.Partitions) == 0 {
			return 0, fmt.Errorf("topic %s has no partitions: %w", c.cfg.Topic, errNoTopic)
		}
		return len(t.Partitions), nil
	}
	return 0, fmt.Errorf("topic %s does not exist: %w", c.cfg.Topic, errNoTopic)
}
