package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Config is one demo run.
type Config struct {
	Events      int     // events to publish
	Visitors    int     // distinct visitors
	Partitions  int     // of the events topic
	Rate        int     // events per second; 0: as fast as the broker takes them
	InvalidRate float64 // fraction of events invalid on purpose
	Seed        uint64  // traffic seed; 0 picks one

	Kafka       string // bootstrap address of a real broker; empty starts an in-process one
	AdminListen string // notifierd's /metrics, /healthz, /readyz; empty disables

	LatencyMin, LatencyMax time.Duration // the simulator's latency per request
	Faults                 bool          // the simulator also answers some requests 503 or 429 and drops some acks

	Timeout time.Duration // give up waiting for outcomes after this long
	Refresh time.Duration // progress refresh interval (at least 1s when Out is not a terminal)

	Log *zap.Logger // notifierd's and the simulator's logs
	Out io.Writer   // progress and summary
	TTY bool        // Out is a terminal: redraw the progress block in place
}

// DefaultConfig is what `go run ./cmd/demo` runs without flags.
func DefaultConfig() Config {
	return Config{
		Events: 5000, Visitors: 300, Partitions: 6, Rate: 1000, InvalidRate: 0.01,
		AdminListen: "127.0.0.1:0",
		LatencyMin:  5 * time.Millisecond, LatencyMax: 30 * time.Millisecond,
		Timeout: 2 * time.Minute, Refresh: 500 * time.Millisecond,
		Log: zap.NewNop(), Out: io.Discard,
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Events >= 1, "events: must be at least 1, got %d", c.Events)
	check(c.Visitors >= 1, "visitors: must be at least 1, got %d", c.Visitors)
	check(c.Partitions >= 1, "partitions: must be at least 1, got %d", c.Partitions)
	check(c.Rate >= 0, "rate: must not be negative, got %d", c.Rate)
	check(c.InvalidRate >= 0 && c.InvalidRate <= 1, "invalid: must be in [0,1], got %v", c.InvalidRate)
	check(c.LatencyMin >= 0 && c.LatencyMax >= c.LatencyMin, "latency: need 0 <= min <= max, got %s and %s", c.LatencyMin, c.LatencyMax)
	check(c.Timeout > 0, "timeout: must be positive, got %s", c.Timeout)
	check(c.Refresh > 0, "refresh: must be positive, got %s", c.Refresh)
	check(c.Log != nil && c.Out != nil, "log and out: required")
	return errors.Join(errs...)
}

// simFaults are the simulator's misbehaviours: always some latency, and with Faults a few
// 503s, 429s with Retry-After and dropped acknowledgements, so retries show.
func (c Config) simFaults() targetsim.Faults {
	f := targetsim.Faults{LatencyMin: c.LatencyMin, LatencyMax: c.LatencyMax}
	if c.Faults {
		f.ErrorRate, f.ThrottleRate, f.RetryAfter, f.DropAckRate = 0.03, 0.02, time.Second, 0.01
	}
	return f
}

// setupTimeout bounds creating topics and reading them back.
const setupTimeout = 30 * time.Second

