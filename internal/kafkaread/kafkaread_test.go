package kafkaread_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/notifierd/notifierd/internal/kafkaread"
	"github.com/notifierd/notifierd/internal/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// bed is a broker, a client on a private transport and a context for one test.
type bed struct {
	addr   string
	client *kafka.Client
	ctx    context.Context
}

func newBed(t *testing.T) *bed {
	t.Helper()
	addr, _ := kafkatest.Broker(t)
	transport := &kafka.Transport{ClientID: "kafkaread-test"}
	t.Cleanup(transport.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound, not a pace
	t.Cleanup(cancel)
	return &bed{addr: addr, client: &kafka.Client{Addr: kafka.TCP(addr), Transport: transport}, ctx: ctx}
}

// msgs returns n messages with key k<i>, value <prefix>-<i> and header h=<i>.
func msgs(prefix string, n int) []kafka.Message {
	out := make([]kafka.Message, n)
	for i := range out {
		out[i] = kafka.Message{
			Key:     fmt.Appendf(nil, "k%d", i),
			Value:   fmt.Appendf(nil, "%s-%d", prefix, i),
			Headers: []kafka.Header{{Key: "h", Value: fmt.Append(nil, i)}},
		}
	}
	return out
}

// describe renders messages as "partition/offset key=value h=header".
func describe(ms []kafka.Message) []string {
	var out []string
	for _, m := range ms {
		h := ""
		for _, hd := range m.Headers {
			h += " " + hd.Key + "=" + string(hd.Value)
		}
		out = append(out, fmt.Sprintf("%d/%d %s=%s%s", m.Partition, m.Offset, m.Key, m.Value, h))
	}
	return out
}

func TestPartitionIDs(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 3)
	ids, err := kafkaread.PartitionIDs(b.ctx, b.client, topic)
	if err != nil || !slices.Equal(ids, []int{0, 1, 2}) {
		t.Fatalf("PartitionIDs = %v, %v; want [0 1 2]", ids, err)
	}

	// A missing topic is reported at once, and not created by asking.
	missing := topic + "-missing"
	for range 2 {
		start := time.Now()
		ids, err = kafkaread.PartitionIDs(b.ctx, b.client, missing)
		if !errors.Is(err, kafka.UnknownTopicOrPartition) || !strings.Contains(err.Error(), missing) {
			t.Fatalf("PartitionIDs of a missing topic = %v, %v; want an error naming it, wrapping UnknownTopicOrPartition", ids, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("PartitionIDs of a missing topic took %v", d)
		}
	}
}

func TestListAndEndOffsets(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 3)
	kafkatest.ProduceTo(t, b.addr, topic, 2, msgs("p2", 2)...)
	kafkatest.ProduceTo(t, b.addr, topic, 0, msgs("p0", 4)...)

	// Asked out of order, answered by partition.
	listed, err := kafkaread.ListOffsets(b.ctx, b.client, topic, []int{2, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, po := range listed {
		got = append(got, fmt.Sprintf("%d:[%d,%d)", po.Partition, po.FirstOffset, po.LastOffset))
	}
	if want := []string{"0:[0,4)", "1:[0,0)", "2:[0,2)"}; !slices.Equal(got, want) {
		t.Errorf("ListOffsets = %v, want %v", got, want)
	}

	ends, err := kafkaread.EndOffsets(b.ctx, b.client, topic, []int{0, 1, 2})
	if err != nil || len(ends) != 3 || ends[0] != 4 || ends[1] != 0 || ends[2] != 2 {
		t.Errorf("EndOffsets = %v, %v; want map[0:4 1:0 2:2]", ends, err)
	}

	// A partition that does not exist is retried as the broker calls it temporary, until ctx ends.
	ctx, cancel := context.WithTimeout(b.ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := kafkaread.ListOffsets(ctx, b.client, topic, []int{0, 7}); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ListOffsets of a missing partition = %v, want an error ending with the context", err)
	}
}

func TestReadAll(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 2)
	if got, err := kafkaread.ReadAll(b.ctx, b.client, topic); err != nil || len(got) != 0 {
		t.Fatalf("ReadAll of a new topic = %d messages, %v", len(got), err)
	}
	start := time.Now().Add(-time.Minute) // broker and test clocks may differ a little
	kafkatest.ProduceTo(t, b.addr, topic, 1, msgs("p1", 3)...)
	kafkatest.ProduceTo(t, b.addr, topic, 0, msgs("p0", 2)...)

	got, err := kafkaread.ReadAll(b.ctx, b.client, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0/0 k0=p0-0 h=0", "0/1 k1=p0-1 h=1",
		"1/0 k0=p1-0 h=0", "1/1 k1=p1-1 h=1", "1/2 k2=p1-2 h=2",
	}
	if !slices.Equal(describe(got), want) {
		t.Errorf("ReadAll:\n got %v\nwant %v", describe(got), want)
	}
	hwm := map[int]int64{0: 2, 1: 3}
	for _, m := range got {
		if m.Topic != topic || m.HighWaterMark != hwm[m.Partition] || m.Time.Before(start) {
			t.Errorf("message %d/%d: topic %q, high watermark %d, time %v; want %q, %d, a produce time",
				m.Partition, m.Offset, m.Topic, m.HighWaterMark, m.Time, topic, hwm[m.Partition])
		}
	}
}

func TestFetchRange(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 2)
	kafkatest.ProduceTo(t, b.addr, topic, 1, msgs("a", 5)...)

	got, err := kafkaread.FetchRange(b.ctx, b.client, topic, 1, 1, 4)
	if want := []string{"1/1 k1=a-1 h=1", "1/2 k2=a-2 h=2", "1/3 k3=a-3 h=3"}; err != nil || !slices.Equal(describe(got), want) {
		t.Errorf("FetchRange [1,4) = %v, %v; want %v", describe(got), err, want)
	}
	if got, err := kafkaread.FetchRange(b.ctx, b.client, topic, 1, 3, 3); err != nil || len(got) != 0 {
		t.Errorf("FetchRange [3,3) = %v, %v; want nothing", describe(got), err)
	}
	// Nothing below the end: an error, not a wait until more arrives.
	if got, err := kafkaread.FetchRange(b.ctx, b.client, topic, 0, 0, 1); err == nil {
		t.Errorf("FetchRange past the end of an empty partition = %v, want an error", describe(got))
	}
}

