package bench

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// daemonRun is one notifierd process against one topic and a fresh simulator.
type daemonRun struct {
	name      string // group and log directory suffix
	topic     string
	latency   time.Duration // simulator latency per request
	maxNotes  int           // batch.maxNotifications (0: the main runs' value)
	bound     time.Duration // how long to wait for every acknowledgement
	produced  *Produced     // the topic's data set (drain runs)
	partialOK bool          // a time-bounded run (sweep): report the rate over what was acknowledged
	profile   bool          // take a CPU profile of the daemon while it runs (Results.Profile)
	static    bool          // limits held at staticConcurrency instead of adapting per edge
	tls       *simTLS       // serve the simulator over HTTPS
	timeline  bool          // sample throughput, requests in flight and the limit (DaemonRun.Timeline)
	faults    []faultStep   // simulator faults changed at offsets from the start
	// receiptsTopic turns kafka.receiptsTopic on.
	receiptsTopic string
	// env is added to the daemon's environment (the tracing runs' OTEL_* variables).
	env []string

	// Paced runs: the daemon starts on an empty topic and pace produces into it.
	pace func(ctx context.Context) (*Produced, error)
}

// staticConcurrency is the static runs' target.maxConcurrency: notifierd's fixed limit
// before its limits adapted per edge.
const staticConcurrency = 256

// brokerCPU is the broker's user+system CPU time so far, zero when its pid is unknown.
func (b *Bench) brokerCPU() time.Duration {
	if b.opt.BrokerPID == 0 {
		return 0
	}
	u, s, err := testbed.ProcCPU(b.opt.BrokerPID)
	if err != nil {
		return 0
	}
	return u + s
}