// Run runs the demo until every event has an outcome, ctx ends (Ctrl-C) or cfg.Timeout
// passes; then it stops notifierd gracefully, reads back what Target acknowledged and what the
// dead-letter topic holds, and returns the accounting. An error means the demo could not run
// or could not read the outcome back; a Report that is not OK means notifierd lost track of
// something.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	n := newNames(start)
	if cfg.Seed == 0 {
		cfg.Seed = uint64(start.UnixNano())
	}
	msgs, err := Generate(GeneratorConfig{
		Events: cfg.Events, Visitors: cfg.Visitors, InvalidRate: cfg.InvalidRate,
		Seed: cfg.Seed, RunID: n.run, Now: start,
	})
	if err != nil {
		return nil, err
	}

	b, err := testbed.StartBroker(ctx, cfg.Kafka)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	brokerName := "in-process Kafka (kfake) at " + b.Addr
	if b.Real {
		brokerName = "Kafka at " + b.Addr
	}
	admin := testbed.Admin{Addr: b.Addr}
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	defer cancelSetup()
	if err := errors.Join(admin.CreateTopic(setupCtx, n.topic, cfg.Partitions), admin.CreateTopic(setupCtx, n.dlq, 1), admin.CreateTopic(setupCtx, n.receipts, 3)); err != nil {
		return nil, err
	}

	errLog, err := zap.NewStdLogAt(cfg.Log, zap.WarnLevel)
	if err != nil {
		return nil, fmt.Errorf("logger for the Target simulator: %w", err)
	}
	sim, err := testbed.ServeSim(ctx, testbed.SimOptions{Config: targetsim.Config{Logger: cfg.Log.Named("targetsim")}, Faults: cfg.simFaults(), ErrorLog: errLog})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := sim.Close(); err != nil {
			cfg.Log.Warn("stopping the simulator", zap.Error(err))
		}
	}()

	dcfg, err := daemonConfig(cfg, b.Addr, n, sim.URL)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	d, err := daemon.New(dcfg, cfg.Log, reg)
	if err != nil {
		return nil, fmt.Errorf("building notifierd: %w", err)
	}
	r := &run{cfg: cfg, msgs: msgs, sim: sim.Sim, reg: reg, start: start}
	if err := r.startDaemon(ctx, d); err != nil {
		return nil, err
	}
	producer := testbed.NewProducer(b.Addr, n.topic, testbed.ProducerOptions{ClientID: "notifierd-demo"})
	r.startPublisher(ctx, producer)

	fmt.Fprintf(cfg.Out, "notifierd demo: %d events from %d visitors (seed %d) into %s (%d partitions)\n",
		cfg.Events, cfg.Visitors, cfg.Seed, n.topic, cfg.Partitions)
	fmt.Fprintf(cfg.Out, "  broker %s\n", brokerName)
	fmt.Fprintf(cfg.Out, "  Target simulator at %s (latency %s-%s, %s)\n", sim.URL, cfg.LatencyMin, cfg.LatencyMax, faultsText(cfg.Faults))
	if r.adminAddr != nil {
		fmt.Fprintf(cfg.Out, "  notifierd metrics at http://%s/metrics\n", r.adminAddr)
	}
	fmt.Fprintln(cfg.Out)

	stop := r.watch(ctx)
	pubErr := r.stopPublisher()
	if err := producer.Close(); err != nil && pubErr == nil {
		pubErr = fmt.Errorf("closing the producer: %w", err)
	}
	fmt.Fprintln(cfg.Out, "stopping notifierd ...")
	runErr := errors.Join(r.stopDaemon(), pubErr)

	rctx, cancelRead := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout)
	defer cancelRead()
	report, err := r.report(rctx, admin, n)
	if err != nil {
		return nil, err
	}
	report.Stop, report.Interrupted, report.Broker, report.Err = stop, stop == stopInterrupted, brokerName, runErr
	return report, nil
}

// report reads back what became of the events once notifierd has stopped and accounts for them.
func (r *run) report(ctx context.Context, admin testbed.Admin, n names) (*Report, error) {
	out, err := readBack(ctx, admin, n.topic, n.dlq, n.group)
	if err != nil {
		return nil, fmt.Errorf("reading the outcome back from Kafka: %w", err)
	}
	out.Acked = make(map[string]int)
	for id, rec := range r.sim.Received() {
		out.Acked[id] = rec.Count
	}
	numbers, err := ReadDaemon(r.reg)
	if err != nil {
		return nil, err
	}
	receipts, err := readReceipts(ctx, admin, n.receipts, out)
	if err != nil {
		return nil, fmt.Errorf("reading the receipts back: %w", err)
	}
	return &Report{
		Elapsed: time.Since(r.start), Topic: n.topic, DLQTopic: n.dlq, Group: n.group,
		Accounting: Account(r.msgs, int(r.produced.Load()), n.topic, out),
		Receipts:   receipts,
		Daemon:     numbers, Sim: r.sim.Stats(),
	}, nil
}

func faultsText(on bool) string {
	if on {
		return "faults: 3% 503, 2% 429 with Retry-After 1s, 1% of acks dropped"
	}
	return "no faults"
}

// names are the run's topics and group: unique per run, so runs against a real broker never mix.
type names struct {
	run, topic, dlq, receipts, group string
}

func newNames(now time.Time) names {
	var b [3]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	run := now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
	topic := "notifierd-demo-" + run
	return names{run: run, topic: topic, dlq: topic + ".dlq", receipts: topic + ".receipts", group: topic}
}

// daemonConfig is notifierd's default configuration pointed at the demo's broker, topics and
// simulator.
func daemonConfig(cfg Config, brokerAddr string, n names, simURL string) (config.Config, error) {
	c := testbed.DaemonConfig(testbed.Wiring{Brokers: brokerAddr, Topic: n.topic, Group: n.group, DLQTopic: n.dlq, SimURL: simURL, Client: "demoshop"})
	c.Kafka.SessionTimeout = 6 * time.Second // the minimum of both Kafka and kfake
	c.Kafka.HeartbeatInterval = time.Second
	c.Batch.Linger = 200 * time.Millisecond
	c.Admin.Listen = cfg.AdminListen
	c.Kafka.ReceiptsTopic = n.receipts // the demo shows what producers can learn from them
	if err := c.ValidateDaemon(); err != nil {
		return c, fmt.Errorf("notifierd configuration: %w", err)
	}
	return c, nil
}
