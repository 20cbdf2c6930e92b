package bench

import (
	"strings"
	"testing"
	"time"
)

// sampleResults is a small complete run: notifierd at half the bare rate, 8 CPU-µs per event,
// 1.05 × the minimum requests, p99 250 ms at 0 ms and 420 ms at 50 ms.
func sampleResults() *Results {
	run := func(acked int64, elapsed time.Duration, cpu time.Duration, reqs, minL int64, p99 time.Duration) DaemonRun {
		return DaemonRun{Events: acked, Acked: acked, Complete: true, Elapsed: elapsed, CPUUser: cpu * 3 / 4, CPUSys: cpu / 4,
			PeakRSS: 100 << 20, MemoryLimit: 512 << 20, GCPercent: 400, Requests: reqs, MinLinger: minL, MinPerSession: minL / 2,
			Latency: Latencies{Count: int(acked), P50: 210 * time.Millisecond, P99: p99},
			ToSim:   Latencies{Count: int(acked), P50: 205 * time.Millisecond, P99: p99 - 10*time.Millisecond}, Batches: map[string]float64{"full": 3, "linger": 97}}
	}
	paced := func(d DaemonRun, rate, frac float64) []DaemonRun {
		d.ProduceRate, d.PacedFraction, d.MachineBusy = rate, frac, 0.6
		return []DaemonRun{d}
	}
	return &Results{
		Started: time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC), Elapsed: 12 * time.Minute, Command: "make bench",
		Machine: Machine{CPUs: 2, CPUModel: "AMD EPYC", MemTotal: "24 GiB", LoadAvg: "1.0 1.0 1.0", GoVersion: "go1.26", Kernel: "Linux 6"},
		Config: RunConfig{Partitions: 12, Linger: 200 * time.Millisecond, MaxNotifications: 50, MaxConcurrency: 64,
			MaxBufferedBytes: 256 << 20, PacedFractions: []float64{0.5}, PacedDuration: 20 * time.Second},
		Workload:  WorkloadInfo{Events: 1_000_000, Sessions: 50_000, MinBytes: 300, MaxBytes: 800, AvgBytes: 580, MinLinger: 200_000, MinPerSession: 60_000},
		Bare:      &ConsumeRun{Events: 1_000_000, Elapsed: 10 * time.Second, CPU: 2 * time.Second},
		BareFetch: &ConsumeRun{Events: 1_000_000, Elapsed: 8 * time.Second, CPU: 1600 * time.Millisecond},
		Kcat:      &ConsumeRun{Events: 1_000_000, Elapsed: 5 * time.Second, CPU: time.Second},
		HTTPFloor: &HTTPFloorRun{Requests: 100_000, Notifications: 5, Bytes: 3000, Concurrency: 256, Elapsed: 4 * time.Second, CPU: 3 * time.Second},
		Naive:     []NaiveRun{{LatencyMs: 0, Workers: 12, Events: 100_000, Requests: 100_000, Elapsed: 10 * time.Second, Bounded: true}, {LatencyMs: 50, Workers: 12, Events: 4800, Requests: 4800, Elapsed: 20 * time.Second, Bounded: true}},
		E2E: []E2ERun{
			{LatencyMs: 0, Drain: withMachine(run(1_000_000, 20*time.Second, 8*time.Second, 210_000, 200_000, 9*time.Second), 20*time.Second, 1700*time.Millisecond), Paced: paced(run(500_000, 20*time.Second, 5*time.Second, 100_000, 100_000, 250*time.Millisecond), 25_000, 0.5)},
			{LatencyMs: 50, Drain: run(1_000_000, 40*time.Second, 9*time.Second, 190_000, 200_000, 30*time.Second), Paced: paced(run(250_000, 20*time.Second, 3*time.Second, 50_000, 50_000, 420*time.Millisecond), 12_500, 0.5)},
		},
		Mem: &MemoryRun{Sessions: 1_000_000, Open: 1_000_000, RSSIdle: 20 << 20, RSS: 1500 << 20, PeakRSS: 1600 << 20, HeapInuse: 1200 << 20,
			LiveHeap: 890 << 20, IdleHeap: 10 << 20, BufferedBytes: 900 << 20, MaxBufferedBytes: 2 << 30, MemoryLimit: 2304 << 20, Linger: memLinger},
		Sweep: []SweepPoint{
			{LatencyMs: 0, MaxNotifications: 50, Run: run(200_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 50, MaxNotifications: 50, Run: run(200_000, 10*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 0, MaxNotifications: 1, Run: run(200_000, 20*time.Second, time.Second, 200_000, 200_000, time.Second)},
			{LatencyMs: 0, MaxNotifications: 10, Run: run(200_000, 8*time.Second, time.Second, 45_000, 45_000, time.Second)},
		},
		Latency: []LatencyPoint{
			{LatencyMs: 0, Run: run(200_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 100, Run: run(184_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 100, Static: true, Run: run(200_000, 10*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 200, Run: run(152_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
			// Over HTTPS, judged against its own 0 ms rate: 40k/s.
			{LatencyMs: 0, TLS: true, Run: run(160_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 100, TLS: true, Run: run(140_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
			{LatencyMs: 200, TLS: true, Run: run(152_000, 4*time.Second, time.Second, 40_000, 40_000, time.Second)},
		},
		// Over HTTPS: 9 µs per event against 1.6 + 0.2 × 30 = 7.6 µs.
		TLS: []TLSRun{{Protocol: "HTTP/2", Run: run(200_000, 4*time.Second, 1800*time.Millisecond, 40_000, 40_000, time.Second),
			Floor: HTTPFloorRun{Requests: 100_000, Notifications: 5, Bytes: 3000, Concurrency: 256, Elapsed: 4 * time.Second, CPU: 3 * time.Second}}},
		Storms: []StormRun{{Kind: "429 storm", LatencyMs: 100, Start: 8 * time.Second, Length: 5 * time.Second, Run: DaemonRun{Timeline: stormTimeline()}}},
		Notes:  []string{"something odd"},
	}
}

// stormTimeline is a storm run's samples: 1,000 events/s and 800 in flight until 8 s, 100 in
// flight and nothing acknowledged from 9 s to 13 s, full speed again from 14 s.
func stormTimeline() []Sample {
	var out []Sample
	acked := int64(0)
	for at := sampleEvery; at <= 20*time.Second; at += sampleEvery {
		inFlight, rate := 800.0, int64(100) // per sample: 1,000/s
		if at >= 9*time.Second && at < 14*time.Second {
			inFlight, rate = 100, 0
		}
		acked += rate
		out = append(out, Sample{At: at, Acked: acked, InFlight: inFlight})
	}
	return out
}

func TestStormFigures(t *testing.T) {
	s := StormRun{Start: 8 * time.Second, Length: 5 * time.Second, Run: DaemonRun{Timeline: stormTimeline()}}
	if got := s.InFlightBefore(); got != 800 {
		t.Errorf("in flight before = %v, want 800", got)
	}
	if fall, ok := s.Fall(); !ok || fall != time.Second {
		t.Errorf("fall = %v, %v; want 1s", fall, ok)
	}
	if got := s.RateBefore(); got < 990 || got > 1010 {
		t.Errorf("rate before = %v, want 1,000/s", got)
	}
	if rec, ok := s.Recovery(); !ok || rec < time.Second || rec > 3*time.Second {
		t.Errorf("recovery = %v, %v; want within 1-3 s of the end", rec, ok)
	}
}

const (
	cpuTarget    = "CPU per event ≤ 1.25 × the floor (kafka-go's read plus notifierd's HTTP client alone, same requests per event; 0 ms drain)"
	tlsCPUTarget = "CPU per event ≤ 1.25 × the floor over HTTPS with the default protocol, HTTP/2, as Target is reached (TLS drain of the latency data set; the floor measured over the same protocol)"
	stormTarget  = "429 storm at 100 ms: requests in flight halved within 2s, and recovered after it"
	rssTarget    = "peak RSS under the configured bound: the memory limit notifierd sets, batch.maxBufferedBytes 256 MiB + 256 MiB = 512 MiB"
	memTarget    = "peak RSS with 1,000,000 open sessions under its bound (batch.maxBufferedBytes 2.00 GiB + 256 MiB = 2.25 GiB)"
	budgetTarget = "the buffer budget covers what the open sessions hold (live heap growth after a forced collection ≤ notifierd_buffered_bytes)"
)

// withMachine sets what the simulator and the broker spent over a run.
func withMachine(d DaemonRun, bench, broker time.Duration) DaemonRun {
	d.BenchCPU, d.BrokerCPU = bench, broker
	return d
}

func TestEvaluate(t *testing.T) {
	got := map[string]string{}
	for _, tg := range Evaluate(sampleResults()) {
		got[tg.Name] = tg.Verdict()
	}
	want := map[string]string{
		cpuTarget:    "**PASS**", // 8.0 µs against a 7.9 µs floor
		tlsCPUTarget: "**PASS**", // 9.0 µs against 7.6 µs
		"adaptive limits at 100 ms of Target latency, plain HTTP/1.1: ≥ 90 % of the 0 ms throughput over the same": "**PASS**", // 46k of 50k
		"adaptive limits at 200 ms of Target latency, plain HTTP/1.1: ≥ 80 % of the 0 ms throughput over the same": "**FAIL**", // 38k of 50k
		"adaptive limits at 100 ms of Target latency, HTTPS, HTTP/2: ≥ 90 % of the 0 ms throughput over the same":  "**FAIL**", // 35k of 40k
		"adaptive limits at 200 ms of Target latency, HTTPS, HTTP/2: ≥ 80 % of the 0 ms throughput over the same":  "**PASS**", // 38k of 40k
		stormTarget: "**PASS**",
		"≤ 1.1 × the minimum requests (0 ms drain)":                                                                  "**PASS**", // 1.05
		"p99 < linger + 100 ms = 300 ms below saturation (0 ms simulator latency, paced at 50 % of the drain rate)":  "**PASS**",
		"p99 < linger + 100 ms = 300 ms below saturation (50 ms simulator latency, paced at 50 % of the drain rate)": "**FAIL**",
		rssTarget:    "**PASS**",
		memTarget:    "**PASS**",
		budgetTarget: "**PASS**",
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s: got %q, want %q (all: %v)", name, got[name], v, got)
		}
	}
}

func TestLatencyTargetsJudgeTheMeanOfBothPasses(t *testing.T) {
	const at100 = "adaptive limits at 100 ms of Target latency, plain HTTP/1.1: ≥ 90 % of the 0 ms throughput over the same"
	tests := []struct {
		name               string
		repeat0, repeat100 int64 // events acknowledged in 4 s by the second pass (0: no second pass)
		want               string
	}{
		{"one pass: 46k of 50k", 0, 0, "**PASS**"},
		{"second pass at 100 ms slower: 43k of 50k", 0, 160_000, "**FAIL**"},
		{"machine slower in the second pass: 43k of 45k", 180_000, 160_000, "**PASS**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleResults()
			for _, rp := range []struct {
				ms    int
				acked int64
			}{{100, tt.repeat100}, {0, tt.repeat0}} {
				if rp.acked > 0 {
					d := r.Latency[0].Run // 200,000 in 4 s
					d.Events, d.Acked = rp.acked, rp.acked
					r.Latency = append(r.Latency, LatencyPoint{LatencyMs: rp.ms, Repeat: true, Run: d})
				}
			}
			for _, tg := range Evaluate(r) {
				if tg.Name == at100 && tg.Verdict() != tt.want {
					t.Fatalf("%s: %s (%s)", tt.want, tg.Verdict(), tg.Measured)
				}
			}
		})
	}
}

func TestEvaluateFailsAndMissing(t *testing.T) {
	r := sampleResults()
	r.E2E[0].Drain.CPUUser = 20 * time.Second // 20+2 s over 1M events
	r.E2E[0].Drain.Requests = 300_000         // 1.5 ×
	r.E2E[0].Drain.Complete = false
	r.E2E[0].Paced = nil
	for i := range r.Storms[0].Run.Timeline {
		r.Storms[0].Run.Timeline[i].InFlight = 1000 // never falls
	}
	r.E2E[1].Drain.PeakRSS = 600 << 20     // over its 512 MiB limit
	r.TLS[0].Run.CPUUser = 2 * time.Second // 2.45 s over 200,000 events: 12.3 µs against 7.6
	r.Mem.PeakRSS = 3 << 30
	r.Mem.LiveHeap = 1 << 30 // more than the 900 MiB the budget counted
	byName := map[string]Target{}
	for _, tg := range Evaluate(r) {
		byName[tg.Name] = tg
	}
	if tg := byName[cpuTarget]; tg.Pass {
		t.Errorf("CPU: %+v", tg)
	}
	if tg := byName[tlsCPUTarget]; tg.Pass || tg.Missing {
		t.Errorf("CPU over HTTPS: %+v", tg)
	}
	if tg := byName["≤ 1.1 × the minimum requests (0 ms drain)"]; tg.Pass {
		t.Errorf("requests: %+v", tg)
	}
	for _, name := range []string{rssTarget, memTarget, budgetTarget} {
		if tg := byName[name]; tg.Pass || tg.Missing {
			t.Errorf("%s: %+v", name, tg)
		}
	}
	if tg := byName[stormTarget]; tg.Pass {
		t.Errorf("a storm whose requests in flight never fell passed: %+v", tg)
	}
	if tg := byName["p99 < linger + 100 ms = 300 ms below saturation (0 ms simulator latency)"]; !tg.Missing || tg.Verdict() != "not measured" {
		t.Errorf("paced missing: %+v", tg)
	}
}

func TestRender(t *testing.T) {
	md := Render(sampleResults())
	for _, want := range []string{
		"# notifierd benchmarks",
		"2 CPUs (`nproc`), AMD EPYC",
		"`make bench`",
		"1,000,000 events on a topic of 12 partitions",
		"**200,000**",
		"The daemon reported GOGC 400 and a soft memory limit of 512 MiB",
		"| bare kafka-go consumer group, kafka.Reader (no work) | 1,000,000 | 100k | 1.00 |",
		"| bare kafka-go consumer group, notifierd's fetcher at read_committed (no work) | 1,000,000 | 125k | 1.25 |",
		"| kcat -C (librdkafka) | 1,000,000 | 200k | 2.00 |",
		"| **notifierd, 0 ms, backlog drain** | 1,000,000 | 50k | 0.50 | 5.00 | 8.0 | 8.0 (6.0+2.0) | 0.210 | 1.05 | – | – | 100 MiB |",
		"| notifierd, 0 ms, paced at 25k/s (50 %) | 500,000 | 25k |  |  |", // no ratios for a paced rate
		"| bare HTTP sender: notifierd's client, no Kafka, one 3,000-byte request of 5 notifications posted 100,000 times, 256 concurrent, 0 ms | 500,000 | 125k | | | 6.0 | 6.0 | 0.200 |",
		// 2 µs of kafka-go + 30 µs per request × 0.21 requests per event
		// (8.3 + 20 + 1.7) µs per event on 2 cores: 66.7k/s, 67 % of the bare 100k/s
		"the simulator took 20.0 µs and the broker 1.7 µs of CPU per event. A sender at that floor, sharing 2 cores with them, could deliver at most 67.6k events/s, 68 % of the bare kafka-go rate.",
		"bare kafka-go reads an event for 1.6 µs; notifierd's HTTP client alone (the bare HTTP sender below: no Kafka, no decoding, no batching) spends 30.0 µs per request, and the 0 ms drain needed 0.210 requests per event, so delivery costs at least 6.3 µs per event. Together, 7.9 µs per event before any work of notifierd's own; notifierd spent 8.0 µs.",
		"p99 250 ms (p50 210 ms, p90",
		"to the simulator's door p99 240 ms (p50 205 ms)",
		"machine 60 % busy",
		"| 0 ms, paced 50 % | 3.75s / 1.25s |",
		"full 3, linger 97",
		"| 1,000,000 | 20 MiB | 1.46 GiB | 1.56 GiB | 2.25 GiB | 1552 B | 1258 B | 923 B | 900 MiB | 944 B | **PASS** |",
		"![throughput against simulator latency and batch.maxNotifications](bench-throughput.svg)",
		"| 0 ms | 1 | 200,000 | 10k | 1.000 | 1.00 | 5.0 | 100 MiB | 0 | 0 % | yes |",
		"go test -run '^$' -bench .",
		"- something odd",
		"![throughput over time, static and adaptive limits, and requests in flight through storms](bench-adaptive.svg)",
		"| 100 ms | plain HTTP/1.1 | static (256) | 200,000 | 20k | 0.40 |",
		"| 100 ms | plain HTTP/1.1 | adaptive | 184,000 | 46k | 0.92 |",
		"| 100 ms | HTTPS, HTTP/2 | adaptive | 140,000 | 35k | 0.88 |",
		"| 429 storm at 100 ms | 800 | 1000 ms | 100 | 1k/s | 1700 ms |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n---\n%s", want, md)
		}
	}
	if strings.Count(md, "**FAIL**") != 3 {
		t.Errorf("want three FAILs (p99 at 50 ms, 200 ms latency over HTTP/1.1, 100 ms over HTTP/2):\n%s", md)
	}
}

func TestCPUFloorNeedsEveryBaseline(t *testing.T) {
	for name, drop := range map[string]func(*Results){
		"bare":  func(r *Results) { r.Bare = nil },
		"http":  func(r *Results) { r.HTTPFloor = nil },
		"drain": func(r *Results) { r.E2E = r.E2E[1:] },
	} {
		r := sampleResults()
		drop(r)
		if f, ok := CPUFloorOf(r); ok {
			t.Errorf("without %s: floor %+v", name, f)
		}
		if strings.Contains(Render(r), "The floor under the CPU target") {
			t.Errorf("without %s the report still states a floor", name)
		}
	}
}

func TestRenderWithNothingMeasured(t *testing.T) {
	md := Render(&Results{Notes: []string{"kcat: not installed"}})
	if !strings.Contains(md, "not measured") || !strings.Contains(md, "kcat: not installed") {
		t.Errorf("got:\n%s", md)
	}
}

func TestRenderNotesDuplicatesAndBounds(t *testing.T) {
	r := sampleResults()
	r.Sweep[1].Run.Dups = 22_700
	r.Sweep[1].Run.Complete = false
	r.Sweep[1].Run.Acked = 146_381
	md := Render(r)
	for _, want := range []string{
		"- sweep point 50 ms, batch.maxNotifications 50: 22,700 duplicate acknowledgements",
		"- sweep point 50 ms, batch.maxNotifications 50 reached its time bound: 146,381 of 200,000 events acknowledged.",
		"| 50 ms | 50 | 146,381 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
