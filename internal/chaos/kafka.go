package chaos

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/testbed"
)

// kafkaAdmin is the suite's view of the broker: testbed.Admin, plus reading the events and
// dead-letter topics back as the accounting needs them.
type kafkaAdmin struct {
	testbed.Admin
	// readProduced, when set, is what ReadProduced reads through: for a scenario whose events
	// topic the plain read cannot account for (transactions, records removed by DeleteRecords).
	readProduced func(ctx context.Context, topic string) ([]Produced, error)
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
		p := Produced{Partition: m.Partition, Offset: m.Offset, ID: dlq.Header(m, HeaderID), Expect: dlq.Header(m, HeaderExpect)}
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
		if t := dlq.Header(m, dlq.HeaderTopic); t != source {
			return nil, fmt.Errorf("dead letter %d/%d names source topic %q, want %q", m.Partition, m.Offset, t, source)
		}
		p, err1 := strconv.Atoi(dlq.Header(m, dlq.HeaderPartition))
		o, err2 := strconv.ParseInt(dlq.Header(m, dlq.HeaderOffset), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("dead letter %d/%d: bad source headers: %w", m.Partition, m.Offset, err)
		}
		if dlq.Header(m, dlq.HeaderError) == "" {
			return nil, fmt.Errorf("dead letter %d/%d (source %d/%d) has no %s header", m.Partition, m.Offset, p, o, dlq.HeaderError)
		}
		out = append(out, DeadLetter{Partition: p, Offset: o, Reason: dlq.Header(m, dlq.HeaderReason)})
	}
	return out, nil
}
