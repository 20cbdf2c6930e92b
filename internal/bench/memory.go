package bench

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// memLinger keeps every batch of the memory measurement open: no batch closes before the
// daemon is killed.
const memLinger = 10 * time.Minute

// memory measures the daemon holding OpenSessions sessions open at once: one event per
// session, produced before the daemon starts; it buffers them all (linger memLinger, budgets
// above the count) and the RSS is read once the buffered count stops growing.
func (b *Bench) memory(ctx context.Context) error {
	n := b.opt.OpenSessions
	topic, err := b.topic(ctx, "memory", b.opt.Partitions)
	if err != nil {
		return err
	}
	w := NewWorkload(1, b.opt.Seed+7, "o")
	b.logf("memory: producing %d events, each of its own session", n)
	p, err := b.k.Produce(ctx, topic, n, func(nowMs int64) []Message { return []Message{w.OwnSession(nowMs)} })
	if err != nil {
		return err
	}
	sim, err := startSim(ctx, 0, nil)
	if err != nil {
		return err
	}
	defer func() { _ = sim.Close() }()
	wiring := testbed.Wiring{Brokers: b.opt.Broker, Topic: topic, Group: b.runID + "-memory", DLQTopic: b.dlq, SimURL: sim.URL}
	d, err := StartDaemon(b.bin, filepath.Join(b.dir, "memory"), wiring, memLinger, func(c *config.Config) {
		c.Batch.MaxBufferedEvents, c.Kafka.MaxInFlight = int(n)+1000, int(n)+1000
		c.Batch.MaxBufferedBytes = cmp.Or(b.opt.MemBufferedBytes, c.Batch.MaxBufferedBytes)
		c.Admin.Pprof = true // for a forced collection
	})
	if err != nil {
		return err
	}
	defer d.Kill() // its batches would take minutes to send; the topic is deleted anyway
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.WaitReady(readyCtx); err != nil {
		return err
	}
	start := time.Now()
	rssIdle, _ := d.Mem()
	idle, err := d.Metrics(ctx)
	if err != nil {
		return err
	}

	// Poll the buffered count until it reaches n or stops growing for 10 s.
	var buffered, last float64
	var m testbed.Metrics
	lastGrowth := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if !d.Running() {
			return fmt.Errorf("notifierd exited during the memory run (log in %s)", filepath.Join(b.dir, "memory"))
		}
		if m, err = d.Metrics(ctx); err != nil {
			continue
		}
		buffered = m["notifierd_buffered_events"]
		if buffered > last {
			last, lastGrowth = buffered, time.Now()
		}
		if int64(buffered) >= p.Count() || time.Since(lastGrowth) > 10*time.Second || time.Since(start) > b.opt.RunTimeout {
			break
		}
	}
	rss, hwm := d.Mem()
	mr := &MemoryRun{
		Sessions: p.Count(), Open: int64(buffered), RSSIdle: rssIdle, RSS: rss, PeakRSS: hwm,
		HeapInuse: int64(m["go_memstats_heap_inuse_bytes"]), IdleHeap: int64(idle["go_memstats_heap_inuse_bytes"]),
		BufferedBytes: int64(m["notifierd_buffered_bytes"]), MaxBufferedBytes: d.Config.Batch.MaxBufferedBytes,
		MemoryLimit: int64(m["go_gc_gomemlimit_bytes"]), Linger: memLinger, Elapsed: time.Since(start),
	}
	// What the open sessions really hold, without the garbage not yet collected: this is what
	// the budget's per-event estimate must cover.
	if err := forceGC(ctx, d); err != nil {
		b.note("memory: %v", err)
	} else if after, err := d.Metrics(ctx); err == nil {
		mr.LiveHeap = int64(after["go_memstats_heap_inuse_bytes"])
	}
	heapPath := filepath.Join(b.dir, "memory", "heap.pprof")
	if err := fetchAdmin(ctx, d, "/debug/pprof/heap", heapPath); err != nil {
		b.note("memory: %v", err)
	} else {
		b.logf("memory: heap profile in %s (go tool pprof -sample_index=inuse_space -top %s %s)", heapPath, b.bin, heapPath)
	}
	b.res.Mem = mr
	b.logf("memory: %d sessions open after %s: RSS %d MiB (idle %d MiB), peak %d MiB (limit %d MiB), %.0f B per session, heap in use %d MiB, live %d MiB (%.0f B per session), buffered %d MiB (%.0f B per session)",
		mr.Open, mr.Elapsed.Round(time.Millisecond), rss>>20, rssIdle>>20, hwm>>20, mr.MemoryLimit>>20, mr.BytesPerSession(), mr.HeapInuse>>20,
		mr.LiveHeap>>20, mr.LivePerSession(), mr.BufferedBytes>>20, float64(mr.BufferedBytes)/float64(max(mr.Open, 1)))
	if mr.Open < mr.Sessions {
		b.note("memory: only %d of %d sessions were open at the measurement (a budget or the time bound stopped the daemon's fetching)", mr.Open, mr.Sessions)
	}
	return nil
}
