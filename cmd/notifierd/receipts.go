package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/kafkaread"
	"github.com/notifierd/notifierd/pkg/notify"
)

const receiptsSynopsis = `Usage: notifierd receipts [connection flags] [--receipts-topic T] [--session S ...] [--id I ...] [--follow] [--json]

Reads the receipts topic (kafka.receiptsTopic): one record per event outcome, acknowledged by
Target or dead-lettered, oldest first per partition, up to its end when the reading started,
or on as new receipts arrive with --follow (until interrupted). It uses no consumer group and
commits nothing. --session and --id (repeatable; given together, a receipt must match both)
select receipts. One line per receipt: when the outcome was reached, the outcome, the
notification id, the session, the source topic/partition/offset, and Target's requestId and
edgeHost or the dead-letter reason; --json prints each record as it is (JSON Lines).
`

// pollFollowed is how often --follow looks for new receipts.
const pollFollowed = 500 * time.Millisecond

func receiptsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("notifierd receipts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs, stderr, receiptsSynopsis)
	var kf kafkaFlags
	kf.register(fs, false, false, 5*time.Minute)
	topic := fs.String("receipts-topic", "", "receipts `topic` overriding kafka.receiptsTopic")
	var sessions, ids repeated
	fs.Var(&sessions, "session", "only receipts of this `sessionId` (repeatable)")
	fs.Var(&ids, "id", "only receipts of this notification `id` (repeatable)")
	follow := fs.Bool("follow", false, "keep reading new receipts until interrupted (--timeout still applies)")
	asJSON := fs.Bool("json", false, "print the records as they are, JSON Lines")
	if err := fs.Parse(args); err != nil {
		return helpOrUsageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "notifierd receipts: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := kf.load(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, "notifierd receipts:", err)
		return 2
	}
	if *topic != "" {
		cfg.Kafka.ReceiptsTopic = *topic
	}
	if cfg.Kafka.ReceiptsTopic == "" {
		fmt.Fprintf(stderr, "notifierd receipts: no receipts topic: set kafka.receiptsTopic (%s) or --receipts-topic\n", config.EnvName("kafka.receiptsTopic"))
		return 2
	}
	match := func(r notify.Receipt) bool {
		return (len(sessions) == 0 || slices.Contains(sessions, r.SessionID)) && (len(ids) == 0 || slices.Contains(ids, r.ID))
	}
	return withDLQ(cfg, kf.timeout, stderr, "notifierd receipts", func(ctx context.Context, client *kafka.Client, _ *kafka.Transport) int {
		msgs := kafkaread.Read(ctx, client, cfg.Kafka.ReceiptsTopic)
		if *follow {
			msgs = kafkaread.Follow(ctx, client, cfg.Kafka.ReceiptsTopic, pollFollowed)
		}
		if err := printReceipts(stdout, msgs, match, *asJSON); err != nil {
			fmt.Fprintf(stderr, "notifierd receipts: %v\n", err)
			return 1
		}
		return 0
	})
}

// printReceipts prints the receipts among msgs that match, a line each as it comes (no
// table: a followed topic has no last line to align to).
func printReceipts(w io.Writer, msgs iter.Seq2[kafka.Message, error], match func(notify.Receipt) bool, asJSON bool) error {
	for m, err := range msgs {
		if err != nil {
			return err
		}
		r, err := notify.DecodeReceipt(m.Value)
		if err != nil {
			return fmt.Errorf("record %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err)
		}
		if !match(r) {
			continue
		}
		if asJSON {
			if _, err := fmt.Fprintf(w, "%s\n", m.Value); err != nil {
				return err
			}
			continue
		}
		detail := "requestId=" + r.RequestID + " edgeHost=" + r.EdgeHost
		if r.Outcome == notify.OutcomeDeadLettered {
			detail = "reason=" + r.Reason
		}
		if _, err := fmt.Fprintf(w, "%s  %-13s  %s  session=%s  source=%s/%d/%d  %s\n", time.UnixMilli(r.AckTime).UTC().Format("2006-01-02T15:04:05.000Z"),
			r.Outcome, orDash(r.ID != "", r.ID), orDash(r.SessionID != "", r.SessionID), r.Source.Topic, r.Source.Partition, r.Source.Offset, detail); err != nil {
			return err
		}
	}
	return nil
}
