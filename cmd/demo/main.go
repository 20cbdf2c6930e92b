// Command demo is the README's first command: `go run ./cmd/demo` runs notifierd end to end in
// one process, with nothing to set up. It starts an in-process Kafka-protocol broker (or uses
// --kafka), the Target Delivery API simulator and notifierd's real pipeline, publishes traffic
// for a few hundred visitors, shows live progress, and ends with a summary proving that every
// event was acknowledged by Target or dead-lettered. The exit status is 0 only then.
//
// The demo itself lives in internal/demo; this command owns the flags, the logger and the
// signals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/notifierd/notifierd/internal/demo"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the demo shuts down gracefully; a second one kills it at once.
	context.AfterFunc(ctx, func() {
		stop()
		fmt.Fprintln(os.Stderr, "\ndemo: interrupted, stopping notifierd gracefully (Ctrl-C again to quit at once)")
	})
	return runWith(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stdout))
}

// options are the parsed flags.
type options struct {
	demo    demo.Config
	logFile string
}

const usageHead = `usage: go run ./cmd/demo [flags]

Runs notifierd end to end in one process: an in-process Kafka broker (or --kafka), the
Target Delivery API simulator, notifierd's real pipeline and a traffic generator. It shows
live progress, stops once every event has an outcome (or on Ctrl-C), shuts notifierd down
gracefully and prints a summary proving that every produced event was acknowledged by
Target or dead-lettered, with every offset committed. Exit status: 0 then; 130 when
interrupted with nothing lost but some events still waiting in Kafka; 1 otherwise.

flags:
`

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{demo: demo.DefaultConfig()}
	c := &o.demo
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.IntVar(&c.Events, "events", c.Events, "events to publish; the demo stops when all of them have an outcome\n(the simulator keeps every one in memory)")
	fs.IntVar(&c.Visitors, "visitors", c.Visitors, "distinct visitors (each with its own session)")
	fs.IntVar(&c.Rate, "rate", c.Rate, "events published per second (0: as fast as the broker takes them)")
	fs.Float64Var(&c.InvalidRate, "invalid", c.InvalidRate, "fraction of events invalid on purpose (bad JSON, no tokens, unknown type)")
	fs.IntVar(&c.Partitions, "partitions", c.Partitions, "partitions of the events topic")
	fs.Uint64Var(&c.Seed, "seed", 0, "traffic seed, for the same traffic again (0: a new one)")
	fs.StringVar(&c.Kafka, "kafka", "", "host:port of a real Kafka broker to use instead of the in-process one\n(topics and group get unique names per run)")
	fs.BoolVar(&c.Faults, "faults", false, "the simulator also answers some requests 503 or 429 and drops some acks, so retries show")
	fs.DurationVar(&c.LatencyMin, "latency-min", c.LatencyMin, "the simulator's least latency per request")
	fs.DurationVar(&c.LatencyMax, "latency-max", c.LatencyMax, "the simulator's most latency per request")
	fs.StringVar(&c.AdminListen, "admin", c.AdminListen, "notifierd's admin listener (/metrics, /healthz, /readyz); empty disables")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "give up waiting for outcomes after this long")
	fs.StringVar(&o.logFile, "log", "", "write notifierd's logs (warn and above) to this file instead of stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return o, c.Validate()
}

// newLogger logs warnings and errors, human-readable, to path or stderr.
func newLogger(path string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.WarnLevel)
	cfg.Encoding = "console"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.Sampling = nil
	cfg.OutputPaths = []string{"stderr"}
	if path != "" {
		cfg.OutputPaths = []string{path}
	}
	return cfg.Build()
}

// runWith runs the demo and returns the exit status: 0 when every event is accounted for; 130
// when interrupted with nothing lost but some events still waiting in Kafka; 1 when something
// is unaccounted for or the demo could not run; 2 for bad flags.
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	log, err := newLogger(o.logFile)
	if err != nil {
		fmt.Fprintln(stderr, "demo: logger:", err)
		return 1
	}
	defer func() { _ = log.Sync() }()
	o.demo.Log, o.demo.Out, o.demo.TTY = log, stdout, tty

	report, err := demo.Run(ctx, o.demo)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	report.WriteSummary(stdout)
	switch {
	case report.OK():
		return 0
	case report.Interrupted && report.NothingLost():
		return 130 // as a shell reports Ctrl-C
	default:
		return 1
	}
}

// isTerminal reports whether f is a terminal that understands cursor movement.
func isTerminal(f *os.File) bool {
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
