package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/kafkaread"
)

// Admin is a test bed's administrative view of Kafka: create and delete topics, read them
// back, look at a group's commits. Every call uses a transport of its own and closes it, so
// nothing survives a broker restart in a bad state and no connection outlives the call, and
// retries until ctx ends what Kafka calls temporary and network errors (a broker restarting).
type Admin struct {
	Addr              string // host:port, or a cluster's comma-separated bootstrap list
	ReplicationFactor int    // of the topics it creates; 0 means 1
}

// Client returns a client on a transport of its own; done closes the transport's connections.
func (a Admin) Client() (c *kafka.Client, done func()) {
	tr := &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ClientID:    "notifierd-testbed",
		MetadataTTL: time.Second, // a fresh topic or a moved leader is seen soon
	}
	return &kafka.Client{Addr: kafka.TCP(strings.Split(a.Addr, ",")...), Transport: tr, Timeout: 30 * time.Second}, tr.CloseIdleConnections
}

// Retry is kafkaread.Retry that also waits out network errors and a topic not yet known.
func Retry(ctx context.Context, op func() error) error {
	return kafkaread.RetryIf(ctx, func(err error) bool {
		var nerr net.Error
		return kafkaread.Temporary(err) || errors.As(err, &nerr) || errors.Is(err, io.EOF) ||
			errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, kafka.UnknownTopicOrPartition)
	}, op)
}

// CreateTopic creates topic with the given partitions and configs unless it exists, and
// waits until every partition's leader answers requests, so the topic can be used at once.
func (a Admin) CreateTopic(ctx context.Context, topic string, partitions int, configs ...kafka.ConfigEntry) error {
	c, done := a.Client()
	defer done()
	err := Retry(ctx, func() error {
		res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
			Topic: topic, NumPartitions: partitions, ReplicationFactor: max(a.ReplicationFactor, 1), ConfigEntries: configs,
		}}})
		if err != nil {
			return err
		}
		if err := res.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	// Creation is asynchronous and the broker gives no notification: a real broker publishes
	// the leaders a moment before they serve (NOT_LEADER_OR_FOLLOWER meanwhile).
	err = Retry(ctx, func() error {
		ends, err := endOffsets(ctx, c, topic)
		if err == nil && len(ends) != partitions {
			return fmt.Errorf("topic %s has %d of %d partitions: %w", topic, len(ends), partitions, kafka.LeaderNotAvailable)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("topic %s not ready: %w", topic, err)
	}
	return nil
}

// DeleteTopics deletes the topics (a shared broker should not keep large data sets).
func (a Admin) DeleteTopics(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	c, done := a.Client()
	defer done()
	res, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
	if err != nil {
		return fmt.Errorf("delete topics %s: %w", strings.Join(names, ", "), err)
	}
	var errs []error
	for name, e := range res.Errors {
		if e != nil {
			errs = append(errs, fmt.Errorf("delete topic %s: %w", name, e))
		}
	}
	return errors.Join(errs...)
}

// EndOffsets returns each partition's end offset (high watermark).
func (a Admin) EndOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	c, done := a.Client()
	defer done()
	var out map[int]int64
	err := Retry(ctx, func() (err error) {
		out, err = endOffsets(ctx, c, topic)
		return err
	})
	return out, err
}

func endOffsets(ctx context.Context, c *kafka.Client, topic string) (map[int]int64, error) {
	parts, err := kafkaread.PartitionIDs(ctx, c, topic)
	if err != nil {
		return nil, err
	}
	out, err := kafkaread.EndOffsets(ctx, c, topic, parts)
	if err == nil && len(out) != len(parts) {
		return nil, fmt.Errorf("end offsets of %d of %d partitions of %s: %w", len(out), len(parts), topic, kafka.LeaderNotAvailable)
	}
	return out, err
}

// Total sums a topic's end offsets: the number of messages ever written to it.
func (a Admin) Total(ctx context.Context, topic string) (int64, error) {
	ends, err := a.EndOffsets(ctx, topic)
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, err
}

// Committed returns group's committed offset per partition of topic (-1: none).
func (a Admin) Committed(ctx context.Context, group, topic string) (map[int]int64, error) {
	c, done := a.Client()
	defer done()
	var out map[int]int64
	err := Retry(ctx, func() error {
		parts, err := kafkaread.PartitionIDs(ctx, c, topic)
		if err != nil {
			return err
		}
		out, err = kafkaread.CommittedOffsets(ctx, c, group, topic, parts)
		return err
	})
	return out, err
}

// Lag is the sum over partitions of end offset minus committed offset (nothing committed
// counts from 0).
func (a Admin) Lag(ctx context.Context, group, topic string) (int64, error) {
	ends, err := a.EndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	committed, err := a.Committed(ctx, group, topic)
	if err != nil {
		return 0, err
	}
	var lag int64
	for p, e := range ends {
		lag += e - max(committed[p], 0)
	}
	return lag, nil
}

// ReadAll reads every message of topic up to the end offsets at call time, by partition
// then offset; a broker restart in the middle starts the read again.
func (a Admin) ReadAll(ctx context.Context, topic string) ([]kafka.Message, error) {
	c, done := a.Client()
	defer done()
	var out []kafka.Message
	err := Retry(ctx, func() (err error) {
		out, err = kafkaread.ReadAll(ctx, c, topic)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	return out, nil
}
