package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/kafkaconn"
	"github.com/notifierd/notifierd/internal/tracing"
	"github.com/notifierd/notifierd/internal/tracing/kafkaheaders"
	"github.com/notifierd/notifierd/pkg/notify"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

const publishSynopsis = `Usage:
  notifierd publish [connection flags] --type display|click --session S --tnt-id V
                    --mbox NAME [--state ST] --token T [--token T ...] [--id ID]
                    [--timestamp MS] [--location-hint H]
  notifierd publish [connection flags] --json '{"type":"display",...}'
  notifierd publish [connection flags] --json -     (one event per line on stdin)

Connection flags: --config FILE, --brokers LIST, --topic T, --timeout D.

Publishes display/click events to the events topic, keyed by session id, exactly as a
producer using pkg/notify would, after validating them as the daemon does. Brokers, topic,
TLS/SASL and event limits come from the daemon's configuration (--config, NOTIFIERD_*).
If any event is invalid nothing is published and the exit status is 2; if Kafka fails it is 1.
Trace context: each record carries a W3C traceparent header when TRACEPARENT (and
TRACESTATE) name a span in the environment, or when OTEL_TRACES_EXPORTER names an exporter,
in which case a "publish <topic>" span (a child of TRACEPARENT's, if any) is exported.
Prints each event's id, session and topic/partition/offset; an event without --id gets the
id notifierd derives from that position.
`

// eventFlags are the fields of one event given as flags.
type eventFlags struct {
	typ, session, tntID, mbox, state, id, hint string
	tokens                                     repeated
	timestamp                                  int64
}

func publishCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("notifierd publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs, stderr, publishSynopsis)
	var kf kafkaFlags
	kf.register(fs, true, false, 30*time.Second)
	var ef eventFlags
	fs.StringVar(&ef.typ, "type", "", "event `type`: display or click")
	fs.StringVar(&ef.session, "session", "", "Target session `id` (also the message key)")
	fs.StringVar(&ef.tntID, "tnt-id", "", "visitor's tntId")
	fs.StringVar(&ef.mbox, "mbox", "", "mbox `name`")
	fs.StringVar(&ef.state, "state", "", "mbox state from the prefetch response")
	fs.Var(&ef.tokens, "token", "event `token` from the prefetch response (repeatable)")
	fs.StringVar(&ef.id, "id", "", "notification id (default: derived by notifierd from the message position)")
	fs.Int64Var(&ef.timestamp, "timestamp", 0, "`ms` since epoch of the display or click (default now)")
	fs.StringVar(&ef.hint, "location-hint", "", "edge cluster `hint` (mboxEdgeCluster)")
	jsonArg := fs.String("json", "", "one event as a JSON `object`, or - to read one event per line from stdin")
	if err := fs.Parse(args); err != nil {
		return helpOrUsageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "notifierd publish: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	var events []notify.Event
	var where func(i int) string // names event i in messages: a flag hint or a line number
	switch {
	case *jsonArg != "":
		if set := eventFlagsSet(fs); len(set) > 0 {
			fmt.Fprintf(stderr, "notifierd publish: --json and %s are exclusive\n", strings.Join(set, ", "))
			return 2
		}
		var errs []error
		events, where, errs = readJSONEvents(*jsonArg, stdin)
		if len(errs) > 0 {
			for _, err := range errs {
				fmt.Fprintln(stderr, "notifierd publish:", err)
			}
			return 2
		}
	default:
		events = []notify.Event{ef.event(time.Now())}
		where = func(int) string { return "" }
	}

	cfg, err := kf.load(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, "notifierd publish:", err)
		return 2
	}
	transport, err := kafkaconn.Transport(cfg.Kafka, "notifierd-publish")
	if err != nil {
		fmt.Fprintln(stderr, "notifierd publish:", err)
		return 2
	}
	defer transport.CloseIdleConnections()
	var written positions
	w := publish.NewKafkaWriter(publish.KafkaConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Transport: transport})
	w.Completion = written.record
	p := publish.New(w,
		publish.WithLimits(notify.Limits{MaxAge: cfg.Events.MaxAge, MaxFuture: cfg.Events.MaxFuture}),
		publish.WithMaxBytes(cfg.Events.MaxBytes))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, kf.timeout)
	defer cancel()
	ctx, endTrace, err := publishTrace(ctx, cfg.Kafka.Topic, len(events), os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, "notifierd publish:", err)
		return 2
	}
	err = p.Publish(ctx, events...)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	endTrace(err)
	var invalid *publish.InvalidError
	switch {
	case errors.As(err, &invalid):
		for _, ev := range invalid.Events {
			fmt.Fprintf(stderr, "notifierd publish: invalid event%s, nothing published: %v%s\n", where(ev.Index), ev.Err, flagHint(*jsonArg == "", ev.Err))
		}
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "notifierd publish: %v (brokers %s, topic %s)\n", err, strings.Join(cfg.Kafka.Brokers, ","), cfg.Kafka.Topic)
		return 1
	}
	written.print(stdout)
	fmt.Fprintf(stdout, "published %d event(s) to %s\n", len(events), cfg.Kafka.Topic)
	return 0
}