// runDaemon starts the daemon, lets it consume the topic (or produces into it at a paced
// rate), waits until the simulator acknowledged every event or the bound passed, and
// measures the daemon's process over that window.
func (b *Bench) runDaemon(ctx context.Context, r daemonRun) (*DaemonRun, error) {
	var serverTLS *targetsim.TLS
	if r.tls != nil {
		serverTLS = r.tls.server
	}
	sim, err := startSim(ctx, r.latency, serverTLS)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sim.Close() }()
	maxNotes := cmp.Or(r.maxNotes, b.opt.MaxNotifications)
	w := testbed.Wiring{Brokers: b.opt.Broker, Topic: r.topic, Group: b.runID + "-" + r.name, DLQTopic: b.dlq, SimURL: sim.URL}
	d, err := StartDaemon(b.bin, filepath.Join(b.dir, r.name), w, b.opt.Linger, func(c *config.Config) {
		c.Batch.MaxNotifications = cmp.Or(maxNotes, c.Batch.MaxNotifications)
		c.Admin.Pprof = r.profile
		c.Target.AdaptiveConcurrency = !r.static // static: every edge held at staticConcurrency
		if r.static {
			c.Target.MaxConcurrency = staticConcurrency
		}
		c.Target.TLS.CAFile, c.Target.HTTP2 = r.tls.caFile(), !r.tls.http1()
		c.Kafka.ReceiptsTopic = r.receiptsTopic
	}, r.env...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := d.Stop(30 * time.Second); err != nil {
			b.note("%s: %v", r.name, err)
		}
	}()
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.WaitReady(readyCtx); err != nil {
		return nil, err
	}

	produced := r.produced
	if r.pace != nil {
		// Let the partition readers connect before the clock starts; there is no signal for it.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	start := time.Now()
	u0, s0 := d.CPU()
	bench0, broker0 := testbed.SelfCPU(), b.brokerCPU()
	busy0, total0 := testbed.MachineCPU()
	m0, _ := d.Metrics(ctx)
	profiled := make(chan error, 1)
	profilePath := filepath.Join(b.dir, r.name, "cpu.pprof")
	if r.profile {
		go func() { profiled <- captureProfile(ctx, d, ProfileSeconds, profilePath) }()
	}
	var timeline <-chan []Sample
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	if r.timeline || len(r.faults) > 0 {
		timeline = sampleTimeline(sampling, d, sim, start, r.faults)
	}
	if r.pace != nil {
		if produced, err = r.pace(ctx); err != nil {
			return nil, err
		}
	}
	want := produced.Count()
	waitCtx, cancelWait := context.WithDeadline(ctx, start.Add(r.bound))
	end, complete := waitUnique(waitCtx, sim, want)
	cancelWait()
	stopSampling()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	u1, s1 := d.CPU()
	var samples []Sample
	if timeline != nil {
		samples = <-timeline
	}
	bench1, broker1 := testbed.SelfCPU(), b.brokerCPU()
	busy1, total1 := testbed.MachineCPU()
	_, hwm := d.Mem()
	fams, err := d.Families(ctx)
	metrics := fams.Sum()
	if err != nil {
		b.note("%s: scraping /metrics: %v", r.name, err)
	}
	if r.profile {
		// The profile may outlast a short run; the daemon must live until it is written.
		if err := <-profiled; err != nil {
			b.note("%s: %v", r.name, err)
		} else if err := fetchAdmin(ctx, d, "/debug/pprof/allocs", filepath.Join(b.dir, r.name, "allocs.pprof")); err != nil {
			b.note("%s: %v", r.name, err) // what the run allocated, where: for go tool pprof -sample_index=alloc_space
		} else if top, err := ProfileTop(ctx, b.bin, profilePath, 40); err != nil {
			b.note("%s: %v", r.name, err)
		} else {
			b.res.Profile = top
		}
	}
	if !d.Running() {
		return nil, fmt.Errorf("notifierd exited during the run (log in %s)", filepath.Join(b.dir, r.name))
	}
	st := sim.Stats()
	lat, toSim, last := simAcks(sim)
	if complete && last.After(start) {
		end = last
	}
	minL, minS := MinRequests(produced.Stamps, b.opt.Linger.Milliseconds(), maxNotes)
	out := &DaemonRun{
		Events: want, Acked: st.Unique, Complete: complete, Elapsed: end.Sub(start),
		CPUUser: u1 - u0, CPUSys: s1 - s0, PeakRSS: hwm, MemoryLimit: int64(metrics["go_gc_gomemlimit_bytes"]), GCPercent: int(metrics["go_gc_gogc_percent"]), Requests: st.Requests, Dups: st.Duplicates,
		MinLinger: minL, MinPerSession: minS, Latency: SummarizeLatencies(lat), ToSim: SummarizeLatencies(toSim),
		Batches:    fams.ByLabel("notifierd_batches_total"),
		GCCycles:   metrics["go_gc_duration_seconds_count"] - m0["go_gc_duration_seconds_count"],
		AllocBytes: metrics["go_memstats_alloc_bytes_total"] - m0["go_memstats_alloc_bytes_total"],
		Mallocs:    metrics["go_memstats_mallocs_total"] - m0["go_memstats_mallocs_total"],
		BenchCPU:   bench1 - bench0, BrokerCPU: broker1 - broker0,
		Timeline: samples, Conns: sim.Conns(),
	}
	if total1 > total0 {
		out.MachineBusy = float64(busy1-busy0) / float64(total1-total0)
	}
	b.logf("%s: %d/%d acknowledged in %s: %.0f events/s, %.1f CPU-µs/event (user %s, sys %s; bench %s, broker %s, machine %.0f %% busy), %.1f KiB and %.0f allocations per event, %d requests (%.2f × minimum %d), p50 %s p99 %s, peak RSS %d MiB",
		r.name, out.Acked, want, out.Elapsed.Round(time.Millisecond), out.Rate(), float64(out.CPUPerEvent())/1e3,
		out.CPUUser, out.CPUSys, out.BenchCPU.Round(10*time.Millisecond), out.BrokerCPU.Round(10*time.Millisecond), out.MachineBusy*100,
		out.PerEvent(out.AllocBytes)/1024, out.PerEvent(out.Mallocs), out.Requests, out.RequestRatio(), minL,
		out.Latency.P50.Round(time.Millisecond), out.Latency.P99.Round(time.Millisecond), hwm>>20)
	if !complete && !r.partialOK {
		b.note("%s: %v: %d of %d acknowledged after %s", r.name, errIncomplete, out.Acked, want, r.bound)
	}
	return out, nil
}
