package dlqtool_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/dlqtool"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

// bed is a dead-letter topic with five entries over two partitions, an empty events topic,
// and clients for both.
type bed struct {
	addr, dlq, events string
	client            *kafka.Client
	transport         *kafka.Transport
}

func newBed(t *testing.T) *bed {
	t.Helper()
	addr, _ := kafkatest.Broker(t)
	b := &bed{addr: addr, dlq: kafkatest.Topic(t, addr, 2), events: kafkatest.Topic(t, addr, 2), transport: &kafka.Transport{ClientID: "dlqtool-test"}}
	t.Cleanup(b.transport.CloseIdleConnections)
	b.client = &kafka.Client{Addr: kafka.TCP(addr), Transport: b.transport}
	src := func(o int64) dlqtool.Position { return pos(b.events, 0, o) }
	kafkatest.ProduceTo(t, addr, b.dlq, 0,
		deadLetter("", `{"type":`, "bad_json", "invalid event: not an event object", src(0)),
		deadLetter("s1", `{"id":"n1","sessionId":"s1"}`, "target_rejected", "400: invalid token", src(1)),
	)
	kafkatest.ProduceTo(t, addr, b.dlq, 1,
		deadLetter("s2", `{"id":"n2","sessionId":"s2"}`, "target_rejected", "400: invalid token", src(2)),
		deadLetter("s3", `{"id":"n3","sessionId":"s3"}`, "missing_field", "invalid event: tokens: at least one", src(3)),
		deadLetter("s4", `{"id":"n4","sessionId":"s4"}`, "target_rejected", "400: invalid token", src(4)),
	)
	return b
}

func (b *bed) entries(ctx context.Context) func(yield func(dlqtool.Entry, error) bool) {
	return dlqtool.Entries(ctx, b.client, b.dlq)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestListFromKafka(t *testing.T) {
	b := newBed(t)
	ctx := ctxFor(t)

	var out strings.Builder
	n, err := dlqtool.List(&out, b.entries(ctx), dlqtool.ListOptions{Select: dlqtool.Selection{Reasons: []string{"target_rejected"}}})
	if err != nil || n != 3 {
		t.Fatalf("List = %d, %v; want 3 target_rejected entries\n%s", n, err, out.String())
	}
	for _, want := range []string{b.events + "/0/1  n1  s1", b.events + "/0/2  n2  s2", b.events + "/0/4  n4  s4"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("listing lacks %q:\n%s", want, out.String())
		}
	}

	// The listing ends at the end the topic had when it started.
	seen := 0
	for e, err := range b.entries(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if seen == 0 {
			kafkatest.ProduceTo(t, b.addr, b.dlq, 1, deadLetter("s9", `{}`, "late", "", pos(b.events, 0, 9)))
		}
		if e.Reason == "late" {
			t.Fatalf("saw an entry written after the listing started")
		}
		seen++
	}
	if seen != 5 {
		t.Fatalf("listed %d entries, want 5", seen)
	}
}

func TestReplayToKafka(t *testing.T) {
	b := newBed(t)
	ctx := ctxFor(t)
	w := publish.NewKafkaWriter(publish.KafkaConfig{Brokers: []string{b.addr}, Topic: b.events, Transport: b.transport})
	defer w.Close()
	r := dlqtool.Replayer{Produce: w.WriteMessages}

	if _, err := r.Replay(ctx, b.entries(ctx), dlqtool.Selection{}); err == nil {
		t.Fatal("a replay without a selection was accepted")
	}
	dry := dlqtool.Replayer{Produce: w.WriteMessages, DryRun: true}
	if res, err := dry.Replay(ctx, b.entries(ctx), dlqtool.Selection{All: true}); err != nil || res.Replayed != 5 {
		t.Fatalf("dry run = %+v, %v; want 5 selected", res, err)
	}
	if got := kafkatest.ReadAll(t, b.addr, b.events); len(got) != 0 {
		t.Fatalf("the dry run wrote %d messages", len(got))
	}

	res, err := r.Replay(ctx, b.entries(ctx), dlqtool.Selection{Reasons: []string{"target_rejected"}})
	if err != nil || res.Replayed != 3 {
		t.Fatalf("replay by reason = %+v, %v", res, err)
	}
	res, err = r.Replay(ctx, b.entries(ctx), dlqtool.Selection{Sources: []dlqtool.Position{pos(b.events, 0, 0)}})
	if err != nil || res.Replayed != 1 {
		t.Fatalf("replay by source = %+v, %v", res, err)
	}

	var got []string
	for _, m := range kafkatest.ReadAll(t, b.addr, b.events) {
		from := ""
		for _, h := range m.Headers {
			if h.Key == dlq.HeaderReplayedFrom {
				from = string(h.Value)
			}
		}
		got = append(got, fmt.Sprintf("%s=%s from %s", m.Key, m.Value, strings.TrimPrefix(from, b.dlq)))
	}
	sort.Strings(got)
	want := []string{
		`={"type": from /0/0`,
		`s1={"id":"n1","sessionId":"s1"} from /0/1`,
		`s2={"id":"n2","sessionId":"s2"} from /1/0`,
		`s4={"id":"n4","sessionId":"s4"} from /1/2`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events topic holds\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