func TestReadStopsAtTheEndWhenItStarted(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 2)
	kafkatest.ProduceTo(t, b.addr, topic, 0, msgs("old0", 2)...)
	kafkatest.ProduceTo(t, b.addr, topic, 1, msgs("old1", 2)...)

	seq := kafkaread.Read(b.ctx, b.client, topic)
	kafkatest.ProduceTo(t, b.addr, topic, 1, msgs("before", 1)...) // before the iteration: seen

	var got []kafka.Message
	for m, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			// Written during the read: past the end it started with, so not seen.
			kafkatest.ProduceTo(t, b.addr, topic, 0, msgs("late0", 1)...)
			kafkatest.ProduceTo(t, b.addr, topic, 1, msgs("late1", 1)...)
		}
		got = append(got, m)
	}
	want := []string{
		"0/0 k0=old0-0 h=0", "0/1 k1=old0-1 h=1",
		"1/0 k0=old1-0 h=0", "1/1 k1=old1-1 h=1", "1/2 k0=before-0 h=0",
	}
	if !slices.Equal(describe(got), want) {
		t.Errorf("Read:\n got %v\nwant %v", describe(got), want)
	}

	// Stopping early is fine.
	n := 0
	for _, err := range kafkaread.Read(b.ctx, b.client, topic) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if all := kafkatest.ReadAll(t, b.addr, topic); len(all) != 7 {
		t.Errorf("topic holds %d messages, want 7", len(all))
	}
}

func TestReadErrors(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 1)
	kafkatest.ProduceTo(t, b.addr, topic, 0, msgs("m", 1)...)

	// A missing topic: one error, at once.
	start := time.Now()
	var errs []error
	for m, err := range kafkaread.Read(b.ctx, b.client, topic+"-missing") {
		if err == nil {
			t.Fatalf("Read of a missing topic yielded %v", describe([]kafka.Message{m}))
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], kafka.UnknownTopicOrPartition) || time.Since(start) > 5*time.Second {
		t.Errorf("Read of a missing topic yielded %v after %v; want one UnknownTopicOrPartition error at once", errs, time.Since(start))
	}

	// An ended context ends the read.
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	if got, err := kafkaread.ReadAll(ctx, b.client, topic); err == nil {
		t.Errorf("ReadAll with an ended context = %v, want an error", describe(got))
	}
}

func TestCommittedOffsets(t *testing.T) {
	b := newBed(t)
	topic := kafkatest.Topic(t, b.addr, 2)
	group := "group-" + topic
	got, err := kafkaread.CommittedOffsets(b.ctx, b.client, group, topic, []int{0, 1})
	if err != nil || len(got) != 2 || got[0] != -1 || got[1] != -1 {
		t.Fatalf("CommittedOffsets of an unknown group = %v, %v; want -1 for both partitions", got, err)
	}

	// Commit with a consumer group, as the daemon does, then look without one.
	kafkatest.ProduceTo(t, b.addr, topic, 1, msgs("m", 3)...)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{b.addr}, GroupID: group, Topic: topic,
		SessionTimeout: 6 * time.Second, HeartbeatInterval: 200 * time.Millisecond,
		MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset,
	})
	m, err := r.FetchMessage(b.ctx)
	if err == nil {
		err = r.CommitMessages(b.ctx, m)
	}
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("committing with group %s: %v", group, err)
	}
	got, err = kafkaread.CommittedOffsets(b.ctx, b.client, group, topic, []int{0, 1})
	if err != nil || len(got) != 2 || got[0] != -1 || got[1] != m.Offset+1 {
		t.Errorf("CommittedOffsets = %v, %v; want map[0:-1 1:%d]", got, err, m.Offset+1)
	}
}

func TestRetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	calls := 0
	err := kafkaread.Retry(ctx, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("wrapped: %w", kafka.NotLeaderForPartition)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("Retry over two temporary errors = %v after %d calls, want success after 3", err, calls)
	}

	for _, final := range []error{errors.New("boom"), kafka.TopicAuthorizationFailed} {
		calls = 0
		err = kafkaread.Retry(ctx, func() error { calls++; return final })
		if !errors.Is(err, final) || calls != 1 {
			t.Errorf("Retry of %v = %v after %d calls, want it returned after 1", final, err, calls)
		}
	}

	short, cancelShort := context.WithTimeout(ctx, 3*kafkaread.Pause)
	defer cancelShort()
	calls = 0
	err = kafkaread.Retry(short, func() error { calls++; return kafka.LeaderNotAvailable })
	if !errors.Is(err, kafka.LeaderNotAvailable) || !errors.Is(err, context.DeadlineExceeded) || calls < 2 {
		t.Errorf("Retry until the context ends = %v after %d calls; want both errors wrapped, several calls", err, calls)
	}
}
