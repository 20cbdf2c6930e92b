package chaos

import (
	"context"
	"fmt"

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

// ReadDeadLetters reads the dead-letter topic back; every message must name its source
// topic and explain itself.
func (k kafkaAdmin) ReadDeadLetters(ctx context.Context, dlqTopic, source string) ([]DeadLetter, error) {
	out, err := k.Admin.ReadDeadLetters(ctx, dlqTopic)
	for _, d := range out {
		if d.Topic != source {
			return nil, fmt.Errorf("dead letter of %d/%d names source topic %q, want %q", d.Partition, d.Offset, d.Topic, source)
		}
		if d.Error == "" {
			return nil, fmt.Errorf("dead letter of %d/%d has no %s header", d.Partition, d.Offset, dlq.HeaderError)
		}
	}
	return out, err
}
