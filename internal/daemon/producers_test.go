package daemon_test

// Issue 12, part 5: the daemon against producers other than kafka-go, and against the states
// a real log goes through. franz-go's kgo stands in for the other clients producers use:
// transactional producers whose commit and abort markers sit in the log between events,
// batches compressed by another client's codecs, records deleted above the group's committed
// offset, a topic created after the daemon started. Only tests import franz-go; the daemon
// binary does not link it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/kafkaread"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
	"github.com/notifierd/notifierd/pkg/notify"
)

// waitLimit bounds each wait of these tests; a healthy run takes a few seconds.
const waitLimit = 60 * time.Second

// A transactional producer interleaves committed and aborted transactions over every
// partition, so each partition holds records of both and a commit or abort marker after each
// transaction, ending with an abort marker. Whatever the isolation level, no marker reaches
// the pipeline or the dead-letter topic and the group commits past the last one (lag 0); at
// read_committed (the default) no aborted record reaches Target, at read_uncommitted they all
// do, as that level means.
func TestTransactionalProducer(t *testing.T) {
	const partitions, transactions, perPartition = 4, 12, 2
	for _, isolation := range []string{"read_committed", "read_uncommitted"} {
		t.Run(isolation, func(t *testing.T) {
			h := newHarness(t, partitions, targetsim.Faults{})
			if isolation == "read_committed" && h.cfg.Kafka.IsolationLevel != isolation {
				t.Fatalf("default kafka.isolationLevel = %q, want read_committed", h.cfg.Kafka.IsolationLevel)
			}
			h.cfg.Kafka.IsolationLevel = isolation
			if err := h.cfg.Validate(); err != nil {
				t.Fatal(err)
			}

			cl := newKgo(t, h.broker, kgo.TransactionalID(h.topic+"-txn"))
			defer cl.Close()
			committed, aborted := map[string]bool{}, map[string]bool{}
			for i := range transactions {
				kind, outcome, ids := "commit", kgo.TryCommit, committed
				if i%2 == 1 {
					kind, outcome, ids = "abort", kgo.TryAbort, aborted
				}
				events, partitionOf := spread(fmt.Sprintf("t%02d-%s", i, kind), partitions, perPartition)
				for _, ev := range events {
					ids[ev.ID] = true
				}
				if err := cl.BeginTransaction(); err != nil {
					t.Fatalf("transaction %d: begin: %v", i, err)
				}
				h.produceKgo(cl, partitionOf, events...)
				ctx, cancel := contextWithTimeout(waitLimit)
				err := cl.EndTransaction(ctx, outcome)
				cancel()
				if err != nil {
					t.Fatalf("transaction %d: end (%s): %v", i, kind, err)
				}
			}
			// Each transaction leaves its records and one marker on every partition. The
			// coordinator writes the markers after EndTransaction returns: wait for the last.
			wantEnds := map[int]int64{}
			for p := range partitions {
				wantEnds[p] = transactions * (perPartition + 1)
			}
			eventuallyState(t, fmt.Sprintf("end offsets %v: %d transactions of %d records and a marker each", wantEnds, transactions, perPartition),
				func() (bool, string) {
					ends := h.endOffsets()
					return maps.Equal(ends, wantEnds), fmt.Sprintf("end offsets %v", ends)
				})

			want := int64(len(committed))
			if isolation == "read_uncommitted" {
				want += int64(len(aborted))
			}
			_, base := h.startWithAdmin()
			h.waitUnique(want, waitLimit)
			h.waitDrained(t, base)

			fams := scrape(t, base)
			stats := h.sim.Stats()
			var gotCommitted, gotAborted []string
			for id := range h.sim.Received() {
				switch {
				case committed[id]:
					gotCommitted = append(gotCommitted, id)
				case aborted[id]:
					gotAborted = append(gotAborted, id)
				default:
					t.Errorf("Target acknowledged %q, which no transaction produced", id)
				}
			}
			slices.Sort(gotAborted)
			if len(gotCommitted) != len(committed) {
				t.Errorf("Target acknowledged %d of the %d records of committed transactions", len(gotCommitted), len(committed))
			}
			if isolation == "read_committed" && len(gotAborted) != 0 {
				t.Errorf("at read_committed Target acknowledged %d of the %d records of aborted transactions, want 0: %v",
					len(gotAborted), len(aborted), gotAborted[:min(len(gotAborted), 8)])
			}
			if isolation == "read_uncommitted" && len(gotAborted) != len(aborted) {
				t.Errorf("at read_uncommitted Target acknowledged %d of the %d records of aborted transactions, want all: the level hands them on",
					len(gotAborted), len(aborted))
			}
			if stats.Notifications != want || stats.Duplicates != 0 {
				t.Errorf("Target acknowledged %d notifications (%d duplicates), want %d and none", stats.Notifications, stats.Duplicates, want)
			}
			// Markers are not messages: the pipeline is handed exactly the data records.
			if got := fams.Total("notifierd_events_consumed_total"); got != float64(want) {
				t.Errorf("notifierd_events_consumed_total = %v, want %d: the pipeline was handed something other than the %d data records (markers: %d per partition)",
					got, want, want, transactions)
			}
			if got := fams.Total("notifierd_events_invalid_total"); got != 0 {
				t.Errorf("notifierd_events_invalid_total = %v, want 0", got)
			}
			h.checkNoDeadLetters()
		})
	}
}

