// Command chaos runs notifierd's fault-injection suite (internal/chaos) against the real
// local Apache Kafka, the notifierd binary as separate processes and the Target simulator,
// prints one row per scenario, writes the report, and exits non-zero if any scenario lost
// an event or failed an assertion.
//
//	go run ./cmd/chaos                       the full suite; writes docs/RELIABILITY.md
//	go run ./cmd/chaos --short               the CI version (a few minutes)
//	go run ./cmd/chaos --scenario kill9,memory --seed 42
//
// It starts the broker with deploy/kafka/local-kafka.sh if nothing answers on --kafka-port,
// and stops it (deleting its data) at the end only if it started it. It uses its own broker
// home and ports by default, so restarting the broker never disturbs make test's.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/notifierd/notifierd/internal/chaos"
	"github.com/notifierd/notifierd/internal/repo"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	short := fs.Bool("short", false, "the short version for CI: shorter faults, fewer events, 50,000 inputs per fuzz target")
	scenario := fs.String("scenario", "", "comma-separated scenarios to run (default: all): "+strings.Join(chaos.ScenarioNames(), ", "))
	out := fs.String("out", "", "write the report here (default: docs/RELIABILITY.md for a full run of every scenario, nothing otherwise; - for none)")
	seed := fs.Uint64("seed", 0, "seed of every random choice (default: random, printed)")
	port := fs.Int("kafka-port", 19092, "client port of the local broker on 127.0.0.1 (the controller uses the next port)")
	home := fs.String("kafka-home", "", "KAFKA_HOME_DIR of the local broker (default: .cache/chaos/kafka)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chaos: unexpected arguments %q\n", fs.Args())
		return 2
	}
	root, err := repo.Root()
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	opts := chaos.Options{
		Short: *short, Seed: *seed, KafkaPort: *port, KafkaHome: *home, RepoRoot: root, Log: stderr,
		Command: "go run ./cmd/chaos " + strings.Join(args, " "),
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	if !containsSeed(args) {
		opts.Command += fmt.Sprintf(" (seed %d)", opts.Seed)
	}
	opts.Command = strings.TrimSpace(strings.ReplaceAll(opts.Command, "  ", " "))
	if opts.KafkaHome == "" {
		opts.KafkaHome = filepath.Join(root, ".cache", "chaos", "kafka")
	}
	if *scenario != "" {
		opts.Only = strings.Split(*scenario, ",")
	}
	outPath := *out
	if outPath == "" && !*short && len(opts.Only) == 0 {
		outPath = filepath.Join(root, "docs", "RELIABILITY.md")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := chaos.Run(ctx, opts)
	if rep == nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 1
	}
	rep.WriteText(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "chaos: interrupted:", err)
		return 1
	}
	if outPath != "" && outPath != "-" {
		if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
			fmt.Fprintln(stderr, "chaos:", err)
			return 1
		}
		if err := os.WriteFile(outPath, []byte(rep.Markdown()), 0o644); err != nil {
			fmt.Fprintln(stderr, "chaos:", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nreport written to %s\n", outPath)
	}
	if !rep.Passed() {
		fmt.Fprintln(stdout, "\nchaos: FAILED")
		return 1
	}
	fmt.Fprintf(stdout, "\nchaos: all %d scenarios passed in %s\n", len(rep.Results), rep.Duration.Round(time.Second))
	return 0
}

func containsSeed(args []string) bool {
	for _, a := range args {
		if a == "--seed" || a == "-seed" || strings.HasPrefix(a, "--seed=") || strings.HasPrefix(a, "-seed=") {
			return true
		}
	}
	return false
}
