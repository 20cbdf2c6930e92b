package chaos

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario 6: memory during a long outage. notifierd runs with a small buffer
// (batch.maxBufferedBytes 8 MiB, batch.maxBufferedEvents 20000) while Target answers 503 to
// everything and far more traffic than that arrives (1 KiB of parameters per event, so the
// byte bound is the one that binds). Its resident memory must stay under the buffer bound
// plus a fixed overhead, consumption must pause (the consumed counter stops, the lag in
// Kafka grows), and once the outage ends everything must be delivered.
var memoryScenario = Scenario{
	Name: "memory", Title: "memory during a long outage (8 MiB buffer)",
	Short: 3 * time.Minute, Full: 8 * time.Minute,
	Run: runMemory,
}

const (
	memoryBufferedBytes  = 8 << 20
	memoryBufferedEvents = 20000
	memoryPadding        = 1000 // bytes of parameters per event
	// memoryOverhead is what notifierd may hold beyond batch.maxBufferedBytes. The budget
	// counts an event's whole footprint (rendering, original key and value, bookkeeping), so
	// the overhead is what no budget can count:
	//   - the idle process, 15-20 MiB resident (Go runtime, the binary, kafka-go, net/http,
	//     Prometheus), measured and reported as the baseline;
	//   - Go's collector lets the heap grow to twice the live data before it collects
	//     (GOGC=100, set here; see below), and hands freed pages back to the OS lazily, so a
	//     full 8 MiB buffer plus the garbage of decoding and rendering reads as up to ~20 MiB;
	//   - fetched results: per assigned partition one being handed on and, while the buffer
	//     has room, one fetched ahead, each of at most batch.maxBufferedBytes / (2 × 12
	//     partitions) here (kafka.maxFetchBytes caps it at larger buffers), so at most the
	//     buffer's size again, plus the response being decoded;
	//   - requests in flight while the backlog drains (up to target.maxConcurrency bodies).
	// 64 MiB covers that with some room at this buffer size; a leak or an unbounded buffer
	// (the backlog here is 38-130 MiB of message values) goes through it.
	memoryOverhead = 64 << 20
)