// Batches compressed by a producer other than kafka-go: kgo, idempotent (its default), one
// producer per codec. Every event is delivered, none dead-lettered, and the group's lag is 0.
func TestCompressionCodecs(t *testing.T) {
	const partitions, perPartition = 3, 20
	for _, tc := range []struct {
		name  string
		codec kgo.CompressionCodec
		typ   kgo.CompressionCodecType
	}{
		{"gzip", kgo.GzipCompression(), kgo.CodecGzip},
		{"snappy", kgo.SnappyCompression(), kgo.CodecSnappy},
		{"lz4", kgo.Lz4Compression(), kgo.CodecLz4},
		{"zstd", kgo.ZstdCompression(), kgo.CodecZstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, partitions, targetsim.Faults{})
			cl := newKgo(t, h.broker, kgo.ProducerBatchCompression(tc.codec))
			defer cl.Close()
			events, partitionOf := spread("z-"+tc.name, partitions, perPartition)
			h.produceKgo(cl, partitionOf, events...)
			// The test means something only if the log holds batches of that codec.
			if got, want := storedCodecs(t, h, len(events)), map[kgo.CompressionCodecType]int{tc.typ: len(events)}; !maps.Equal(got, want) {
				t.Fatalf("records by codec of their batch = %v, want %v", got, want)
			}

			_, base := h.startWithAdmin()
			h.waitUnique(int64(len(events)), waitLimit)
			h.waitDrained(t, base)
			if stats := h.sim.Stats(); stats.Notifications != int64(len(events)) || stats.Duplicates != 0 {
				t.Errorf("Target acknowledged %d notifications (%d duplicates) for %d events", stats.Notifications, stats.Duplicates, len(events))
			}
			h.checkNoDeadLetters()
			if got := h.checkCommitted(); got != int64(len(events)) {
				t.Errorf("committed offsets sum to %d, want %d", got, len(events))
			}
		})
	}
}