func (ef *eventFlags) event(now time.Time) notify.Event {
	ev := notify.Event{
		Type: ef.typ, Timestamp: ef.timestamp, SessionID: ef.session, TntID: ef.tntID,
		Tokens: ef.tokens, ID: ef.id, LocationHint: ef.hint,
	}
	if ev.Timestamp == 0 {
		ev.Timestamp = now.UnixMilli()
	}
	if ef.mbox != "" || ef.state != "" {
		ev.Mbox = &notify.Mbox{Name: ef.mbox, State: ef.state}
	}
	return ev
}

// eventFlagsSet lists the event flags given on the command line.
func eventFlagsSet(fs *flag.FlagSet) []string {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "type", "session", "tnt-id", "mbox", "state", "token", "id", "timestamp", "location-hint":
			set = append(set, "--"+f.Name)
		}
	})
	return set
}

// flagHint names the flag to fix when validation names a field of an event built from flags.
func flagHint(fromFlags bool, err error) string {
	var ve *notify.ValidationError
	if !fromFlags || !errors.As(err, &ve) {
		return ""
	}
	field, _, _ := strings.Cut(ve.Field, "[") // tokens[2] -> tokens
	switch field {
	case "type", "timestamp", "id":
		return " (flag --" + field + ")"
	case "sessionId":
		return " (flag --session)"
	case "tntId":
		return " (flag --tnt-id)"
	case "mbox", "mbox.name":
		return " (flag --mbox)"
	case "tokens":
		return " (flag --token)"
	case "locationHint":
		return " (flag --location-hint)"
	}
	return ""
}

// readJSONEvents decodes the --json argument, or stdin for "-", as strictly as the daemon:
// a field the daemon does not know would be dead-lettered, so it is refused here.
func readJSONEvents(arg string, stdin io.Reader) ([]notify.Event, func(int) string, []error) {
	if arg != "-" {
		ev, err := decodeEvent([]byte(arg))
		if err != nil {
			return nil, nil, []error{fmt.Errorf("--json: %w", err)}
		}
		return []notify.Event{ev}, func(int) string { return "" }, nil
	}
	var events []notify.Event
	var lines []int
	var errs []error
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ev, err := decodeEvent(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("stdin line %d: %w", n, err))
			continue
		}
		events, lines = append(events, ev), append(lines, n)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("reading stdin: %w", err))
	}
	if len(events) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no events on stdin"))
	}
	return events, func(i int) string { return fmt.Sprintf(" on stdin line %d", lines[i]) }, errs
}

func decodeEvent(raw []byte) (notify.Event, error) {
	var ev notify.Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, fmt.Errorf("not an event object: %w", err)
	}
	if dec.More() {
		return ev, errors.New("trailing data after the event object")
	}
	return ev, nil
}

// positions collects where the writer put each message; kafka-go calls record from its
// own goroutines, before WriteMessages returns.
type positions struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (p *positions) record(msgs []kafka.Message, err error) {
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
}

// print writes one line per message, by partition and offset (a session's order).
func (p *positions) print(w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sort.Slice(p.msgs, func(i, j int) bool {
		a, b := p.msgs[i], p.msgs[j]
		return a.Partition < b.Partition || a.Partition == b.Partition && a.Offset < b.Offset
	})
	for _, m := range p.msgs {
		var ev struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(m.Value, &ev) // the publisher encoded it
		id := ev.ID
		if id == "" {
			id = event.DerivedID(event.Source{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}) + " (derived)"
		}
		fmt.Fprintf(w, "published id=%s session=%s at %s/%d/%d\n", id, m.Key, m.Topic, m.Partition, m.Offset)
	}
}

// publishTrace returns ctx carrying the span the records' trace headers name: the one
// TRACEPARENT and TRACESTATE give (OpenTelemetry's environment carrier, so a traced script
// hands its span on), or, when OTEL_TRACES_EXPORTER names an exporter, a producer span of
// this command's under it, exported when end is called.
func publishTrace(ctx context.Context, topic string, n int, lookup func(string) (string, bool)) (_ context.Context, end func(error), _ error) {
	carrier := propagation.MapCarrier{}
	for env, key := range map[string]string{"TRACEPARENT": kafkaheaders.HeaderTraceparent, "TRACESTATE": kafkaheaders.HeaderTracestate} {
		if v, ok := lookup(env); ok {
			carrier[key] = v
		}
	}
	ctx = propagation.TraceContext{}.Extract(ctx, carrier)
	tp, err := tracing.Setup(ctx, version, lookup)
	if err != nil {
		return nil, nil, err
	}
	if !tp.Enabled {
		return ctx, func(error) {}, nil
	}
	ctx, span := tp.Scope().Start(ctx, "publish "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(tracing.MessagingSystem.String("kafka"), tracing.MessagingDest.String(topic), tracing.MessagingBatchCount.Int(n)))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		_ = tp.Shutdown(ctx) // bounded; a collector that is down loses the span, not the events
	}, nil
}
