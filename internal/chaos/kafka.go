package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/kafkaread"
)

// kafkaAdmin is the suite's own view of the broker: create topics, read them back, look at
// a group's commits. Every call uses a fresh transport and closes it, so nothing survives a
// broker restart in a bad state, and retries what Kafka calls retriable until ctx ends.
type kafkaAdmin struct {
	addr string // host:port, or a comma-separated bootstrap list
	rf   int    // replication factor of the topics it creates; 0 means 1
	// readProduced, when set, is what ReadProduced reads through: for a scenario whose events
	// topic the plain read cannot account for (transactions, records removed by DeleteRecords).
	readProduced func(ctx context.Context, topic string) ([]Produced, error)
}

func (k kafkaAdmin) client() (*kafka.Client, func()) {
	tr := &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ClientID:    "notifierd-chaos",
		MetadataTTL: time.Second,
	}
	return &kafka.Client{Addr: kafka.TCP(strings.Split(k.addr, ",")...), Transport: tr, Timeout: 30 * time.Second}, tr.CloseIdleConnections
}

// CreateTopic creates topic with n partitions and waits until every partition serves.
func (k kafkaAdmin) CreateTopic(ctx context.Context, topic string, n int) error {
	c, closeFn := k.client()
	defer closeFn()
	err := retry(ctx, func() error {
		res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: n, ReplicationFactor: max(k.rf, 1)}}})
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
	return retry(ctx, func() error {
		ends, err := k.endOffsets(ctx, c, topic)
		if err == nil && len(ends) != n {
			return kafka.LeaderNotAvailable // still propagating: retriable
		}
		return err
	})
}

// EndOffsets returns each partition's end offset (high watermark).
func (k kafkaAdmin) EndOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	c, closeFn := k.client()
	defer closeFn()
	var out map[int]int64
	err := retry(ctx, func() (err error) {
		out, err = k.endOffsets(ctx, c, topic)
		return err
	})
	return out, err
}

func (k kafkaAdmin) endOffsets(ctx context.Context, c *kafka.Client, topic string) (map[int]int64, error) {
	parts, err := kafkaread.PartitionIDs(ctx, c, topic)
	if err != nil {
		return nil, err
	}
	out, err := kafkaread.EndOffsets(ctx, c, topic, parts)
	if err == nil && len(out) != len(parts) {
		return nil, kafka.LeaderNotAvailable // still propagating: retriable
	}
	return out, err
}

// Total sums a topic's end offsets: the number of messages ever written to it.
func (k kafkaAdmin) Total(ctx context.Context, topic string) (int64, error) {
	ends, err := k.EndOffsets(ctx, topic)
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, err
}

// Committed returns group's committed offset per partition of topic (-1: none).
func (k kafkaAdmin) Committed(ctx context.Context, group, topic string) (map[int]int64, error) {
	c, closeFn := k.client()
	defer closeFn()
	var out map[int]int64
	err := retry(ctx, func() error {
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
func (k kafkaAdmin) Lag(ctx context.Context, group, topic string) (int64, error) {
	ends, err := k.EndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	committed, err := k.Committed(ctx, group, topic)
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
func (k kafkaAdmin) ReadAll(ctx context.Context, topic string) ([]kafka.Message, error) {
	c, closeFn := k.client()
	defer closeFn()
	var out []kafka.Message
	err := retry(ctx, func() (err error) {
		out, err = kafkaread.ReadAll(ctx, c, topic)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	return out, nil
}

// ReadProduced reads the events topic back as the accounting needs it.
func (k kafkaAdmin) ReadProduced(ctx context.Context, topic string) ([]Produced, error) {
	if k.readProduced != nil {
		return k.readProduced(ctx, topic)
	}
	msgs, err := k.ReadAll(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make([]Produced, 0, len(msgs))
	for _, m := range msgs {
		p := Produced{Partition: m.Partition, Offset: m.Offset, ID: header(m, HeaderID), Expect: header(m, HeaderExpect)}
		if p.ID == "" || p.Expect == "" {
			return nil, fmt.Errorf("%s/%d/%d has no %s/%s header: not produced by the suite", topic, m.Partition, m.Offset, HeaderID, HeaderExpect)
		}
		out = append(out, p)
	}
	return out, nil
}

// ReadDeadLetters reads the dead-letter topic back; every message must name its source.
func (k kafkaAdmin) ReadDeadLetters(ctx context.Context, dlqTopic, source string) ([]DeadLetter, error) {
	msgs, err := k.ReadAll(ctx, dlqTopic)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		if t := header(m, dlq.HeaderTopic); t != source {
			return nil, fmt.Errorf("dead letter %d/%d names source topic %q, want %q", m.Partition, m.Offset, t, source)
		}
		p, err1 := strconv.Atoi(header(m, dlq.HeaderPartition))
		o, err2 := strconv.ParseInt(header(m, dlq.HeaderOffset), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("dead letter %d/%d: bad source headers: %w", m.Partition, m.Offset, err)
		}
		if header(m, dlq.HeaderError) == "" {
			return nil, fmt.Errorf("dead letter %d/%d (source %d/%d) has no %s header", m.Partition, m.Offset, p, o, dlq.HeaderError)
		}
		out = append(out, DeadLetter{Partition: p, Offset: o, Reason: header(m, dlq.HeaderReason)})
	}
	return out, nil
}

func header(m kafka.Message, name string) string {
	for _, h := range m.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

// retry runs op until it succeeds or fails with an error Kafka does not call temporary, or
// ctx ends; network errors count as temporary (the broker may be restarting).
func retry(ctx context.Context, op func() error) error {
	for {
		err := op()
		if err == nil {
			return nil
		}
		var kerr kafka.Error
		var nerr net.Error
		temporary := (errors.As(err, &kerr) && kerr.Temporary()) || errors.As(err, &nerr) ||
			errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, kafka.UnknownTopicOrPartition)
		if !temporary || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still failing when the bound was reached)", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