// A topic that does not exist yet: the daemon says so on /readyz (503, naming the topic)
// without creating it, and starts consuming once it is created with partitions.
func TestTopicCreatedAfterStart(t *testing.T) {
	const partitions, perPartition = 3, 5
	h := newHarness(t, 1, targetsim.Faults{})
	h.topic += "-later" // the harness's topic name with a suffix: unique, and not created
	h.cfg.Kafka.Topic = h.topic
	_, base := h.startWithAdmin()

	var body string
	eventuallyState(t, "/readyz answering 503 with a body naming the missing topic "+h.topic, func() (bool, string) {
		var code int
		code, body = get(t, base+"/readyz")
		if code == 200 {
			t.Fatalf("/readyz answered 200 for %s, which the test has not created; it exists with partitions %v: something auto-created it, "+
				"e.g. a metadata request of the daemon allowing auto-creation (the test brokers allow it)", h.topic, h.partitionIDs())
		}
		return code == 503 && strings.Contains(body, h.topic), fmt.Sprintf("/readyz %d %q", code, body)
	})
	t.Logf("/readyz while %s is missing: 503 %s", h.topic, strings.TrimSpace(body))

	createTopic(t, h.broker, h.topic, partitions)
	cl := newKgo(t, h.broker)
	defer cl.Close()
	events, partitionOf := spread("late", partitions, perPartition)
	h.produceKgo(cl, partitionOf, events...)
	h.waitUnique(int64(len(events)), waitLimit)
	eventuallyState(t, "/readyz answering 200 once the topic exists", func() (bool, string) {
		code, body := get(t, base+"/readyz")
		return code == 200, fmt.Sprintf("/readyz %d %q", code, body)
	})
	h.waitDrained(t, base)
	h.checkNoDeadLetters()
	if got := h.checkCommitted(); got != int64(len(events)) {
		t.Errorf("committed offsets sum to %d, want %d", got, len(events))
	}
}

// Retention removed records above the group's committed offset while no member ran: the
// restarted daemon resumes at the log start, delivers everything from there, and counts the
// offsets it never read in notifierd_offsets_skipped_total{reason="out_of_range"}.
func TestRetentionGapResumesAtLogStart(t *testing.T) {
	const partitions, first, second = 2, 10, 20
	h := newHarness(t, partitions, targetsim.Faults{})
	cl := newKgo(t, h.broker)
	defer cl.Close()
	events, partitionOf := spread("gap-a", partitions, first)
	h.produceKgo(cl, partitionOf, events...)
	r := h.start()
	h.waitUnique(partitions*first, waitLimit)
	r.stop(t) // graceful: commits what was acknowledged
	committedAt := map[int]int64{0: first, 1: first}
	if got := kafkatest.CommittedOffsets(t, h.broker, h.group, h.topic); !maps.Equal(got, committedAt) {
		t.Fatalf("committed offsets after the first run = %v, want %v", got, committedAt)
	}

	later, partitionOf := spread("gap-b", partitions, second)
	h.produceKgo(cl, partitionOf, later...)
	logStart := map[int]int64{0: first + 5, 1: first + 12} // above the committed offsets
	deleteRecords(t, cl, h.topic, logStart)
	for _, po := range h.offsetRanges() {
		if po.FirstOffset != logStart[po.Partition] || po.LastOffset != first+second {
			t.Fatalf("partition %d holds [%d, %d) after DeleteRecords, want [%d, %d)",
				po.Partition, po.FirstOffset, po.LastOffset, logStart[po.Partition], first+second)
		}
	}
	removed := map[int]float64{}
	var removedSum float64
	for p, start := range logStart {
		removed[p] = float64(start - committedAt[p])
		removedSum += removed[p]
	}

	_, base := h.startWithAdmin()
	remaining := int64(partitions*(first+second)) - int64(removedSum)
	h.waitUnique(remaining, waitLimit)
	h.waitDrained(t, base)

	received := h.sim.Received()
	for i, ev := range later {
		p, offset := i/second, int64(first+i%second)
		_, got := received[ev.ID]
		switch {
		case offset < logStart[p] && got:
			t.Errorf("%s (partition %d, offset %d) was deleted before it was read, yet delivered", ev.ID, p, offset)
		case offset >= logStart[p] && !got:
			t.Errorf("%s (partition %d, offset %d, at or above the log start %d) was not delivered", ev.ID, p, offset, logStart[p])
		}
	}
	if stats := h.sim.Stats(); stats.Unique != remaining || stats.Duplicates != 0 {
		t.Errorf("Target acknowledged %d distinct notifications (%d duplicates), want %d and none", stats.Unique, stats.Duplicates, remaining)
	}
	skipped := byPartition(t, scrape(t, base), "notifierd_offsets_skipped_total", h.topic, "reason", "out_of_range")
	var skippedSum float64
	for _, v := range skipped {
		skippedSum += v
	}
	if skippedSum != removedSum || !maps.Equal(skipped, removed) {
		t.Errorf("notifierd_offsets_skipped_total{reason=\"out_of_range\"} = %v by partition (sum %v), want %v (sum %v): the offsets deleted above the committed offsets %v",
			skipped, skippedSum, removed, removedSum, committedAt)
	}
	h.checkNoDeadLetters()
	h.checkCommitted()
}

