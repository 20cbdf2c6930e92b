package demo

import (
	"context"
	"fmt"
	"strconv"

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
	dead, err := admin.ReadAll(ctx, dlqTopic)
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
	if o.End, err = admin.EndOffsets(ctx, topic); err != nil {
		return o, err
	}
	o.Committed, err = admin.Committed(ctx, group, topic)
	return o, err
}
