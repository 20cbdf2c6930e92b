package kafkatest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/notifierd/notifierd/internal/kafkatest"
)

// No goleak ignores are needed: kafkatest closes its kafka-go transports, writers and
// consumer groups before returning, and kfake's goroutines stop once its Close (run by
// t.Cleanup) has taken effect, which goleak's retries wait for.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitLimit bounds every wait on the broker or the group; it is a failure, not a pacing sleep.
const waitLimit = 60 * time.Second

// TestConsumerGroupResumesAtCommittedOffsets proves the test bed: messages produced with
// kafka-go to a 3-partition topic are consumed by a kafka-go consumer group through the
// Generation API; the member reads everything but commits only part of each partition, then
// leaves. A new member of the same group must be assigned exactly the committed offsets and
// read exactly the uncommitted messages.
func TestConsumerGroupResumesAtCommittedOffsets(t *testing.T) {
	addr, real := kafkatest.Broker(t)
	t.Logf("broker %s (real: %v)", addr, real)
	topic := kafkatest.Topic(t, addr, 3)
	group := "group-" + topic

	const n = 30
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("key-%02d", i)), Value: []byte(fmt.Sprintf("value-%02d", i))}
	}
	kafkatest.Produce(t, addr, topic, msgs...)

	// What the topic holds, per partition, as a reader outside any group sees it.
	stored := kafkatest.ReadAll(t, addr, topic)
	if len(stored) != n {
		t.Fatalf("ReadAll: %d messages, want %d", len(stored), n)
	}
	byPartition := map[int][]kafka.Message{}
	for _, m := range stored {
		byPartition[m.Partition] = append(byPartition[m.Partition], m)
	}
	// Commit point per partition: the member "processes" the first half and commits the next
	// offset to process, though it has read the whole partition.
	commit := map[int]int64{}
	end := map[int]int64{}
	for p := 0; p < 3; p++ {
		ms := byPartition[p]
		if len(ms) < 2 {
			t.Fatalf("partition %d holds %d messages; the keys should spread over all 3 partitions", p, len(ms))
		}
		commit[p] = ms[len(ms)/2].Offset
		end[p] = ms[len(ms)-1].Offset + 1
	}
	if got := kafkatest.CommittedOffsets(t, addr, group, topic); !maps.Equal(got, map[int]int64{0: -1, 1: -1, 2: -1}) {
		t.Fatalf("committed offsets before the first member: %v, want none", got)
	}

	// First member: read everything, commit part, leave.
	first := consume(t, addr, group, topic, end, func(gen *kafka.Generation, partition int) error {
		return gen.CommitOffsets(map[string]map[int]int64{topic: {partition: commit[partition]}})
	})
	for p := 0; p < 3; p++ {
		if first.assigned[p] != kafka.FirstOffset {
			t.Errorf("first member: partition %d assigned at offset %d, want FirstOffset (%d)", p, first.assigned[p], kafka.FirstOffset)
		}
		if got, want := values(first.read[p]), values(byPartition[p]); !slices.Equal(got, want) {
			t.Errorf("first member: partition %d read %v, want %v", p, got, want)
		}
	}
	if got := kafkatest.CommittedOffsets(t, addr, group, topic); !maps.Equal(got, commit) {
		t.Fatalf("committed offsets after the first member left: %v, want %v", got, commit)
	}

	// Second member, same group: must start exactly at the commits.
	second := consume(t, addr, group, topic, end, nil)
	for p := 0; p < 3; p++ {
		if second.assigned[p] != commit[p] {
			t.Errorf("second member: partition %d assigned at offset %d, want the committed %d", p, second.assigned[p], commit[p])
		}
		var want []string
		for _, m := range byPartition[p] {
			if m.Offset >= commit[p] {
				want = append(want, string(m.Value))
			}
		}
		if got := values(second.read[p]); !slices.Equal(got, want) {
			t.Errorf("second member: partition %d read %v, want exactly the uncommitted %v", p, got, want)
		}
	}
	if got := kafkatest.CommittedOffsets(t, addr, group, topic); !maps.Equal(got, commit) {
		t.Errorf("committed offsets after the second member (which committed nothing): %v, want %v", got, commit)
	}
}