// spread makes perPartition events for each of partitions partitions, partition by partition,
// with ids prefix-p<partition>-<index>, and says which partition the i-th goes to.
func spread(prefix string, partitions, perPartition int) ([]notify.Event, func(i int) int32) {
	events := make([]notify.Event, 0, partitions*perPartition)
	for p := range partitions {
		for j := range perPartition {
			events = append(events, event(fmt.Sprintf("%s-p%d-%02d", prefix, p, j), fmt.Sprintf("s-%s-p%d-%d", prefix, p, j%3)))
		}
	}
	return events, func(i int) int32 { return int32(i / perPartition) }
}

// newKgo is a franz-go client on broker that writes each record to the partition it names.
func newKgo(t testing.TB, broker string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// produceKgo writes events to the harness's topic with cl, the i-th to partition
// partitionOf(i), keyed by session, and waits for the broker's acknowledgements.
func (h *harness) produceKgo(cl *kgo.Client, partitionOf func(i int) int32, events ...notify.Event) {
	h.t.Helper()
	records := make([]*kgo.Record, len(events))
	for i, ev := range events {
		value, err := json.Marshal(ev)
		if err != nil {
			h.t.Fatal(err)
		}
		records[i] = &kgo.Record{Topic: h.topic, Partition: partitionOf(i), Key: []byte(ev.SessionID), Value: value}
		h.produced[ev.ID] = ev
	}
	ctx, cancel := contextWithTimeout(waitLimit)
	defer cancel()
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		h.t.Fatalf("kgo produce to %s: %v", h.topic, err)
	}
}

// storedCodecs reads the harness's topic back with kgo and counts its n records by the
// compression codec of the batch that holds them.
func storedCodecs(t *testing.T, h *harness, n int) map[kgo.CompressionCodecType]int {
	t.Helper()
	cl := newKgo(t, h.broker, kgo.ConsumeTopics(h.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx, cancel := contextWithTimeout(waitLimit)
	defer cancel()
	out := map[kgo.CompressionCodecType]int{}
	for got := 0; got < n; {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records back from %s: %v", got, n, h.topic, err)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("read back %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			out[kgo.CompressionCodecType(r.Attrs.CompressionType())]++
			got++
		})
	}
	return out
}

// deleteRecords moves the log start of topic's partitions up to the given offsets. kafka-go
// v0.4.51 has no DeleteRecords, so it goes through kgo, which sends it to each leader.
func deleteRecords(t *testing.T, cl *kgo.Client, topic string, to map[int]int64) {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	for p, offset := range to {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = int32(p), offset
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := contextWithTimeout(waitLimit)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("DeleteRecords %s %v: %v", topic, to, err)
	}
	done := 0
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil || rp.LowWatermark != to[int(rp.Partition)] {
				t.Fatalf("DeleteRecords %s/%d to %d: log start %d, error %v", topic, rp.Partition, to[int(rp.Partition)], rp.LowWatermark, err)
			}
			done++
		}
	}
	if done != len(to) {
		t.Fatalf("DeleteRecords %s: %d of %d partitions answered", topic, done, len(to))
	}
}

// createTopic creates topic with the given partitions, which must not exist yet, and waits
// until each partition's leader answers.
func createTopic(t *testing.T, broker, topic string, partitions int) {
	t.Helper()
	withClient(t, broker, func(ctx context.Context, client *kafka.Client) error {
		res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
			Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
		if err == nil {
			err = res.Errors[topic]
		}
		if errors.Is(err, kafka.TopicAlreadyExists) {
			ids, _ := kafkaread.PartitionIDs(ctx, client, topic)
			t.Fatalf("topic %s already exists (partitions %v) before the test created it: something auto-created it, "+
				"e.g. a metadata request of the daemon allowing auto-creation (the test brokers allow it)", topic, ids)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", topic, err)
		}
		ids := make([]int, partitions)
		for i := range ids {
			ids[i] = i
		}
		_, err = kafkaread.ListOffsets(ctx, client, topic, ids)
		return err
	})
}

