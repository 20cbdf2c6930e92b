package bench

import (
	"context"
	"fmt"
	"time"
)

// e2e measures notifierd at one simulator latency: a backlog drain of the main topic
// (throughput, CPU, requests, peak RSS), then, for latency, runs at paced produce rates below
// saturation (PacedFractions of the drain rate), each on a fresh topic.
func (b *Bench) e2e(ctx context.Context, latencyMs int) error {
	latency := time.Duration(latencyMs) * time.Millisecond
	b.logf("notifierd, %d ms simulator latency: draining %d events", latencyMs, b.mainData.Count())
	drain, err := b.runDaemon(ctx, daemonRun{
		name: fmt.Sprintf("e2e-%dms-drain", latencyMs), topic: b.main, latency: latency,
		bound: b.opt.RunTimeout, produced: b.mainData, profile: latencyMs == 0,
	})
	if err != nil {
		return err
	}
	run := E2ERun{LatencyMs: latencyMs, Drain: *drain}
	defer func() { b.res.E2E = append(b.res.E2E, run) }()

	for i, frac := range b.opt.PacedFractions {
		rate := drain.Rate() * frac
		if rate < 1 {
			return fmt.Errorf("no paced run: drain rate %.0f/s", drain.Rate())
		}
		name := fmt.Sprintf("e2e-%dms-paced%.0f", latencyMs, frac*100)
		topic, err := b.topic(ctx, fmt.Sprintf("paced-%dms-%.0f", latencyMs, frac*100), b.opt.Partitions)
		if err != nil {
			return err
		}
		w := NewWorkload(b.opt.Sessions, b.opt.Seed+uint64(100*latencyMs+i)+1, fmt.Sprintf("p%d.%d-", latencyMs, i))
		b.logf("notifierd, %d ms simulator latency: paced at %.0f events/s (%.0f %% of the drain rate) for %s", latencyMs, rate, frac*100, b.opt.PacedDuration)
		paced, err := b.runDaemon(ctx, daemonRun{
			name: name, topic: topic, latency: latency,
			bound: b.opt.PacedDuration + b.opt.RunTimeout,
			pace: func(ctx context.Context) (*Produced, error) {
				return b.k.ProducePaced(ctx, topic, rate, b.opt.PacedDuration, w.PageView)
			},
		})
		if err != nil {
			return err
		}
		paced.ProduceRate, paced.PacedFraction = rate, frac
		run.Paced = append(run.Paced, *paced)
	}
	return nil
}