type consumed struct {
	assigned map[int]int64           // partition -> offset the generation assigned
	read     map[int][]kafka.Message // partition -> messages read
}

// consume joins group as a new member, takes the first generation (which must hold every
// partition of topic), reads each partition from its assigned offset up to end[partition] in
// a gen.Start goroutine, calls after (if set) from that goroutine, and then closes the group
// (leaving it) once every partition is done.
func consume(t *testing.T, addr, group, topic string, end map[int]int64, after func(*kafka.Generation, int) error) consumed {
	t.Helper()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:          group,
		Brokers:     []string{addr},
		Topics:      []string{topic},
		StartOffset: kafka.FirstOffset, // a new group reads from the beginning
		// Short timings so joins, leaves and rejoins are quick. 6 s is the smallest session
		// timeout both Kafka (by default) and kfake accept.
		HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  5 * time.Second,
		JoinGroupBackoff:  200 * time.Millisecond,
		ErrorLogger:       kafka.LoggerFunc(t.Logf),
	})
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	defer cg.Close()

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// Next also reports failed join attempts (e.g. while a fresh broker's group coordinator
	// loads); the group retries them by itself, so keep asking until a generation or the limit.
	var gen *kafka.Generation
	for gen == nil {
		gen, err = cg.Next(ctx)
		if err != nil && ctx.Err() != nil {
			t.Fatalf("group %s: no generation within %v: %v", group, waitLimit, err)
		}
		if err != nil {
			t.Logf("group %s: %v (retrying)", group, err)
		}
	}
	assignments := gen.Assignments[topic]
	if len(assignments) != len(end) {
		t.Fatalf("group %s: generation %d assigned %v, want all %d partitions", group, gen.ID, assignments, len(end))
	}

	type result struct {
		partition int
		read      []kafka.Message
		err       error
	}
	results := make(chan result, len(assignments))
	out := consumed{assigned: map[int]int64{}, read: map[int][]kafka.Message{}}
	for _, a := range assignments {
		out.assigned[a.ID] = a.Offset
		gen.Start(func(ctx context.Context) {
			read, err := readPartition(ctx, addr, topic, a.ID, a.Offset, end[a.ID])
			if err == nil && after != nil {
				err = after(gen, a.ID)
			}
			results <- result{a.ID, read, err}
			// Returning would end the generation for every partition; hold it until the
			// group is closed (ctx is cancelled when the generation ends).
			<-ctx.Done()
		})
	}
	for range assignments {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatalf("group %s: partition %d: %v", group, r.partition, r.err)
			}
			out.read[r.partition] = r.read
		case <-ctx.Done():
			t.Fatalf("group %s: partitions not consumed within %v", group, waitLimit)
		}
	}
	if err := cg.Close(); err != nil { // leaves the group; waits for the gen.Start goroutines
		t.Fatalf("group %s: close: %v", group, err)
	}
	return out
}

// readPartition fetches topic/partition from offset (or the partition's first offset when
// offset is kafka.FirstOffset) up to, not including, end, with kafka-go's Client.Fetch.
func readPartition(ctx context.Context, addr, topic string, partition int, offset, end int64) ([]kafka.Message, error) {
	transport := &kafka.Transport{Dial: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Transport: transport}
	var out []kafka.Message
	for offset < end {
		res, err := client.Fetch(ctx, &kafka.FetchRequest{
			Topic: topic, Partition: partition, Offset: offset,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err == nil {
			err = res.Error
		}
		if err != nil {
			return out, fmt.Errorf("fetch at %d: %w", offset, err)
		}
		for {
			rec, err := res.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, fmt.Errorf("fetch at %d: %w", offset, err)
			}
			if (offset >= 0 && rec.Offset < offset) || rec.Offset >= end {
				continue
			}
			value, err := kafka.ReadAll(rec.Value)
			if err != nil {
				return out, err
			}
			out = append(out, kafka.Message{Topic: topic, Partition: partition, Offset: rec.Offset, Value: value})
			offset = rec.Offset + 1
		}
	}
	return out, nil
}

func values(ms []kafka.Message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, string(m.Value))
	}
	return out
}
