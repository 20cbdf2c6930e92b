package demo

import (
	"context"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/testbed"
)

// readBack is what the accounting needs from Kafka once notifierd has stopped: where every
// message of the events topic sits, what the dead-letter topic holds, and how far the group
// committed.
func readBack(ctx context.Context, admin testbed.Admin, topic, dlqTopic, group string) (Outcomes, error) {
	var o Outcomes
	events, err := admin.ReadAll(ctx, topic)
	if err != nil {
		return o, err
	}
	for _, m := range events {
		o.Topic = append(o.Topic, Located{ID: dlq.Header(m, HeaderID), Partition: m.Partition, Offset: m.Offset})
	}
	if o.DeadLetters, err = admin.ReadDeadLetters(ctx, dlqTopic); err != nil {
		return o, err
	}
	if o.End, err = admin.EndOffsets(ctx, topic); err != nil {
		return o, err
	}
	o.Committed, err = admin.Committed(ctx, group, topic)
	return o, err
}
