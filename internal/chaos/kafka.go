package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
)

// kafkaAdmin is the suite's own view of the broker: create topics, read them back, look at
// a group's commits. Every call uses a fresh transport and closes it, so nothing survives a
// broker restart in a bad state, and retries what Kafka calls retriable until ctx ends.
type kafkaAdmin struct {
	addr string
}

func (k kafkaAdmin) client() (*kafka.Client, func()) {
	tr := &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ClientID:    "notifierd-chaos",
		MetadataTTL: time.Second,
	}
	return &kafka.Client{Addr: kafka.TCP(k.addr), Transport: tr, Timeout: 30 * time.Second}, tr.CloseIdleConnections
}

// CreateTopic creates topic with n partitions and waits until every partition serves.
func (k kafkaAdmin) CreateTopic(ctx context.Context, topic string, n int) error {
	c, closeFn := k.client()
	defer closeFn()
	err := retry(ctx, func() error {
		res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: n, ReplicationFactor: 1}}})
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
	parts, err := partitions(ctx, c, topic)
	if err != nil {
		return nil, err
	}
	reqs := make([]kafka.OffsetRequest, 0, len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(parts))
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, po.Error
		}
		out[po.Partition] = po.LastOffset
	}
	if len(out) != len(parts) {
		return nil, kafka.LeaderNotAvailable
	}
	return out, nil
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
		parts, err := partitions(ctx, c, topic)
		if err != nil {
			return err
		}
		res, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err != nil {
			return err
		}
		if res.Error != nil {
			return res.Error
		}
		out = make(map[int]int64, len(parts))
		for _, p := range parts {
			out[p] = -1
		}
		for _, p := range res.Topics[topic] {
			if p.Error != nil {
				return p.Error
			}
			out[p.Partition] = p.CommittedOffset
		}
		return nil
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

// ReadAll reads every message of topic up to the end offsets at call time.
func (k kafkaAdmin) ReadAll(ctx context.Context, topic string) ([]kafka.Message, error) {
	ends, err := k.EndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	c, closeFn := k.client()
	defer closeFn()
	var out []kafka.Message
	for p, end := range ends {
		for next := int64(0); next < end; {
			var res *kafka.FetchResponse
			err := retry(ctx, func() (err error) {
				res, err = c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: next, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond})
				if err == nil {
					err = res.Error
				}
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("read %s/%d at %d: %w", topic, p, next, err)
			}
			progressed := false
			for {
				rec, err := res.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, fmt.Errorf("read %s/%d at %d: %w", topic, p, next, err)
				}
				if rec.Offset < next || rec.Offset >= end {
					continue
				}
				key, _ := kafka.ReadAll(rec.Key)
				value, _ := kafka.ReadAll(rec.Value)
				out = append(out, kafka.Message{Topic: topic, Partition: p, Offset: rec.Offset, Key: key, Value: value, Headers: rec.Headers, Time: rec.Time})
				next = rec.Offset + 1
				progressed = true
			}
			if !progressed {
				return nil, fmt.Errorf("read %s/%d: no records at offset %d below the end %d", topic, p, next, end)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out, nil
}

// ReadProduced reads the events topic back as the accounting needs it.
func (k kafkaAdmin) ReadProduced(ctx context.Context, topic string) ([]Produced, error) {
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

func partitions(ctx context.Context, c *kafka.Client, topic string) ([]int, error) {
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, t.Error
		}
		ids := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			if p.Error != nil {
				return nil, p.Error
			}
			ids = append(ids, p.ID)
		}
		sort.Ints(ids)
		return ids, nil
	}
	return nil, kafka.UnknownTopicOrPartition
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
