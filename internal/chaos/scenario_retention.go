package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/notifierd/notifierd/internal/kafkaread"
	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario: a retention gap. notifierd runs, delivers and commits, and stops gracefully; more
// events arrive while it is down; then the log start of most partitions moves past the
// group's committed offset (DeleteRecords, as retention would remove the oldest segments),
// and notifierd starts again. It must resume at the log start, never at the end: everything
// still in the log is delivered. The offsets removed between the committed offset and the
// log start cannot be: for each such partition the daemon must log a warning naming the
// partition, the committed offset, the log start and the number skipped, and count them in
// notifierd_offsets_skipped_total{topic,partition,reason="out_of_range"}. Partitions whose
// log start stays at or below the committed offset must show no gap, and the group must end
// with lag 0.
var retentionScenario = Scenario{
	Name: "retention", Title: "retention gap: log start moved past the committed offset",
	Short: 60 * time.Second, Full: 3 * time.Minute,
	Run: runRetention,
}

// How DeleteRecords treats a partition.
const (
	gapNone     = "untouched"                     // no DeleteRecords
	gapConsumed = "only consumed offsets removed" // log start in (0, committed]: no gap
	gapPartial  = "gap"                           // log start in (committed, end)
	gapAll      = "everything after the commit"   // log start = end
)

