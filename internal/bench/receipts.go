package bench

import (
	"context"
	"fmt"
)

// ReceiptsRun is a 0 ms drain of the latency data set with kafka.receiptsTopic off or on.
type ReceiptsRun struct {
	On      bool
	Run     DaemonRun
	Written int64 // records in the receipts topic after the run
}

// receiptsRuns measures what receipts cost: the same drain with the receipts topic off, then
// on, back to back so the machine's noise touches both alike.
func (b *Bench) receiptsRuns(ctx context.Context) error {
	topic, p, err := b.latencyData(ctx)
	if err != nil {
		return err
	}
	for _, on := range []bool{false, true} {
		name, receipts := "receipts-off", ""
		if on {
			name = "receipts-on"
			if receipts, err = b.topic(ctx, "receipts", 3); err != nil {
				return err
			}
		}
		b.logf("notifierd, 0 ms, receipts %s: %d events", map[bool]string{false: "off", true: "on"}[on], p.Count())
		run, err := b.runDaemon(ctx, daemonRun{name: name, topic: topic, bound: b.opt.SweepTime, produced: p, partialOK: true, receiptsTopic: receipts})
		if err != nil {
			return err
		}
		rr := ReceiptsRun{On: on, Run: *run}
		if on {
			if rr.Written, err = b.k.Total(ctx, receipts); err != nil {
				return fmt.Errorf("counting the receipts: %w", err)
			}
		}
		b.res.Receipts = append(b.res.Receipts, rr)
	}
	return nil
}
