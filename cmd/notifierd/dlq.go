package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/dlqtool"
	"github.com/notifierd/notifierd/internal/kafkaconn"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

const dlqSynopsis = `Usage:
  notifierd dlq list   [connection flags] [--reason R ...] [--limit N] [--json]
  notifierd dlq replay [connection flags] (--reason R ... | --source-offset T/P/O ... | --all) [--dry-run]

Connection flags: --config FILE, --brokers LIST, --topic T (replay), --dlq-topic T, --timeout D.
list reads the dead-letter topic (kafka.dlqTopic) from the start of every partition up to
its current end, without a consumer group, so listing changes nothing.
replay publishes the chosen entries' original key and value to the events topic
(kafka.topic) again, so they go through notifierd once the cause is fixed.
`

const dlqListSynopsis = `Usage: notifierd dlq list [connection flags] [--reason R ...] [--limit N] [--json]

Lists the dead-letter topic (kafka.dlqTopic), oldest first per partition, up to its end when
the listing started; it uses no consumer group and commits nothing. One line per entry: when
it was dead-lettered, the reason, the source topic/partition/offset (what --source-offset of
replay takes), the event id and session if the value parses, and the error, cut to fit;
--json prints JSON Lines with the whole error, the key and the value.
`

const dlqReplaySynopsis = `Usage: notifierd dlq replay [connection flags] (--reason R ... | --source-offset T/P/O ... | --all) [--dry-run]

Publishes the selected dead letters' original key and value to the events topic
(kafka.topic) again, with the header notifierd-replayed-from: <dlq topic>/<partition>/<offset>,
so notifierd delivers them once the cause is fixed. A selection is required: --reason and
--source-offset (both repeatable; given together, an entry must match both) or --all for
everything. Named source offsets must all be found, or nothing is replayed. A source message
dead-lettered more than once is replayed once. --dry-run shows what would be replayed.

The dead-letter topic is left as it is, so the same entry can be replayed again: that is the
operator's choice. A replayed display is harmless for Target, which counts an impressionId
once: an event without an id gets one derived from the dead-letter entry it was replayed
from, so every replay of that entry carries the same id and impressionId.
`

func dlqCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, dlqSynopsis)
		return 2
	}
	switch args[0] {
	case "list":
		return dlqList(args[1:], stdout, stderr)
	case "replay":
		return dlqReplay(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, dlqSynopsis)
		return 0
	default:
		fmt.Fprintf(stderr, "notifierd dlq: unknown command %q\n%s", args[0], dlqSynopsis)
		return 2
	}
}

func dlqList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("notifierd dlq list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs, stderr, dlqListSynopsis)
	var kf kafkaFlags
	kf.register(fs, false, true, 5*time.Minute)
	var reasons repeated
	fs.Var(&reasons, "reason", "list only entries with this `reason` code (repeatable)")
	limit := fs.Int("limit", 0, "list at most `N` entries (0: all)")
	asJSON := fs.Bool("json", false, "print JSON Lines with whole errors, keys and values")
	if err := fs.Parse(args); err != nil {
		return helpOrUsageError(err)
	}
	if fs.NArg() > 0 || *limit < 0 {
		fmt.Fprintln(stderr, "notifierd dlq list: unexpected argument, or a negative --limit")
		return 2
	}
	cfg, err := kf.load(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, "notifierd dlq list:", err)
		return 2
	}
	return withDLQ(cfg, kf.timeout, stderr, "notifierd dlq list", func(ctx context.Context, client *kafka.Client, _ *kafka.Transport) int {
		opts := dlqtool.ListOptions{Select: dlqtool.Selection{Reasons: reasons}, Limit: *limit, JSON: *asJSON}
		if _, err := dlqtool.List(stdout, dlqtool.Entries(ctx, client, cfg.Kafka.DLQTopic), opts); err != nil {
			fmt.Fprintf(stderr, "notifierd dlq list: %v\n", err)
			return 1
		}
		return 0
	})
}

func dlqReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("notifierd dlq replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs, stderr, dlqReplaySynopsis)
	var kf kafkaFlags
	kf.register(fs, true, true, 5*time.Minute)
	var sel dlqtool.Selection
	fs.Var((*repeated)(&sel.Reasons), "reason", "replay entries with this `reason` code (repeatable)")
	fs.Func("source-offset", "replay the entry of the event consumed at `topic/partition/offset`, as list shows it (repeatable)", func(s string) error {
		p, err := dlqtool.ParsePosition(s)
		sel.Sources = append(sel.Sources, p)
		return err
	})
	fs.BoolVar(&sel.All, "all", false, "replay every entry")
	dryRun := fs.Bool("dry-run", false, "show what would be replayed, write nothing")
	if err := fs.Parse(args); err != nil {
		return helpOrUsageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "notifierd dlq replay: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := sel.CheckExplicit(); err != nil {
		fmt.Fprintf(stderr, "notifierd dlq replay: %v (flags --reason, --source-offset, --all)\n", err)
		return 2
	}
	cfg, err := kf.load(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, "notifierd dlq replay:", err)
		return 2
	}
	return withDLQ(cfg, kf.timeout, stderr, "notifierd dlq replay", func(ctx context.Context, client *kafka.Client, transport *kafka.Transport) int {
		w := publish.NewKafkaWriter(publish.KafkaConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Transport: transport})
		verb := "replayed"
		if *dryRun {
			verb = "would replay"
		}
		r := dlqtool.Replayer{Produce: w.WriteMessages, DryRun: *dryRun, Report: func(e dlqtool.Entry) {
			fmt.Fprintf(stdout, "%s %s (reason %s, source %s, id %s)\n", verb, e.At, e.Reason, orDash(e.HasSource(), e.Source.String()), orDash(e.EventID != "", e.EventID))
		}}
		res, err := r.Replay(ctx, dlqtool.Entries(ctx, client, cfg.Kafka.DLQTopic), sel)
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing the writer: %w", cerr)
		}
		summary := fmt.Sprintf("%s %d dead letter(s) from %s to %s", verb, res.Replayed, cfg.Kafka.DLQTopic, cfg.Kafka.Topic)
		if res.Duplicates > 0 {
			summary += fmt.Sprintf("; skipped %d more of the same source message(s)", res.Duplicates)
		}
		fmt.Fprintln(stdout, summary)
		if err != nil {
			fmt.Fprintf(stderr, "notifierd dlq replay: %v\n", err)
			return 1
		}
		return 0
	})
}

// withDLQ runs do with a context bounded by timeout and signals, and Kafka clients built
// from cfg's security settings, closed afterwards.
func withDLQ(cfg config.Config, timeout time.Duration, stderr io.Writer, name string, do func(context.Context, *kafka.Client, *kafka.Transport) int) int {
	transport, err := kafkaconn.Transport(cfg.Kafka, "notifierd-dlq")
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	defer transport.CloseIdleConnections()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return do(ctx, &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Transport: transport}, transport)
}

func orDash(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}