func runRetention(ctx context.Context, b *Bed) error {
	b.Work.badEvery = 100
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{LatencyMax: 20 * time.Millisecond}); err != nil {
		return err
	}
	first, second := b.count(1200, 6000), b.count(2400, 12000)
	n1, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	if err := b.Produce(ctx, b.batch(first)); err != nil {
		return err
	}
	if _, err := b.Settle(ctx); err != nil {
		return err
	}
	if err := b.Stop(n1); err != nil {
		return err
	}
	committed, err := b.Kafka.Committed(ctx, b.Group, b.Topic)
	if err != nil {
		return err
	}
	if err := b.Produce(ctx, b.batch(second)); err != nil {
		return err
	}
	end, err := b.Kafka.EndOffsets(ctx, b.Topic)
	if err != nil {
		return err
	}

	// The plan: two partitions untouched, two with only consumed offsets removed, one with
	// everything after the commit removed, the others with a gap inside the new events.
	parts := sortedInts(end)
	kinds := make([]string, len(parts))
	for i := range kinds {
		switch {
		case i < 2:
			kinds[i] = gapNone
		case i < 4:
			kinds[i] = gapConsumed
		case i < 5:
			kinds[i] = gapAll
		default:
			kinds[i] = gapPartial
		}
	}
	b.Rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	logStart := map[int]int64{} // the partitions DeleteRecords moves
	removed := map[int]int64{}  // offsets removed above the committed offset: the gap
	kindOf := map[int]string{}
	var removedTotal int64
	var plan []string
	for i, p := range parts {
		c, e := max(committed[p], 0), end[p]
		kind := kinds[i]
		if (kind == gapConsumed && c == 0) || (kind == gapPartial && e-c < 2) {
			kind = gapAll // too few offsets for the planned kind; still a gap if e > c
		}
		switch kind {
		case gapConsumed:
			logStart[p] = 1 + b.Rng.Int64N(c)
		case gapPartial:
			logStart[p] = c + 1 + b.Rng.Int64N(e-c-1)
		case gapAll:
			logStart[p] = e
		}
		kindOf[p] = kind
		if ls, ok := logStart[p]; ok && ls > c {
			removed[p] = ls - c
			removedTotal += ls - c
		}
		if ls, ok := logStart[p]; ok {
			plan = append(plan, fmt.Sprintf("%d: committed %d, end %d, log start → %d (%s)", p, c, e, ls, kind))
		} else {
			plan = append(plan, fmt.Sprintf("%d: committed %d, end %d (%s)", p, c, e, kind))
		}
	}
	if err := b.keepDelivered(ctx, committed, logStart, removed); err != nil {
		return err
	}
	if err := deleteRecords(ctx, b.Kafka.Addr, b.Topic, logStart); err != nil {
		return err
	}
	if err := b.checkLogStart(ctx, logStart); err != nil {
		return err
	}
	b.Logf("log starts moved: %s; %d offsets removed above the committed offsets", strings.Join(plan, "; "), removedTotal)

	n2, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	restarted := time.Now()
	at, err := b.Settle(ctx)
	if err != nil {
		return err
	}
	b.Result.Recover = at.Sub(restarted)
	b.Result.Note("%d events delivered and committed, notifierd stopped (SIGTERM), %d more produced, then DeleteRecords moved the log starts; by partition: %s",
		first, second, strings.Join(plan, "; "))
	b.Result.Note("time to recover: from the restart to every event still in the log settled; the accounting reads the topic from each partition's log start, so 0 lost means every event at or above the new log start was delivered")

	// The warning, partition by partition.
	warned, err := retentionWarnings(n2.LogPath)
	if err != nil {
		return err
	}
	for _, p := range parts {
		got := warned[p]
		want, gap := removed[p]
		switch {
		case gap && len(got) == 0:
			b.Result.Fail("partition %d (%s): no warning in %s for the %d offsets removed between the committed offset %d and the log start %d",
				p, kindOf[p], n2.Log, want, max(committed[p], 0), logStart[p])
		case gap && !slices.Contains(got, skipWarning{committed: max(committed[p], 0), logStart: logStart[p], skipped: want}):
			b.Result.Fail("partition %d (%s): the warning says %s, want committed %d, logStart %d, skipped %d",
				p, kindOf[p], describeWarnings(got), max(committed[p], 0), logStart[p], want)
		case !gap && len(got) > 0:
			b.Result.Fail("partition %d (%s, committed %d, log start %d): warned of a retention gap where there is none: %s",
				p, kindOf[p], max(committed[p], 0), logStart[p], describeWarnings(got))
		}
	}

	// The metric, partition by partition.
	if err := n2.WaitAdmin(ctx); err != nil {
		return err
	}
	fams, err := n2.Families(ctx)
	if err != nil {
		return fmt.Errorf("scraping %s: %w", n2.Name, err)
	}
	skipped, err := fams.ByPartition("notifierd_offsets_skipped_total", b.Topic, "reason", "out_of_range")
	if err != nil {
		b.Result.Fail("%s: %v", n2.Name, err)
	} else {
		var sum int64
		var wrong []string
		for _, p := range parts {
			sum += int64(skipped[p])
			if int64(skipped[p]) != removed[p] {
				wrong = append(wrong, fmt.Sprintf("partition %d (%s): %v, want %d", p, kindOf[p], skipped[p], removed[p]))
			}
		}
		if len(wrong) > 0 || sum != removedTotal {
			b.Result.Fail(`notifierd_offsets_skipped_total{reason="out_of_range"} sums to %d, want %d (the offsets removed between the committed offsets and the log starts): %s`,
				sum, removedTotal, strings.Join(wrong, "; "))
		} else {
			b.Result.Note(`notifierd_offsets_skipped_total{reason="out_of_range"} = %d, the offsets removed between the committed offsets and the log starts, partition by partition; one warning for each of the %d partitions with a gap, naming the committed offset, the log start and the count, none for the others`,
				sum, len(removed))
		}
	}

	committedNow, endNow, err := b.awaitCaughtUp(ctx, 15*time.Second)
	if err != nil {
		return err
	}
	if gaps := CommitGaps(committedNow, endNow); len(gaps) > 0 {
		b.Result.Fail("lag after the drain (15 s after every event was settled): %s", strings.Join(gaps, "; "))
	} else {
		b.Result.Note("lag 0 after the drain: the committed offset equals the end offset of every partition, the fully removed one included")
	}
	return nil
}

// keepDelivered makes the accounting see what DeleteRecords is about to remove below the
// committed offsets (delivered before the gap: each must still be acknowledged or
// dead-lettered) beside what is left in the log, and leave out the offsets it removes
// between the committed offsets and the new log starts, which nothing can deliver any more
// (an acknowledgement of one counts as one of an event never produced).
func (b *Bed) keepDelivered(ctx context.Context, committed, logStart, removed map[int]int64) error {
	before, err := b.Kafka.ReadProduced(ctx, b.Topic)
	if err != nil {
		return err
	}
	var delivered []Produced
	skipped := map[int]int64{}
	for _, p := range before {
		ls, moved := logStart[p.Partition]
		switch {
		case !moved || p.Offset >= ls:
		case p.Offset < committed[p.Partition]:
			delivered = append(delivered, p)
		default:
			skipped[p.Partition]++
		}
	}
	for p, n := range removed {
		if skipped[p] != n {
			return fmt.Errorf("test bed: partition %d holds %d records between the committed offset %d and the planned log start %d, want %d",
				p, skipped[p], committed[p], logStart[p], n)
		}
	}
	plain := b.Kafka
	b.Kafka.readProduced = func(ctx context.Context, topic string) ([]Produced, error) {
		now, err := plain.ReadProduced(ctx, topic)
		if err != nil || topic != b.Topic {
			return now, err
		}
		all := append(slices.Clone(delivered), now...)
		sortProduced(all)
		return all, nil
	}
	return nil
}

