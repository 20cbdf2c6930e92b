package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// sweep runs the daemon on a smaller topic at each simulator latency (at the main
// batch.maxNotifications) and at each batch.maxNotifications (at 0 ms), for the chart.
func (b *Bench) sweep(ctx context.Context) error {
	topic, err := b.topic(ctx, "sweep", b.opt.Partitions)
	if err != nil {
		return err
	}
	w := NewWorkload(b.opt.Sessions, b.opt.Seed+3, "s")
	p, err := b.k.Produce(ctx, topic, b.opt.SweepEvents, w.PageView)
	if err != nil {
		return err
	}
	type point struct{ latencyMs, maxNotes int }
	var points []point
	for _, l := range b.opt.SweepLatencies {
		points = append(points, point{l, b.opt.MaxNotifications})
	}
	for _, s := range b.opt.SweepSizes {
		if s != b.opt.MaxNotifications || !slices.Contains(b.opt.SweepLatencies, 0) {
			points = append(points, point{0, s})
		}
	}
	for _, pt := range points {
		b.logf("sweep: %d ms, batch.maxNotifications %d, %d events", pt.latencyMs, pt.maxNotes, p.Count())
		run, err := b.runDaemon(ctx, daemonRun{
			name: fmt.Sprintf("sweep-%dms-max%d", pt.latencyMs, pt.maxNotes), topic: topic,
			latency: time.Duration(pt.latencyMs) * time.Millisecond, maxNotes: pt.maxNotes,
			bound: b.opt.SweepTime, produced: p, partialOK: true,
		})
		if err != nil {
			return err
		}
		b.res.Sweep = append(b.res.Sweep, SweepPoint{LatencyMs: pt.latencyMs, MaxNotifications: pt.maxNotes, Run: *run})
	}
	return nil
}
