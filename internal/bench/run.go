package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Options scale and shape a run; cmd/bench maps its flags onto them.
type Options struct {
	Broker     string
	RepoRoot   string // where ./cmd/notifierd is built from
	WorkDir    string // binary, daemon configs and logs (under .cache/)
	Command    string // as stated in the report
	Seed       uint64
	Events     int64 // main data set
	Sessions   int
	Partitions int

	Linger           time.Duration // batch.linger of the main runs
	MaxNotifications int           // batch.maxNotifications of the main runs

	NaiveEvents int64         // the naive sender stops after this many events...
	NaiveTime   time.Duration // ...or this long

	PacedFractions []float64     // paced produce rates, as fractions of the drain rate
	PacedDuration  time.Duration // how long the paced producer runs

	OpenSessions     int64 // memory measurement: events of a session of their own
	MemBufferedBytes int64 // its batch.maxBufferedBytes

	SweepEvents    int64
	SweepTime      time.Duration // bound per sweep point
	SweepLatencies []int         // ms, at MaxNotifications
	SweepSizes     []int         // batch.maxNotifications, at 0 ms

	LatencyPoints []int         // ms: static against adaptive limits
	LatencyEvents int64         // their data set, also the TLS runs'; large enough that the ramp is a small share
	StormLatency  time.Duration // simulator latency of the storm runs

	RunTimeout time.Duration // bound for one daemon run to acknowledge everything
	BrokerPID  int           // the broker's process, for its CPU time (0: unknown)

	Skip map[string]bool // measurements to leave out: bare, kcat, naive, http, e2e, e2e50, memory, sweep, latency, storm, tls, receipts, tracing
	Log  io.Writer
}

// Bench is one run in progress.
type Bench struct {
	opt    Options
	k      *Kafka
	bin    string
	runID  string
	dir    string
	dlq    string
	topics []string
	res    *Results

	main     string    // the main topic
	mainData *Produced // its produce stamps
	mainEnds map[int]int64

	latencyTopic    string // the latency, storm and TLS runs' data set, made on first use
	latencyProduced *Produced
}

// Run does every measurement not skipped and returns the results; a measurement that
// fails is noted in Results.Notes and the run goes on.
func Run(ctx context.Context, opt Options) (*Results, error) {
	// The simulator keeps every acknowledged notification; on a heap of a million of them
	// the default GC pacing would spend the shared cores on scanning. The soft limit keeps
	// the laxer pacing from taking the memory the daemon's 1M-session run needs.
	debug.SetGCPercent(200)
	debug.SetMemoryLimit(4 << 30)
	b := &Bench{opt: opt, k: &Kafka{testbed.Admin{Addr: opt.Broker}}, runID: fmt.Sprintf("bench-%d", time.Now().Unix())}
	b.dir = filepath.Join(opt.WorkDir, b.runID)
	b.res = &Results{
		Started: time.Now(), Command: opt.Command, Machine: machineInfo(),
		Config: RunConfig{Partitions: opt.Partitions, Linger: opt.Linger, MaxNotifications: opt.MaxNotifications,
			PacedFractions: opt.PacedFractions, PacedDuration: opt.PacedDuration},
	}
	defer func() { b.res.Elapsed = time.Since(b.res.Started) }()
	defer b.cleanup()

	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, err
	}
	b.bin = filepath.Join(opt.WorkDir, "notifierd")
	b.logf("building notifierd into %s", b.bin)
	if err := testbed.BuildBinary(ctx, opt.RepoRoot, "./cmd/notifierd", b.bin); err != nil {
		return nil, err
	}
	def := config.Default() // the runs change neither
	b.res.Config.MaxConcurrency = def.Target.MaxConcurrency
	b.res.Config.MaxBufferedBytes = def.Batch.MaxBufferedBytes
	var err error
	if b.dlq, err = b.topic(ctx, "dlq", 1); err != nil {
		return nil, err
	}
	if err := b.produceMain(ctx); err != nil {
		return nil, err
	}

	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"bare", b.bareKafkaGo},
		{"kcat", b.kcat},
		{"naive", func(ctx context.Context) error { return b.naive(ctx, 0) }},
		{"naive", func(ctx context.Context) error { return b.naive(ctx, 50) }},
		{"http", b.httpFloor},
		{"e2e", func(ctx context.Context) error { return b.e2e(ctx, 0) }},
		{"e2e50", func(ctx context.Context) error { return b.e2e(ctx, 50) }},
		{"memory", b.memory},
		{"sweep", b.sweep},
		{"latency", b.latencyPoints},
		{"storm", b.storms},
		{"tls", b.tlsRuns},
		{"receipts", b.receiptsRuns},
		{"tracing", b.tracingRuns},
	}
	for _, s := range steps {
		if opt.Skip[s.name] {
			continue
		}
		if err := s.run(ctx); err != nil {
			if ctx.Err() != nil {
				return b.res, ctx.Err()
			}
			b.note("%s: %v", s.name, err)
		}
		runtime.GC() // drop the step's simulator records before the next one
	}
	return b.res, nil
}

func (b *Bench) logf(format string, args ...any) {
	if b.opt.Log != nil {
		fmt.Fprintf(b.opt.Log, "bench %s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func (b *Bench) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.res.Notes = append(b.res.Notes, msg)
	b.logf("NOTE: %s", msg)
}

// topic creates a fresh topic named after the run and remembers it for deletion.
func (b *Bench) topic(ctx context.Context, name string, partitions int) (string, error) {
	t := b.runID + "-" + name
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.k.CreateTopic(cctx, t, partitions); err != nil {
		return "", err
	}
	b.topics = append(b.topics, t)
	return t, nil
}

// cleanup deletes the run's topics (its data sets are gigabytes on a shared broker).
func (b *Bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.k.DeleteTopics(ctx, b.topics...); err != nil {
		b.logf("deleting topics: %v", err)
	}
}

func (b *Bench) produceMain(ctx context.Context) error {
	var err error
	if b.main, err = b.topic(ctx, "main", b.opt.Partitions); err != nil {
		return err
	}
	w := NewWorkload(b.opt.Sessions, b.opt.Seed, "m")
	b.logf("producing %d events over %d sessions to %s", b.opt.Events, w.Sessions(), b.main)
	p, err := b.k.Produce(ctx, b.main, b.opt.Events, w.PageView)
	if err != nil {
		return err
	}
	b.mainData = p
	if b.mainEnds, err = b.k.EndOffsets(ctx, b.main); err != nil {
		return err
	}
	minL, minS := MinRequests(p.Stamps, b.opt.Linger.Milliseconds(), b.opt.MaxNotifications)
	b.res.Workload = WorkloadInfo{
		Events: p.Count(), Sessions: w.Sessions(), MinBytes: p.MinBytes, MaxBytes: p.MaxBytes,
		AvgBytes: int(p.Bytes / max(p.Count(), 1)), ProduceElapsed: p.Elapsed, MinLinger: minL, MinPerSession: minS,
	}
	b.logf("produced %d events (%d MB) in %s: %.0f events/s; minimum requests %d (per session %d)",
		p.Count(), p.Bytes>>20, p.Elapsed.Round(time.Millisecond), PerSecond(p.Count(), p.Elapsed), minL, minS)
	return nil
}

// machineInfo describes the machine from /proc.
func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
				m.MemTotal = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

var errIncomplete = errors.New("not every event was acknowledged within the time bound")
