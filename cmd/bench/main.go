// Command bench runs notifierd's benchmark against the real local Kafka broker and the
// Target simulator, and regenerates docs/BENCHMARKS.md and docs/bench-throughput.svg.
//
//	go run ./cmd/bench                    # the full run (make bench)
//	go run ./cmd/bench --events 50000 --open-sessions 20000 --out /tmp/bench   # a quick one
//
// If nothing answers on the broker address it starts the local broker with
// deploy/kafka/local-kafka.sh and stops it at the end. It is not part of CI.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/notifierd/notifierd/internal/bench"
	"github.com/notifierd/notifierd/internal/repo"
	"github.com/notifierd/notifierd/internal/testbed"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == bench.HTTPFloorCommand {
		return httpFloor(args[1:], stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		broker      = fs.String("broker", "127.0.0.1:9092", "Kafka bootstrap `address` (the local broker is started if nothing answers there)")
		events      = fs.Int64("events", 1_000_000, "events in the main data set")
		sessions    = fs.Int("sessions", 0, "sessions in the main data set (0: events/20, within 10,000 to 100,000)")
		partitions  = fs.Int("partitions", 12, "partitions of every topic")
		linger      = fs.Duration("linger", 200*time.Millisecond, "batch.linger of the main runs")
		maxNotes    = fs.Int("max-notifications", 50, "batch.maxNotifications of the main runs")
		naiveEvents = fs.Int64("naive-events", 100_000, "the naive sender stops after this many events")
		naiveTime   = fs.Duration("naive-time", 20*time.Second, "or after this long")
		pacedFrac   = fs.String("paced-fractions", "0.5,0.25", "paced produce rates for latency, as fractions of the measured drain rate")
		pacedDur    = fs.Duration("paced-duration", 20*time.Second, "how long the paced producer runs")
		open        = fs.Int64("open-sessions", 1_000_000, "memory measurement: open sessions (one event each)")
		memBytes    = fs.Int64("mem-buffered-bytes", 2<<30, "memory measurement: batch.maxBufferedBytes")
		sweepEvents = fs.Int64("sweep-events", 0, "events per sweep point (0: events/5, within 10,000 to 200,000)")
		sweepTime   = fs.Duration("sweep-time", 60*time.Second, "time bound per sweep point")
		sweepLat    = fs.String("sweep-latencies", "0,10,50,100", "simulator latencies of the sweep, ms")
		sweepSizes  = fs.String("sweep-sizes", "1,10,50", "batch.maxNotifications values of the sweep (at 0 ms)")
		runTimeout  = fs.Duration("run-timeout", 10*time.Minute, "bound for one daemon run to acknowledge everything")
		skip        = fs.String("skip", "", "comma-separated measurements to leave out: bare,kcat,naive,http,e2e,e2e50,memory,sweep,latency,storm,tls,receipts,tracing")
		latencyPts  = fs.String("latency-points", "0,50,100,200", "simulator latencies, ms, at which static and adaptive limits drain the same data set")
		latencyEvts = fs.Int64("latency-events", 0, "events drained at each latency point and TLS run (0: events/2, at least 10,000)")
		stormLat    = fs.Duration("storm-latency", 100*time.Millisecond, "simulator latency of the 429 storm and 5xx burst runs")
		out         = fs.String("out", "docs", "`directory` for BENCHMARKS.md and the chart")
		seed        = fs.Uint64("seed", 1, "workload seed")
		cpuProfile  = fs.String("cpuprofile", "", "write a CPU profile of the bench process (the simulator, producers, baselines run in it) to `file`")
		fromJSON    = fs.String("from-json", "", "measure nothing: render the report and chart from a `file` of saved results (.cache/bench/last-results.json)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *fromJSON != "" {
		return render(*fromJSON, *out, stderr)
	}
	root, err := repo.Root()
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if *sessions == 0 {
		*sessions = int(min(max(*events/20, 10_000), 100_000))
	}
	if *sweepEvents == 0 {
		*sweepEvents = min(max(*events/5, 10_000), 200_000)
	}
	if *latencyEvts == 0 {
		*latencyEvts = max(*events/2, 10_000)
	}
	latencyPoints, err0 := ints(*latencyPts)
	lats, err1 := ints(*sweepLat)
	sizes, err2 := ints(*sweepSizes)
	fracs, err3 := floats(*pacedFrac)
	if err := errors.Join(err0, err1, err2, err3); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	skipSet := map[string]bool{}
	for _, s := range strings.Split(*skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			skipSet[s] = true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	local, err := localBroker(root, *broker, stderr)
	if err == nil && local != nil {
		err = local.Ensure(ctx)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	brokerPID := 0
	if local != nil {
		defer func() { _ = local.Close(context.WithoutCancel(ctx)) }()
		brokerPID = local.PID()
	}

	opt := bench.Options{
		Broker: *broker, RepoRoot: root, WorkDir: filepath.Join(root, ".cache", "bench"),
		Command: strings.TrimSpace("go run ./cmd/bench " + strings.Join(args, " ")), Seed: *seed,
		Events: *events, Sessions: *sessions, Partitions: *partitions, Linger: *linger, MaxNotifications: *maxNotes,
		NaiveEvents: *naiveEvents, NaiveTime: *naiveTime, PacedFractions: fracs, PacedDuration: *pacedDur,
		OpenSessions: *open, MemBufferedBytes: *memBytes,
		SweepEvents: *sweepEvents, SweepTime: *sweepTime, SweepLatencies: lats, SweepSizes: sizes,
		LatencyPoints: latencyPoints, LatencyEvents: *latencyEvts, StormLatency: *stormLat,
		RunTimeout: *runTimeout, Skip: skipSet, Log: stderr, BrokerPID: brokerPID,
	}
	if os.Getenv("MAKELEVEL") != "" { // make bench passes --broker, then BENCH_FLAGS
		rest := args
		if len(rest) >= 2 && rest[0] == "--broker" {
			rest = rest[2:]
		}
		opt.Command = "make bench"
		if len(rest) > 0 {
			opt.Command += " BENCH_FLAGS='" + strings.Join(rest, " ") + "'"
		}
	}
	res, err := bench.Run(ctx, opt)
	if res == nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if err != nil {
		res.Notes = append(res.Notes, "run stopped early: "+err.Error())
	}
	if werr := write(*out, filepath.Join(opt.WorkDir, "last-results.json"), res); werr != nil {
		fmt.Fprintln(stderr, "bench:", werr)
		return 1
	}
	fmt.Fprintf(stderr, "bench: wrote %s and %s in %s\n", filepath.Join(*out, "BENCHMARKS.md"), filepath.Join(*out, bench.ChartFile), res.Elapsed.Round(time.Second))
	for _, t := range bench.Evaluate(res) {
		fmt.Fprintf(stderr, "  %-12s %s: %s\n", t.Verdict(), t.Name, t.Measured)
	}
	if err != nil {
		return 1
	}
	return 0
}

// render writes the report and charts from saved results.
func render(path, dir string, stderr io.Writer) int {
	raw, err := os.ReadFile(path)
	var res bench.Results
	if err == nil {
		err = json.Unmarshal(raw, &res)
	}
	if err == nil {
		err = write(dir, "", &res)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// write renders the report and the charts into dir and, unless rawPath is empty, keeps the
// raw results there as JSON.
func write(dir, rawPath string, res *bench.Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"BENCHMARKS.md":         []byte(bench.Render(res)),
		bench.ChartFile:         bench.ThroughputChart(res),
		bench.AdaptiveChartFile: bench.AdaptiveChart(res),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	if rawPath == "" {
		return nil
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(rawPath, raw, 0o644)
}

// localBroker is the local broker (make test's) at addr, started if nothing answers there
// and then stopped at the end; nil for a broker elsewhere, which must answer.
func localBroker(root, addr string, stderr io.Writer) (*testbed.LocalKafka, error) {
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || host != "127.0.0.1" {
		if conn, derr := net.DialTimeout("tcp", addr, 2*time.Second); derr == nil {
			conn.Close()
			return nil, nil // nothing to start, stop or measure
		}
		return nil, fmt.Errorf("nothing answers at %s", addr)
	}
	home := os.Getenv("KAFKA_HOME_DIR")
	if home == "" {
		home = filepath.Join(root, ".cache", "kafka")
	}
	return &testbed.LocalKafka{Port: p, Home: home, RepoRoot: root,
		Script: filepath.Join(root, "deploy", "kafka", "local-kafka.sh"),
		Log:    func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }}, nil
}

func floats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, fmt.Errorf("%q is not a fraction in (0, 1]", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// httpFloor is the bare HTTP sender, run by the bench as a process of its own:
// http-floor URL BODY-FILE NOTIFICATIONS REQUESTS CONCURRENCY [CA-FILE http1|h2].
func httpFloor(args []string, stderr io.Writer) int {
	var caFile string
	var http1 bool
	if len(args) == 7 {
		caFile, http1 = args[5], args[6] == "http1"
		args = args[:5]
	}
	if len(args) != 5 {
		fmt.Fprintln(stderr, "bench http-floor: want URL BODY-FILE NOTIFICATIONS REQUESTS CONCURRENCY [CA-FILE http1|h2]")
		return 2
	}
	counts, err := ints(strings.Join(args[2:], ","))
	if err == nil && len(counts) != 3 {
		err = fmt.Errorf("NOTIFICATIONS REQUESTS CONCURRENCY: %q are not three numbers", args[2:])
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench http-floor:", err)
		return 2
	}
	body, err := os.ReadFile(args[1])
	if err != nil {
		fmt.Fprintln(stderr, "bench http-floor:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := bench.HTTPFloorSend(ctx, args[0], body, counts[0], counts[1], counts[2], caFile, http1); err != nil {
		fmt.Fprintln(stderr, "bench http-floor:", err)
		return 1
	}
	return 0
}