func runMemory(ctx context.Context, b *Bed) error {
	c := &b.Config
	c.Batch.MaxBufferedBytes, c.Batch.MaxBufferedEvents = memoryBufferedBytes, memoryBufferedEvents
	c.Target.Retry.MaxInterval = 2 * time.Second // hundreds of sessions retrying: keep the 503s at a few hundred a second
	b.Work.padding = memoryPadding
	b.Work.sessions = 500
	b.Result.RSSBound = memoryBufferedBytes + memoryOverhead
	// notifierd's own pacing (daemon.GCPercent, 400) lets the heap grow to five times the live
	// data, under a soft limit of the buffer + 256 MiB: fine in production, but a leak of
	// tens of MiB would hide under it. At Go's default the bound above stays tight.
	b.Env = []string{"GOGC=100"}
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{OutageUntil: time.Now().Add(time.Hour)}); err != nil {
		return err
	}
	n, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	baseline := n.PeakRSS()
	outageStart := time.Now()

	// Sample the metrics throughout the outage.
	type sample struct {
		at                               time.Time
		consumed, events, bytesBuf, heap float64
	}
	var samples []sample
	record := func() {
		if m, err := n.Metrics(ctx); err == nil {
			samples = append(samples, sample{time.Now(), m["notifierd_events_consumed_total"], m["notifierd_buffered_events"], m["notifierd_buffered_bytes"], m["go_memstats_heap_inuse_bytes"]})
		}
	}

	total := b.count(30000, 100000)
	var msgs []Msg
	for range total {
		msgs = append(msgs, b.Work.Good())
	}
	valueBytes := 0
	for _, m := range msgs {
		valueBytes += len(m.Value)
	}
	for chunk := range slices.Chunk(msgs, 2000) {
		if err := b.Produce(ctx, chunk); err != nil {
			return err
		}
		record()
	}
	msgs = nil
	b.Logf("produced %d events (%.0f MiB of values) into the outage", total, float64(valueBytes)/(1<<20))
	hold := b.pick(8*time.Second, 30*time.Second)
	holdStart := time.Now()
	for time.Since(holdStart) < hold {
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		record()
	}
	lag, err := b.Kafka.Lag(ctx, b.Group, b.Topic)
	if err != nil {
		return err
	}
	peakDuring := n.PeakRSS()
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{}); err != nil {
		return err
	}
	outageEnd := time.Now()
	b.Logf("outage over after %s; lag %d", outageEnd.Sub(outageStart).Round(time.Second), lag)

	if len(samples) < 4 {
		return fmt.Errorf("only %d metric samples during the outage", len(samples))
	}
	var maxEvents, maxBytes, maxHeap float64
	for _, s := range samples {
		maxEvents, maxBytes, maxHeap = max(maxEvents, s.events), max(maxBytes, s.bytesBuf), max(maxHeap, s.heap)
	}
	last := samples[len(samples)-1]
	// The consumed counter a few seconds before the end of the hold.
	mid := samples[0]
	for _, s := range samples {
		if last.at.Sub(s.at) >= 4*time.Second {
			mid = s
		}
	}

	at, err := b.Settle(ctx)
	if err != nil {
		return err
	}
	b.Result.Recover = at.Sub(outageEnd)
	peak := n.PeakRSS()

	res := b.Result
	res.Note("outage of %s (every request 503) while %d events (%.0f MiB of message values) were produced; buffer: batch.maxBufferedBytes %d MiB, batch.maxBufferedEvents %d",
		outageEnd.Sub(outageStart).Round(time.Second), total, float64(valueBytes)/(1<<20), memoryBufferedBytes>>20, memoryBufferedEvents)
	res.Note("during the outage: at most %.0f events and %.1f MiB buffered (notifierd_buffered_*); %.0f of %d events consumed; lag in Kafka at the end of the outage %d (end offsets minus committed)",
		maxEvents, maxBytes/(1<<20), last.consumed, total, lag)
	res.Note("Go heap in use at most %.1f MiB during the outage (go_memstats_heap_inuse_bytes, sampled every 0.5 s)", maxHeap/(1<<20))
	res.Note("RSS: %.1f MiB idle after joining (baseline), peak %.1f MiB during the outage, %.1f MiB over the whole run including the backlog's delivery (VmHWM); bound %d MiB = buffer %d MiB + overhead %d MiB (see memoryOverhead in scenario_memory.go for what the overhead covers)",
		mibf(baseline), mibf(peakDuring), mibf(peak), (memoryBufferedBytes+memoryOverhead)>>20, memoryBufferedBytes>>20, memoryOverhead>>20)
	if peak > memoryBufferedBytes+memoryOverhead {
		res.Fail("peak RSS %.1f MiB is over the bound of %d MiB", mibf(peak), (memoryBufferedBytes+memoryOverhead)>>20)
	}
	if maxBytes > memoryBufferedBytes {
		res.Fail("buffered %.0f bytes, over batch.maxBufferedBytes %d", maxBytes, memoryBufferedBytes)
	}
	if maxEvents > memoryBufferedEvents {
		res.Fail("buffered %.0f events, over batch.maxBufferedEvents %d", maxEvents, memoryBufferedEvents)
	}
	if last.consumed != mid.consumed {
		res.Fail("consumption did not pause: consumed %.0f, %.0f a few seconds earlier", last.consumed, mid.consumed)
	}
	if last.consumed >= float64(total) || lag < int64(total-memoryBufferedEvents) {
		res.Fail("the backlog did not stay in Kafka: %.0f of %d consumed, lag %d", last.consumed, total, lag)
	}
	res.Note("time to recover: from the end of the outage until the whole backlog was acknowledged")
	return nil
}

func mibf(v int64) float64 { return float64(v) / (1 << 20) }