// partitionIDs lists the partitions of the harness's topic, without creating it (nil when missing).
func (h *harness) partitionIDs() (ids []int) {
	withClient(h.t, h.broker, func(ctx context.Context, client *kafka.Client) error {
		ids, _ = kafkaread.PartitionIDs(ctx, client, h.topic)
		return nil
	})
	return ids
}

// offsetRanges is the log start (FirstOffset) and end (LastOffset) of each partition of the
// harness's topic, by kafka-go's Client.ListOffsets.
func (h *harness) offsetRanges() (out []kafka.PartitionOffsets) {
	h.t.Helper()
	withClient(h.t, h.broker, func(ctx context.Context, client *kafka.Client) error {
		parts, err := kafkaread.PartitionIDs(ctx, client, h.topic)
		if err == nil {
			out, err = kafkaread.ListOffsets(ctx, client, h.topic, parts)
		}
		return err
	})
	return out
}

// endOffsets is offsetRanges' end offset by partition.
func (h *harness) endOffsets() map[int]int64 {
	out := map[int]int64{}
	for _, po := range h.offsetRanges() {
		out[po.Partition] = po.LastOffset
	}
	return out
}

// withClient runs fn with a kafka-go client on a private transport, closed afterwards.
func withClient(t testing.TB, broker string, fn func(context.Context, *kafka.Client) error) {
	t.Helper()
	transport := &kafka.Transport{Dial: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer transport.CloseIdleConnections()
	ctx, cancel := contextWithTimeout(waitLimit)
	defer cancel()
	if err := fn(ctx, &kafka.Client{Addr: kafka.TCP(broker), Transport: transport}); err != nil {
		t.Fatal(err)
	}
}

// startWithAdmin runs a daemon with its admin endpoint on a free port and returns the
// endpoint's base URL.
func (h *harness) startWithAdmin() (*running, string) {
	h.t.Helper()
	h.cfg.Admin.Listen = "127.0.0.1:0"
	addr := make(chan net.Addr, 1)
	h.adminAddr = func(a net.Addr) { addr <- a }
	r := h.start()
	select {
	case a := <-addr:
		return r, "http://" + a.String()
	case err := <-r.done:
		r.done <- err // for the cleanup's stop
		h.t.Fatalf("the daemon stopped before its admin endpoint listened: %v", err)
	case <-time.After(waitLimit):
		h.t.Fatalf("the admin endpoint did not listen within %s", waitLimit)
	}
	return nil, ""
}

// waitDrained waits until, on every partition of the harness's topic, the group's committed
// offset is the partition's end offset (kafka-go Client.OffsetFetch and ListOffsets: the end
// includes any marker at the tail) and the daemon at base reports notifierd_consumer_lag 0.
func (h *harness) waitDrained(t *testing.T, base string) {
	t.Helper()
	eventuallyState(t, "committed offset = end offset and notifierd_consumer_lag 0 on every partition of "+h.topic, func() (bool, string) {
		ends := h.endOffsets()
		committed := kafkatest.CommittedOffsets(t, h.broker, h.group, h.topic)
		// The lag series appears with the first commit tick that saw a fetch: until then, not yet.
		lag, err := scrape(t, base).ByPartition("notifierd_consumer_lag", h.topic)
		state := fmt.Sprintf("end offsets %v, committed offsets %v, notifierd_consumer_lag %v", ends, committed, lag)
		if err != nil {
			return false, state + " (" + err.Error() + ")"
		}
		return maps.Equal(committed, ends) && maps.Equal(lag, zeros(ends)), state
	})
}

// zeros is 0 for each partition of offsets.
func zeros(offsets map[int]int64) map[int]float64 {
	out := make(map[int]float64, len(offsets))
	for p := range offsets {
		out[p] = 0
	}
	return out
}

// eventuallyState is eventually for a condition that also describes what it saw: when the
// wait fails, the last description is logged with the failure.
func eventuallyState(t *testing.T, what string, cond func() (ok bool, state string)) {
	t.Helper()
	var state string
	met := false
	defer func() {
		if !met {
			t.Logf("last seen: %s", state)
		}
	}()
	eventually(t, waitLimit, what, func() (ok bool) {
		ok, state = cond()
		return ok
	})
	met = true
}

// checkNoDeadLetters fails the test if the dead-letter topic holds anything, naming what.
func (h *harness) checkNoDeadLetters() {
	h.t.Helper()
	dead := h.deadLetters()
	for _, m := range dead[:min(len(dead), 5)] {
		h.t.Logf("dead letter from %s/%s@%s: %s (%s)", dlq.Header(m, dlq.HeaderTopic), dlq.Header(m, dlq.HeaderPartition),
			dlq.Header(m, dlq.HeaderOffset), dlq.Header(m, dlq.HeaderReason), dlq.Header(m, dlq.HeaderError))
	}
	if len(dead) != 0 {
		h.t.Errorf("%d dead letters, want 0", len(dead))
	}
}

// scrape reads the daemon's /metrics with its labels.
func scrape(t *testing.T, base string) testbed.Families {
	t.Helper()
	_, body := get(t, base+"/metrics")
	fams, err := testbed.ParseFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// byPartition is metric name's value for topic by partition, over the series whose labels
// include the given name-value pairs.
func byPartition(t *testing.T, fams testbed.Families, name, topic string, labels ...string) map[int]float64 {
	t.Helper()
	out, err := fams.ByPartition(name, topic, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The topic is deleted and created again, with the same partitions, while the daemon runs
// past its old end. The position is beyond the new log's end: the daemon starts over at the
// new log's start (kafka.startOffset earliest), so the events written to it before its next
// fetch are delivered. Resuming at the end skipped them.
func TestRecreatedTopicIsReadFromItsStart(t *testing.T) {
	const old, recreated = 20, 5
	h := newHarness(t, 1, targetsim.Faults{})
	cl := newKgo(t, h.broker)
	defer cl.Close()
	before, partitionOf := spread("old", 1, old)
	h.produceKgo(cl, partitionOf, before...)
	h.start()
	h.waitUnique(old, waitLimit)

	recreateTopic(t, cl, h.topic, 1)
	fresh := newKgo(t, h.broker) // cl knows the old topic's id
	defer fresh.Close()
	after, partitionOf := spread("new", 1, recreated)
	h.produceKgo(fresh, partitionOf, after...) // before the daemon's metadata sees the new topic
	h.waitUnique(old+recreated, waitLimit)
	if stats := h.sim.Stats(); stats.Duplicates != 0 {
		t.Errorf("%d duplicate acknowledgements, want none", stats.Duplicates)
	}
}

// recreateTopic deletes topic, waits until the broker has forgotten it, and creates it again.
func recreateTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := contextWithTimeout(waitLimit)
	defer cancel()
	del := kmsg.NewPtrDeleteTopicsRequest()
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr(topic)
	del.Topics, del.TopicNames = append(del.Topics, dt), []string{topic}
	resp, err := del.RequestWith(ctx, cl)
	if err == nil && len(resp.Topics) == 1 {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("deleting %s: %v", topic, err)
	}
	for { // creation fails while the deletion is still under way
		create := kmsg.NewPtrCreateTopicsRequest()
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, partitions, 1
		create.Topics = append(create.Topics, ct)
		resp, err := create.RequestWith(ctx, cl)
		if err == nil && len(resp.Topics) == 1 {
			err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
		}
		if err == nil {
			return
		}
		if !errors.Is(err, kerr.TopicAlreadyExists) || ctx.Err() != nil {
			t.Fatalf("creating %s again: %v", topic, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