// batch returns n messages of the workload's stream.
func (b *Bed) batch(n int) []Msg {
	msgs := make([]Msg, n)
	for i := range msgs {
		msgs[i] = b.Work.Next()
	}
	return msgs
}

// checkLogStart checks with kafka-go's ListOffsets that each partition's log start is where
// DeleteRecords put it.
func (b *Bed) checkLogStart(ctx context.Context, want map[int]int64) error {
	c, closeFn := b.Kafka.Client()
	defer closeFn()
	listed, err := kafkaread.ListOffsets(ctx, c, b.Topic, sortedInts(want))
	if err != nil {
		return err
	}
	for _, po := range listed {
		if po.FirstOffset != want[po.Partition] {
			return fmt.Errorf("after DeleteRecords partition %d starts at %d, want %d", po.Partition, po.FirstOffset, want[po.Partition])
		}
	}
	return nil
}

// deleteRecords moves the log start of topic's partitions up to the given offsets, as
// retention deleting the oldest segments would, but exactly. kafka-go v0.4.51 has no
// DeleteRecords; franz-go's client sends it to each partition's leader.
func deleteRecords(ctx context.Context, addr, topic string, to map[int]int64) error {
	if len(to) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...), kgo.ClientID("notifierd-chaos-admin"))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	for _, p := range sortedInts(to) {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = int32(p), to[p]
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("DeleteRecords %s: %w", topic, err)
	}
	done := 0
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("DeleteRecords %s/%d to %d: %w", topic, p.Partition, to[int(p.Partition)], err)
			}
			if p.LowWatermark != to[int(p.Partition)] {
				return fmt.Errorf("DeleteRecords %s/%d to %d: log start now %d", topic, p.Partition, to[int(p.Partition)], p.LowWatermark)
			}
			done++
		}
	}
	if done != len(to) {
		return fmt.Errorf("DeleteRecords %s: %d of %d partitions answered", topic, done, len(to))
	}
	return nil
}

// skipWarning is what a retention warning says about one partition.
type skipWarning struct{ committed, logStart, skipped int64 }

func describeWarnings(ws []skipWarning) string {
	var s []string
	for _, w := range ws {
		s = append(s, fmt.Sprintf("committed %d, logStart %d, skipped %d", w.committed, w.logStart, w.skipped))
	}
	return strings.Join(s, " | ")
}

// retentionWarnings reads notifierd's JSON log for warnings about offsets removed by retention
// ("retention" or "log start" in the message), by their partition field, with the
// committed, logStart and skipped fields (-1 where missing).
func retentionWarnings(path string) (map[int][]skipWarning, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int][]skipWarning{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["level"] != "warn" {
			continue
		}
		msg, _ := line["msg"].(string)
		if m := strings.ToLower(msg); !strings.Contains(m, "retention") && !strings.Contains(m, "log start") {
			continue
		}
		num := func(k string) int64 {
			if v, ok := line[k].(float64); ok {
				return int64(v)
			}
			return -1
		}
		p := num("partition")
		out[int(p)] = append(out[int(p)], skipWarning{committed: num("committed"), logStart: num("logStart"), skipped: num("skipped")})
	}
	return out, sc.Err()
}

// awaitCaughtUp waits up to within until the group's committed offset equals the end offset
// of every partition (CommitGaps finds none), and returns both as last read.
func (b *Bed) awaitCaughtUp(ctx context.Context, within time.Duration) (committed, end map[int]int64, err error) {
	deadline := time.Now().Add(within)
	for {
		committed, err = b.Kafka.Committed(ctx, b.Group, b.Topic)
		if err == nil {
			end, err = b.Kafka.EndOffsets(ctx, b.Topic)
		}
		if err != nil {
			return nil, nil, err
		}
		if len(CommitGaps(committed, end)) == 0 || time.Now().After(deadline) {
			return committed, end, nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, nil, err
		}
	}
}
