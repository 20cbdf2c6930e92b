package demo

import (
	"context"
	"fmt"

	"github.com/notifierd/notifierd/internal/testbed"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Receipts is what the demo's receipts topic says (kafka.receiptsTopic is on in the demo).
type Receipts struct {
	Topic     string
	ByOutcome map[string]int // distinct source offsets with a receipt, by outcome
	// Unreceipted counts committed offsets without a receipt: always 0, since notifierd
	// writes each receipt before the commit that passes its offset.
	Unreceipted int
	Samples     map[string]string // one record per outcome, as written
}

// readReceipts reads the receipts topic and holds it against the committed offsets.
func readReceipts(ctx context.Context, admin testbed.Admin, topic string, o Outcomes) (Receipts, error) {
	r := Receipts{Topic: topic, ByOutcome: map[string]int{}, Samples: map[string]string{}}
	msgs, err := admin.ReadAll(ctx, topic)
	if err != nil {
		return r, err
	}
	type source struct {
		partition int
		offset    int64
	}
	seen := map[source]bool{}
	for _, m := range msgs {
		rc, err := notify.DecodeReceipt(m.Value)
		if err != nil {
			return r, fmt.Errorf("receipt at %d/%d: %w", m.Partition, m.Offset, err)
		}
		if _, ok := r.Samples[rc.Outcome]; !ok {
			r.Samples[rc.Outcome] = string(m.Value)
		}
		s := source{rc.Source.Partition, rc.Source.Offset}
		if !seen[s] {
			seen[s] = true
			r.ByOutcome[rc.Outcome]++
		}
	}
	for _, m := range o.Topic {
		if c, ok := o.Committed[m.Partition]; ok && m.Offset < c && !seen[source{m.Partition, m.Offset}] {
			r.Unreceipted++
		}
	}
	return r, nil
}
