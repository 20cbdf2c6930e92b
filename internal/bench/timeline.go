package bench

import (
	"context"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Sample is a run's state at one moment.
type Sample struct {
	At       time.Duration // since the run's start
	Acked    int64         // distinct notifications the simulator acknowledged so far
	InFlight float64       // notifierd_requests_in_flight
	Limit    float64       // notifierd_target_concurrency_limit (the bench has one edge)
}

// faultStep sets the simulator's faults at an offset from the run's start.
type faultStep struct {
	at     time.Duration
	faults targetsim.Faults
}

// sampleEvery is the timeline's resolution: fine enough to see a limit fall within 2 s.
const sampleEvery = 100 * time.Millisecond

// sampleTimeline samples the run until ctx ends, applying each fault step when it is due,
// and sends the samples when done. The first step's faults replace the simulator's latency,
// so each step carries the latency too.
func sampleTimeline(ctx context.Context, d *testbed.Notifierd, sim *testbed.SimServer, start time.Time, steps []faultStep) <-chan []Sample {
	out := make(chan []Sample, 1)
	go func() {
		var samples []Sample
		defer func() { out <- samples }()
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			at := time.Since(start)
			for len(steps) > 0 && steps[0].at <= at {
				sim.SetFaults(steps[0].faults)
				steps = steps[1:]
			}
			s := Sample{At: at, Acked: sim.Stats().Unique}
			if m, err := d.Metrics(ctx); err == nil {
				s.InFlight, s.Limit = m["notifierd_requests_in_flight"], m["notifierd_target_concurrency_limit"]
			}
			samples = append(samples, s)
		}
	}()
	return out
}

// RateAt is the acknowledgements per second over the window (from-window, from], from the
// samples; 0 when the samples do not cover it.
func RateAt(samples []Sample, from, window time.Duration) float64 {
	var a, b *Sample
	for i := range samples {
		s := &samples[i]
		if a == nil && s.At >= from-window {
			a = s
		}
		if s.At <= from {
			b = s
		}
	}
	if a == nil || b == nil || b.At <= a.At {
		return 0
	}
	return float64(b.Acked-a.Acked) / (b.At - a.At).Seconds()
}
