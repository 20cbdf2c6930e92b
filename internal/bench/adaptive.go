package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// latencyData is the data set of the latency and TLS runs: one topic produced once, in the
// workload's shape, drained from the start by each run's own group.
func (b *Bench) latencyData(ctx context.Context) (string, *Produced, error) {
	if b.latencyTopic != "" {
		return b.latencyTopic, b.latencyProduced, nil
	}
	topic, err := b.topic(ctx, "latency", b.opt.Partitions)
	if err != nil {
		return "", nil, err
	}
	w := NewWorkload(b.opt.Sessions, b.opt.Seed+7, "l")
	p, err := b.k.Produce(ctx, topic, b.opt.LatencyEvents, w.PageView)
	if err != nil {
		return "", nil, err
	}
	b.latencyTopic, b.latencyProduced = topic, p
	return topic, p, nil
}

// latencyPoints drains the same data set at each simulator latency: over plain HTTP/1.1 with
// limits held static at staticConcurrency (notifierd before adaptive concurrency) and
// adapting per edge; then adapting over HTTPS with the default protocol, HTTP/2, as Target
// is reached, there and back; then adapting over plain HTTP/1.1 again, back. Each latency's
// two adaptive runs over a protocol thus sit symmetrically around the middle of the step.
func (b *Bench) latencyPoints(ctx context.Context) error {
	topic, p, err := b.latencyData(ctx)
	if err != nil {
		return err
	}
	var passes []LatencyPoint
	for _, ms := range b.opt.LatencyPoints {
		passes = append(passes, LatencyPoint{LatencyMs: ms, Static: true}, LatencyPoint{LatencyMs: ms})
	}
	for _, ms := range b.opt.LatencyPoints {
		passes = append(passes, LatencyPoint{LatencyMs: ms, TLS: true})
	}
	for _, ms := range slices.Backward(b.opt.LatencyPoints) {
		passes = append(passes, LatencyPoint{LatencyMs: ms, TLS: true, Repeat: true})
	}
	for _, ms := range slices.Backward(b.opt.LatencyPoints) {
		passes = append(passes, LatencyPoint{LatencyMs: ms, Repeat: true})
	}
	for _, pt := range passes {
		b.logf("latency: %d ms, %s, %s limits, %d events", pt.LatencyMs, pt.Protocol(), pt.Mode(), p.Count())
		name := fmt.Sprintf("latency-%dms-adaptive", pt.LatencyMs)
		if pt.Static {
			name = fmt.Sprintf("latency-%dms-static", pt.LatencyMs)
		}
		if pt.TLS {
			name += "-h2"
		}
		if pt.Repeat {
			name += "-2"
		}
		run := daemonRun{
			name: name, topic: topic,
			latency: time.Duration(pt.LatencyMs) * time.Millisecond, static: pt.Static,
			bound: b.opt.SweepTime, produced: p, partialOK: true, timeline: true,
		}
		if pt.TLS {
			if run.tls, err = newSimTLS(filepath.Join(b.dir, name), false); err != nil {
				return err
			}
		}
		measured, err := b.runDaemon(ctx, run)
		if err != nil {
			return err
		}
		pt.Run = *measured
		b.res.Latency = append(b.res.Latency, pt)
	}
	return nil
}

// Storm timing: delivery settles first, the storm lasts stormLength, and the run goes on
// long enough to see the recovery.
const (
	stormStart   = 8 * time.Second
	stormLength  = 5 * time.Second
	stormRunTime = 30 * time.Second
)

// storms drains the main topic at StormLatency while the simulator answers everything with
// 429 (with Retry-After, as Target does), and then with 503, for stormLength.
func (b *Bench) storms(ctx context.Context) error {
	latency := b.opt.StormLatency
	normal := latencyOnly(latency)
	kinds := []struct {
		name   string
		faults targetsim.Faults
	}{
		{"429 storm", targetsim.Faults{LatencyMin: latency, LatencyMax: latency, ThrottleRate: 1, RetryAfter: time.Second}},
		{"5xx burst", targetsim.Faults{LatencyMin: latency, LatencyMax: latency, ErrorRate: 1, ErrorStatus: 503}},
	}
	for i, k := range kinds {
		b.logf("storm: %s from %s for %s at %s", k.name, stormStart, stormLength, latency)
		run, err := b.runDaemon(ctx, daemonRun{
			name: fmt.Sprintf("storm-%d", i), topic: b.main, latency: latency,
			bound: stormRunTime, produced: b.mainData, partialOK: true,
			faults: []faultStep{{stormStart, k.faults}, {stormStart + stormLength, normal}},
		})
		if err != nil {
			return err
		}
		b.res.Storms = append(b.res.Storms, StormRun{Kind: k.name, Start: stormStart, Length: stormLength, LatencyMs: int(latency / time.Millisecond), Run: *run})
	}
	return nil
}
