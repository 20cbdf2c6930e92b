package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/notifierd/notifierd/pkg/notify"
)

// receiptsCheck holds what the receipts topic must cover: snapshots taken after kills, each
// of the group's committed offsets and then of the receipts topic's end offsets. A receipt
// is written before the commit that passes its event's offset, so the receipts below each
// snapshot's ends must cover every event below its committed offsets.
type receiptsCheck struct {
	topic string
	snaps []receiptsSnapshot
}

type receiptsSnapshot struct {
	committed, receiptsEnd map[int]int64
}

// useReceipts turns kafka.receiptsTopic on for the bed's daemons.
func (b *Bed) useReceipts(ctx context.Context) (*receiptsCheck, error) {
	topic := b.Topic + "-receipts"
	if err := b.Kafka.CreateTopic(ctx, topic, 3); err != nil {
		return nil, err
	}
	b.Config.Kafka.ReceiptsTopic = topic
	return &receiptsCheck{topic: topic}, nil
}

// snapshot records the committed offsets, then the receipts written by then.
func (c *receiptsCheck) snapshot(ctx context.Context, b *Bed) error {
	committed, err := b.Kafka.Committed(ctx, b.Group, b.Topic)
	if err != nil {
		return err
	}
	end, err := b.Kafka.EndOffsets(ctx, c.topic)
	if err != nil {
		return err
	}
	c.snaps = append(c.snaps, receiptsSnapshot{committed: committed, receiptsEnd: end})
	return nil
}

// verify fails the result for every committed event whose receipt was not in the topic by
// the snapshot, and notes what it checked.
func (c *receiptsCheck) verify(ctx context.Context, b *Bed) error {
	receipts, err := b.Kafka.ReadAll(ctx, c.topic)
	if err != nil {
		return err
	}
	events, err := b.Kafka.ReadAll(ctx, b.Topic)
	if err != nil {
		return err
	}
	type pos struct {
		partition int
		offset    int64
	}
	// Where each event's receipts sit in the receipts topic (a retried write may add one).
	at := map[pos][]pos{}
	for _, m := range receipts {
		r, err := notify.DecodeReceipt(m.Value)
		if err != nil {
			return fmt.Errorf("receipt at %d/%d: %w", m.Partition, m.Offset, err)
		}
		src := pos{r.Source.Partition, r.Source.Offset}
		at[src] = append(at[src], pos{m.Partition, m.Offset})
	}
	missing, checked := 0, 0
	var examples []string
	for i, s := range c.snaps {
		for _, m := range events {
			if m.Offset >= s.committed[m.Partition] {
				continue
			}
			checked++
			if slices.ContainsFunc(at[pos{m.Partition, m.Offset}], func(p pos) bool { return p.offset < s.receiptsEnd[p.partition] }) {
				continue
			}
			if missing++; len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("%d/%d committed at snapshot %d", m.Partition, m.Offset, i+1))
			}
		}
	}
	if missing > 0 {
		b.Result.Fail("%d committed offset(s) without their receipt written before the commit, e.g. %s", missing, strings.Join(examples, ", "))
		return nil
	}
	b.Result.Note("receipts: %d snapshots after kills, %d committed offsets checked, each with its receipt written before the commit (%d receipts in the topic)", len(c.snaps), checked, len(receipts))
	return nil
}
