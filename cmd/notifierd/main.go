// Command notifierd consumes display and click events from Kafka and delivers them to the
// Adobe Target Delivery API as notifications, committing offsets only once Target has
// acknowledged them (or they sit in the dead-letter topic).
//
//	notifierd --config FILE          run the daemon
//	notifierd check-config --config FILE   validate and print the effective configuration
//	notifierd publish [flags]        publish display/click events (from flags, JSON or stdin)
//	notifierd dlq list|replay [flags]   list the dead-letter topic, replay chosen entries
//	notifierd --version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/tracing"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "check-config":
			return checkConfig(args[1:], stdout, stderr)
		case "publish":
			return publishCmd(args[1:], os.Stdin, stdout, stderr)
		case "dlq":
			return dlqCmd(args[1:], stdout, stderr)
		case "receipts":
			return receiptsCmd(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("notifierd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { verbsHelp(stderr); fs.PrintDefaults() }
	configPath := fs.String("config", "", "YAML configuration `file` (every key can be overridden by NOTIFIERD_* variables)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return helpOrUsageError(err)
	}
	if *showVersion {
		fmt.Fprintln(stdout, "notifierd", version)
		return 0
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err == nil {
		err = cfg.ValidateDaemon()
	}
	if err != nil {
		fmt.Fprintln(stderr, "notifierd:", err)
		return 2
	}
	log, err := newLogger(cfg.Log.Level)
	if err != nil {
		fmt.Fprintln(stderr, "notifierd:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	if os.Getenv("GOMEMLIMIT") == "" { // an operator's explicit limit wins
		debug.SetMemoryLimit(daemon.MemoryLimit(cfg))
	}
	if os.Getenv("GOGC") == "" { // likewise
		debug.SetGCPercent(daemon.GCPercent)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Off unless OTEL_TRACES_EXPORTER names an exporter; the provider is shut down (its spans
	// flushed, within tracing.FlushTimeout) once the daemon has stopped.
	tp, err := tracing.Setup(context.Background(), version, os.LookupEnv)
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return 1
	}
	defer func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			log.Warn("spans not flushed", zap.Error(err))
		}
	}()
	if tp.Enabled {
		log.Info("tracing on", zap.String("exporter", os.Getenv(tracing.ExporterEnv)), zap.Bool("propagateTrace", cfg.Target.PropagateTrace))
	}
	d, err := daemon.New(cfg, log, reg, daemon.WithTracing(tp))
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go exitOnSecondSignal(ctx, stop, log)
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", zap.Error(err))
		return 1
	}
	return 0
}

// exitOnSecondSignal: the first signal starts a graceful shutdown; a second one means now.
func exitOnSecondSignal(ctx context.Context, stop func(), log *zap.Logger) {
	<-ctx.Done()
	stop()
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
	<-again
	log.Warn("second signal: exiting now; uncommitted events will be redelivered")
	_ = log.Sync()
	os.Exit(130)
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("notifierd check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err == nil {
		err = cfg.ValidateDaemon()
	}
	if err != nil {
		fmt.Fprintln(stderr, "notifierd:", err)
		return 2
	}
	out, err := cfg.Redacted()
	if err != nil {
		fmt.Fprintln(stderr, "notifierd:", err)
		return 1
	}
	fmt.Fprintf(stdout, "# configuration is valid; effective values (secrets redacted):\n%s", out)
	return 0
}

func newLogger(level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("config key log.level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	return cfg.Build()
}
