package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/textfmt"
)

// Targets of issue 6 (its throughput and CPU targets, 50 % of the bare consume rate and
// 10 µs per event, sat below the HTTP floor; issue 14 replaced them with evaluateTarget's).
const (
	TargetRequestRatio  = 1.1                    // requests against the linger-window minimum
	TargetLatencyMargin = 100 * time.Millisecond // p99 under linger + this, below saturation
)

// ChartFile is the chart's file name, next to BENCHMARKS.md.
const ChartFile = "bench-throughput.svg"

// Render writes the report in Markdown.
func Render(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# notifierd benchmarks\n\n")
	p("Generated on %s by `make bench` (`go run ./cmd/bench`); rerun it to regenerate this file and the chart, do not edit by hand.\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	p("The machine is shared and noisy: the ratios to the baselines measured in the same run are what hold, not the absolute rates.\n\n")

	p("## Setup\n\n")
	m := r.Machine
	p("- **Machine:** %d CPUs (`nproc`), %s, %s RAM, load average at start %s; %s; %s.\n", m.CPUs, m.CPUModel, m.MemTotal, m.LoadAvg, m.Kernel, m.GoVersion)
	p("- **Command:** `%s` (total %s).\n", r.Command, r.Elapsed.Round(time.Second))
	p("- **Broker:** the local Apache Kafka of `deploy/kafka/local-kafka.sh` (KRaft, one node) on 127.0.0.1:9092. The Target simulator (`internal/targetsim`) runs inside the bench process on 127.0.0.1; notifierd runs as the real binary (`go build ./cmd/notifierd`) in its own process, so the CPU time (utime+stime, `/proc/PID/stat`) and peak RSS (VmHWM) are the daemon's alone. Broker, bench process and daemon share the same %d cores.\n", m.CPUs)
	w := r.Workload
	p("- **Workload:** %s events on a topic of %d partitions keyed by sessionId, %s sessions; values %d to %d bytes (mean %d): display and click events with mbox or view name and state, event tokens, address, parameters, per-session tntId / thirdPartyId+customerIds / marketingCloudVisitorId, context with userAgent for some. A page view is a burst of 1 to 5 events of one session (one in a hundred a grid of 20 to 80 displays), sessions picked at random; `timestamp` is the produce time, so latency = simulator first acknowledgement − timestamp. Produced in %s.\n",
		textfmt.Thousands(w.Events), r.Config.Partitions, textfmt.Thousands(int64(w.Sessions)), w.MinBytes, w.MaxBytes, w.AvgBytes, w.ProduceElapsed.Round(100*time.Millisecond))
	p("- **Minimum requests** for this workload at linger %s and 50 per request: **%s** (sum over sessions of ceil(events/50) within linger windows of the produce times); plain per-session minimum %s.\n",
		r.Config.Linger, textfmt.Thousands(w.MinLinger), textfmt.Thousands(w.MinPerSession))
	gc := ""
	for _, e := range r.E2E {
		if e.Drain.GCPercent > 0 && e.Drain.MemoryLimit > 0 {
			gc = fmt.Sprintf(" The daemon reported GOGC %d and a soft memory limit of %s (`go_gc_gogc_percent`, `go_gc_gomemlimit_bytes`).", e.Drain.GCPercent, mib(e.Drain.MemoryLimit))
		}
	}
	p("- **notifierd configuration:** defaults except the addresses, a fresh consumer group per run, and shutdown.timeout %s (it also bounds the release of a revoked partition); batch.linger %s, batch.maxNotifications %d, target.maxConcurrency %d, batch.maxBufferedBytes %s.%s Latency is measured at paced produce rates of %s of the daemon's measured drain rate, for %s each, on fresh topics, since in a backlog drain it is queueing time.\n\n",
		ShutdownTimeout, r.Config.Linger, r.Config.MaxNotifications, r.Config.MaxConcurrency, mib(r.Config.MaxBufferedBytes), gc, percents(r.Config.PacedFractions), r.Config.PacedDuration)

	p("## Targets\n\n")
	p("| target | measured | result |\n|---|---|---|\n")
	for _, t := range Evaluate(r) {
		p("| %s | %s | %s |\n", t.Name, t.Measured, t.Verdict())
	}
	p("\n")
	if f, ok := CPUFloorOf(r); ok {
		p("**The floor under the CPU target**, measured in this run: bare kafka-go reads an event for %s µs; notifierd's HTTP client alone (the bare HTTP sender below: no Kafka, no decoding, no batching) spends %s µs per request, and the 0 ms drain needed %.3f requests per event, so delivery costs at least %s µs per event. Together, %s µs per event before any work of notifierd's own; notifierd spent %s µs.\n\n",
			usPerEvent(f.Kafka, 1), usPerEvent(f.PerRequest, 1), f.RequestsPerEvent, usPerEvent(f.HTTP, 1), usPerEvent(f.Total(), 1), usPerEvent(f.Daemon, 1))
		if c := f.Ceiling(r.Machine.CPUs); c > 0 && r.Bare.Rate() > 0 {
			p("**The ceiling over the throughput target:** in the same drain the simulator took %s µs and the broker %s µs of CPU per event. A sender at that floor, sharing %d cores with them, could deliver at most %s events/s, %.0f %% of the bare kafka-go rate.\n\n",
				usPerEvent(f.Sim, 1), usPerEvent(f.Broker, 1), r.Machine.CPUs, FormatCount(c), c/r.Bare.Rate()*100)
		}
	}

	p("## Results\n\n")
	p("| run | events | events/s | × bare kafka-go | × naive sender | CPU-s per 1M events | CPU-µs/event (user+sys) | requests/event | requests ÷ minimum | p50 | p99 | peak RSS |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	bare := 0.0
	if r.Bare != nil {
		bare = r.Bare.Rate()
		p("| bare kafka-go consumer group, kafka.Reader (no work) | %s | %s | 1.00 | | %s | %s | | | | | |\n",
			textfmt.Thousands(r.Bare.Events), FormatCount(bare), cpuPerMillion(r.Bare.CPU, r.Bare.Events), usPerEvent(r.Bare.CPU, r.Bare.Events))
	}
	if f := r.BareFetch; f != nil {
		p("| bare kafka-go consumer group, notifierd's fetcher at read_committed (no work) | %s | %s | %s | | %s | %s | | | | | |\n",
			textfmt.Thousands(f.Events), FormatCount(f.Rate()), ratio(f.Rate(), bare), cpuPerMillion(f.CPU, f.Events), usPerEvent(f.CPU, f.Events))
	}
	if r.Kcat != nil {
		p("| kcat -C (librdkafka) | %s | %s | %s | | %s | %s | | | | | |\n",
			textfmt.Thousands(r.Kcat.Events), FormatCount(r.Kcat.Rate()), ratio(r.Kcat.Rate(), bare), cpuPerMillion(r.Kcat.CPU, r.Kcat.Events), usPerEvent(r.Kcat.CPU, r.Kcat.Events))
	}
	for _, n := range r.Naive {
		bound := ""
		if n.Bounded {
			bound = " (first events only)"
		}
		p("| naive sender, %d ms, %d sequential workers%s | %s | %s | %s | 1.00 | | | %.2f | | | | |\n",
			n.LatencyMs, n.Workers, bound, textfmt.Thousands(n.Events), FormatCount(n.Rate()), ratio(n.Rate(), bare), float64(n.Requests)/float64(max(n.Events, 1)))
	}
	if h := r.HTTPFloor; h != nil {
		notes := h.Requests * int64(h.Notifications)
		p("| bare HTTP sender: notifierd's client, no Kafka, one %s-byte request of %d notifications posted %s times, %d concurrent, 0 ms | %s | %s | | | %s | %s | %.3f | | | | |\n",
			textfmt.Thousands(int64(h.Bytes)), h.Notifications, textfmt.Thousands(h.Requests), h.Concurrency, textfmt.Thousands(notes), FormatCount(PerSecond(notes, h.Elapsed)),
			cpuPerMillion(h.CPU, notes), usPerEvent(h.CPU, notes), 1/float64(h.Notifications))
	}
	for _, e := range r.E2E {
		naive := naiveAt(r, e.LatencyMs)
		row := func(name string, d *DaemonRun) {
			vsBare, vsNaive := ratio(d.Rate(), bare), ratio(d.Rate(), naive)
			if d.ProduceRate > 0 { // a paced run's rate is the producer's, not a capacity
				vsBare, vsNaive = "", ""
			}
			p50, p99 := ms(d.Latency.P50), ms(d.Latency.P99)
			if d.ProduceRate == 0 { // a backlog produced minutes before: queueing, not latency
				p50, p99 = "–", "–"
			}
			done := ""
			if !d.Complete {
				done = fmt.Sprintf(" (incomplete: %s of %s acknowledged)", textfmt.Thousands(d.Acked), textfmt.Thousands(d.Events))
			}
			p("| %s%s | %s | %s | %s | %s | %s | %s | %.3f | %.2f | %s | %s | %s |\n",
				name, done, textfmt.Thousands(d.Acked), FormatCount(d.Rate()), vsBare, vsNaive,
				cpuPerMillion(d.CPU(), d.Acked), fmt.Sprintf("%s (%s+%s)", usPerEvent(d.CPU(), d.Acked), usPerEvent(d.CPUUser, d.Acked), usPerEvent(d.CPUSys, d.Acked)),
				float64(d.Requests)/float64(max(d.Acked, 1)), d.RequestRatio(), p50, p99, mib(d.PeakRSS))
		}
		row(fmt.Sprintf("**notifierd, %d ms, backlog drain**", e.LatencyMs), &e.Drain)
		for i := range e.Paced {
			d := &e.Paced[i]
			row(fmt.Sprintf("notifierd, %d ms, paced at %s/s (%.0f %%)", e.LatencyMs, FormatCount(d.ProduceRate), d.PacedFraction*100), d)
		}
	}
	p("\nevents/s of notifierd: distinct notifications acknowledged by the simulator over the time from joining the group (`/readyz`) to the last acknowledgement; of the bare loop: from the generation to the last message; of kcat: its whole process. \"requests ÷ minimum\" uses each run's own produce times (the paced runs have their own data set). Latency is only reported for the paced runs: in a backlog drain of a topic produced minutes earlier it is queueing time. \"To the simulator's door\" (in the targets) stops at the arrival of the request that carried the event: the producer, Kafka and notifierd, linger included, without the simulator's latency and its wait for a CPU.\n\n")

	if len(r.E2E) > 0 {
		p("### Where the daemon's time goes\n\n")
		p("Over each run's window: the daemon's CPU split, its Go allocation (from its `/metrics`) and, for comparison, the CPU of the bench process (the simulator, and the producer in paced runs), of the broker, and how busy the whole machine was (all processes of every user, `/proc/stat`).\n\n")
		p("| run | daemon user / system CPU | GC cycles | allocated per event | allocations per event | bench process CPU | broker CPU | machine busy | batches closed by trigger | notifications per request | duplicates |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, e := range r.E2E {
			for _, d := range e.Runs() {
				kind := "drain"
				if d.ProduceRate > 0 {
					kind = fmt.Sprintf("paced %.0f %%", d.PacedFraction*100)
				}
				p("| %d ms, %s | %s / %s | %.0f | %s | %s | %s | %s | %.0f %% | %s | %.1f | %s |\n", e.LatencyMs, kind,
					d.CPUUser.Round(10*time.Millisecond), d.CPUSys.Round(10*time.Millisecond), d.GCCycles,
					kib(d.PerEvent(d.AllocBytes)), num(d.PerEvent(d.Mallocs)), secs(d.BenchCPU), secs(d.BrokerCPU), d.MachineBusy*100,
					triggers(d.Batches), float64(d.Acked)/float64(max(d.Requests, 1)), textfmt.Thousands(d.Dups))
			}
		}
		p("\n")
	}

	if mr := r.Mem; mr != nil {
		p("## Memory with open sessions\n\n")
		p("%s events, each of its own session, produced before the daemon starts; batch.linger %s so no batch closes, batch.maxBufferedEvents above the count, batch.maxBufferedBytes %s, kafka.maxInFlightPerPartition above the count. Measured once the daemon's `notifierd_buffered_events` stopped growing; the daemon is then killed (its batches are never sent).\n\n",
			textfmt.Thousands(mr.Sessions), mr.Linger, mib(mr.MaxBufferedBytes))
		p("| open sessions | RSS joined, idle | RSS with sessions open | peak RSS | memory limit | RSS per open session | Go heap in use per open session | live heap per open session (after a forced GC) | buffered bytes (budget's count) | budget's count per session | under the memory limit |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		p("| %s | %s | %s | %s | %s | %.0f B | %.0f B | %.0f B | %s | %.0f B | %s |\n\n", textfmt.Thousands(mr.Open), mib(mr.RSSIdle), mib(mr.RSS), mib(mr.PeakRSS), mib(mr.MemoryLimit), mr.BytesPerSession(),
			float64(mr.HeapInuse)/float64(max(mr.Open, 1)), mr.LivePerSession(), mib(mr.BufferedBytes), float64(mr.BufferedBytes)/float64(max(mr.Open, 1)),
			passFail(mr.MemoryLimit > 0 && mr.PeakRSS <= mr.MemoryLimit))
	}

	p("%s", renderTarget(r))

	if len(r.Sweep) > 0 {
		p("## Throughput against simulator latency and batch size\n\n")
		p("![throughput against simulator latency and batch.maxNotifications](%s)\n\n", ChartFile)
		p("| simulator latency | batch.maxNotifications | events | events/s | requests/event | requests ÷ minimum | CPU-µs/event | peak RSS | duplicates | machine busy | complete |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Sweep {
			p("| %d ms | %d | %s | %s | %.3f | %s | %s | %s | %s | %.0f %% | %s |\n", s.LatencyMs, s.MaxNotifications, textfmt.Thousands(s.Run.Acked), FormatCount(s.Run.Rate()),
				float64(s.Run.Requests)/float64(max(s.Run.Acked, 1)), reqRatio(&s.Run), usPerEvent(s.Run.CPU(), s.Run.Acked), mib(s.Run.PeakRSS),
				textfmt.Thousands(s.Run.Dups), s.Run.MachineBusy*100, yesNo(s.Run.Complete))
		}
		p("\nEach point is a fresh daemon and group on the same smaller topic; a point that hit the time bound reports the rate over the events acknowledged by then.\n\n")
	}

	p("## Profiling\n\n")
	if r.Profile != "" {
		p("A %d s CPU profile of the daemon during the 0 ms backlog drain, taken from its `/debug/pprof/` (`admin.pprof: true`), by cumulative time:\n\n", ProfileSeconds)
		p("```\n%s\n```\n\n", r.Profile)
	}
	p("The profile file and the daemon's log stay under `.cache/bench/`; open it with `go tool pprof -http :8080 .cache/bench/notifierd .cache/bench/<run>/e2e-0ms-drain/cpu.pprof`. ")
	p("The hot path also has Go benchmarks: `go test -run '^$' -bench . -benchmem ./internal/event ./internal/delivery ./internal/daemon`. ")
	p("The user/system split above comes from `/proc/PID/stat`; a large system share points at syscalls (small fetches, one write per request) rather than at encoding.\n\n")

	if notes := append(slices.Clone(r.Notes), derivedNotes(r)...); len(notes) > 0 {
		p("## Notes from this run\n\n")
		for _, n := range notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	return b.String()
}

// CPUFloor is the least CPU per event any Kafka-to-Target sender built on kafka-go and
// net/http could spend on this workload, from the baselines of the same run.
type CPUFloor struct {
	Kafka            time.Duration // bare kafka-go, per event
	PerRequest       time.Duration // the bare HTTP sender, per request
	RequestsPerEvent float64       // of the 0 ms drain
	HTTP             time.Duration // PerRequest × RequestsPerEvent
	Daemon           time.Duration // what notifierd spent per event in that drain
	Sim, Broker      time.Duration // what the simulator (the bench process) and the broker spent per event in it
}

// Ceiling is the most events per second a sender at the floor could deliver on cpus cores
// shared with the simulator and the broker: every core busy, nothing else running.
func (f CPUFloor) Ceiling(cpus int) float64 {
	per := f.Total() + f.Sim + f.Broker
	if cpus <= 0 || per <= 0 {
		return 0
	}
	return float64(cpus) * float64(time.Second) / float64(per)
}

// Total is the floor per event.
func (f CPUFloor) Total() time.Duration { return f.Kafka + f.HTTP }

// readPerEvent is the CPU of the bare read per event: notifierd's fetcher when measured (what
// the daemon reads with), else kafka.Reader.
func readPerEvent(r *Results) (time.Duration, bool) {
	if r.Bare == nil || r.Bare.Events == 0 { // the report compares with it
		return 0, false
	}
	read := r.Bare
	if r.BareFetch != nil && r.BareFetch.Events > 0 {
		read = r.BareFetch
	}
	return read.CPU / time.Duration(read.Events), true
}

// CPUFloorOf computes the floor when the run has the baselines and the 0 ms drain.
func CPUFloorOf(r *Results) (CPUFloor, bool) {
	var drain *DaemonRun
	for i := range r.E2E {
		if r.E2E[i].LatencyMs == 0 {
			drain = &r.E2E[i].Drain
		}
	}
	read, ok := readPerEvent(r)
	if drain == nil || drain.Acked == 0 || !ok || r.HTTPFloor == nil || r.HTTPFloor.Requests == 0 {
		return CPUFloor{}, false
	}
	f := CPUFloor{
		Kafka:            read,
		PerRequest:       r.HTTPFloor.CPUPerRequest(),
		RequestsPerEvent: float64(drain.Requests) / float64(drain.Acked),
		Daemon:           drain.CPUPerEvent(),
		Sim:              drain.BenchCPU / time.Duration(drain.Acked),
		Broker:           drain.BrokerCPU / time.Duration(drain.Acked),
	}
	f.HTTP = time.Duration(float64(f.PerRequest) * f.RequestsPerEvent)
	return f, true
}

// derivedNotes points at what the tables only hint at: duplicates (a redelivery after a
// rebalance, or a stop with work in flight) and runs cut by their time bound.
func derivedNotes(r *Results) []string {
	var out []string
	check := func(name string, d *DaemonRun, bounded bool) {
		if d.Dups > 0 {
			out = append(out, fmt.Sprintf("%s: %s duplicate acknowledgements: events redelivered after the daemon lost its partitions (a rebalance) with work in flight; the daemon's log is under .cache/bench/.", name, textfmt.Thousands(d.Dups)))
		}
		if !d.Complete {
			what := "did not finish within its time bound"
			if bounded {
				what = "reached its time bound"
			}
			out = append(out, fmt.Sprintf("%s %s: %s of %s events acknowledged.", name, what, textfmt.Thousands(d.Acked), textfmt.Thousands(d.Events)))
		}
	}
	for _, e := range r.E2E {
		check(fmt.Sprintf("notifierd %d ms drain", e.LatencyMs), &e.Drain, false)
		for i := range e.Paced {
			check(fmt.Sprintf("notifierd %d ms paced %.0f %%", e.LatencyMs, e.Paced[i].PacedFraction*100), &e.Paced[i], false)
		}
	}
	for i := range r.Sweep {
		s := &r.Sweep[i]
		check(fmt.Sprintf("sweep point %d ms, batch.maxNotifications %d", s.LatencyMs, s.MaxNotifications), &s.Run, true)
	}
	return out
}

// Target is one of the targets with its verdict.
type Target struct {
	Name     string
	Measured string
	Pass     bool
	Missing  bool // not measured in this run
}

// Verdict is PASS, FAIL or "not measured".
func (t Target) Verdict() string {
	if t.Missing {
		return "not measured"
	}
	return passFail(t.Pass)
}

// Evaluate checks the results against the targets.
func Evaluate(r *Results) []Target {
	var out []Target
	var e0 *E2ERun
	for i := range r.E2E {
		if r.E2E[i].LatencyMs == 0 {
			e0 = &r.E2E[i]
		}
	}
	out = append(out, evaluateTarget(r)...)

	t := Target{Name: fmt.Sprintf("≤ %.1f × the minimum requests (0 ms drain)", TargetRequestRatio), Missing: true}
	if e0 != nil && e0.Drain.MinLinger > 0 {
		rr := e0.Drain.RequestRatio()
		t = Target{Name: t.Name, Measured: fmt.Sprintf("%.2f × (%s requests, minimum %s)", rr, textfmt.Thousands(e0.Drain.Requests), textfmt.Thousands(e0.Drain.MinLinger)), Pass: rr <= TargetRequestRatio && e0.Drain.Complete}
	}
	out = append(out, t)

	limit := r.Config.Linger + TargetLatencyMargin
	for _, e := range r.E2E {
		if len(e.Paced) == 0 {
			out = append(out, Target{Name: fmt.Sprintf("p99 < linger + 100 ms = %s below saturation (%d ms simulator latency)", ms(limit), e.LatencyMs), Missing: true})
		}
		for _, d := range e.Paced {
			l := d.Latency
			out = append(out, Target{
				Name: fmt.Sprintf("p99 < linger + 100 ms = %s below saturation (%d ms simulator latency, paced at %.0f %% of the drain rate)", ms(limit), e.LatencyMs, d.PacedFraction*100),
				Measured: fmt.Sprintf("p99 %s (p50 %s, p90 %s, max %s) at %s/s; machine %.0f %% busy; to the simulator's door p99 %s (p50 %s)",
					ms(l.P99), ms(l.P50), ms(l.P90), ms(l.Max), FormatCount(d.ProduceRate), d.MachineBusy*100, ms(d.ToSim.P99), ms(d.ToSim.P50)),
				Pass: l.Count > 0 && l.P99 < limit && d.Complete, Missing: l.Count == 0})
		}
	}

	var rss []string
	pass, any := true, false
	var memLimit int64
	for _, e := range r.E2E {
		for _, d := range e.Runs() {
			if d.PeakRSS > 0 {
				any = true
				pass = pass && d.MemoryLimit > 0 && d.PeakRSS <= d.MemoryLimit
				memLimit = d.MemoryLimit
			}
		}
		rss = append(rss, fmt.Sprintf("%s at %d ms", mib(e.Drain.PeakRSS), e.LatencyMs))
	}
	name := fmt.Sprintf("peak RSS under the configured bound: the memory limit notifierd sets, batch.maxBufferedBytes %s + 256 MiB = %s", mib(r.Config.MaxBufferedBytes), mib(memLimit))
	out = append(out, Target{Name: name, Measured: strings.Join(rss, ", "), Pass: pass, Missing: !any})
	if m := r.Mem; m != nil {
		out = append(out, Target{Name: fmt.Sprintf("peak RSS with %s open sessions under its bound (batch.maxBufferedBytes %s + 256 MiB = %s)", textfmt.Thousands(m.Open), mib(m.MaxBufferedBytes), mib(m.MemoryLimit)),
			Measured: fmt.Sprintf("%s, %.0f B per open session", mib(m.PeakRSS), m.BytesPerSession()), Pass: m.MemoryLimit > 0 && m.PeakRSS <= m.MemoryLimit})
		if m.LiveHeap > 0 {
			out = append(out, Target{Name: "the buffer budget covers what the open sessions hold (live heap growth after a forced collection ≤ notifierd_buffered_bytes)",
				Measured: fmt.Sprintf("%s live for %s counted: %.0f B per session live, %.0f B counted", mib(m.LiveHeap-m.IdleHeap), mib(m.BufferedBytes),
					m.LivePerSession(), float64(m.BufferedBytes)/float64(max(m.Open, 1))), Pass: m.LiveHeap-m.IdleHeap <= m.BufferedBytes})
		}
	}
	return out
}

func naiveAt(r *Results, latencyMs int) float64 {
	for _, n := range r.Naive {
		if n.LatencyMs == latencyMs {
			return n.Rate()
		}
	}
	return 0
}

func triggers(m map[string]float64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, textfmt.Thousands(int64(m[k]))))
	}
	return strings.Join(parts, ", ")
}

// reqRatio is RequestRatio, blank for a run cut short (its minimum is the whole data set's).
func reqRatio(d *DaemonRun) string {
	if !d.Complete {
		return ""
	}
	return fmt.Sprintf("%.2f", d.RequestRatio())
}

func percents(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%.0f %%", f*100)
	}
	return strings.Join(parts, " and ")
}

func kib(v float64) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f KiB", v/1024)
}

func num(v float64) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f", v)
}

func secs(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.Round(10 * time.Millisecond).String()
}

func ratio(a, b float64) string {
	if b <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a/b)
}

func usPerEvent(cpu time.Duration, events int64) string {
	if events <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", float64(cpu)/float64(time.Microsecond)/float64(events))
}

func cpuPerMillion(cpu time.Duration, events int64) string {
	if events <= 0 || cpu <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", cpu.Seconds()*1e6/float64(events))
}

func ms(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func mib(n int64) string {
	if n <= 0 {
		return ""
	}
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

func passFail(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no (time bound)"
}
