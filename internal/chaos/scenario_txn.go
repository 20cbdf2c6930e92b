package chaos

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Scenario: a transactional producer (franz-go with a transactional.id, as Kafka Streams,
// Flink's exactly-once sink or any Java producer with one would write) writes the events in
// transactions across all partitions; every third transaction is aborted, and its content is
// sent again under new ids in a later, committed transaction, as a pipeline retrying a failed
// transaction would. Meanwhile notifierd is killed with kill -9 and restarted. At its default
// kafka.isolationLevel, read_committed, no record of an aborted transaction may reach Target
// or the dead-letter topic, no transaction marker may be dead-lettered, every committed record
// must be acknowledged or dead-lettered, and after the drain the group's committed offsets must
// equal the partitions' end offsets: past the final commit marker, lag 0.
//
// The events topic is read back with franz-go at read_committed (kafkaAdmin.readCommitted), a
// reader independent of notifierd's own, and checked against what the producer committed and
// aborted.
var txnScenario = Scenario{
	Name: "txn", Title: "transactional producer: aborted transactions and kill -9",
	Short: 90 * time.Second, Full: 4 * time.Minute,
	DuplicatesAllowed: true, // kill -9
	Run:               runTxn,
}

const (
	txnRecords    = 15                     // records per transaction
	txnPace       = 100 * time.Millisecond // at most one transaction begun per tick
	txnAbortEvery = 3                      // every third transaction is aborted
)

func runTxn(ctx context.Context, b *Bed) error {
	plain := b.Kafka
	b.Kafka.readProduced = func(ctx context.Context, topic string) ([]Produced, error) {
		produced, _, err := plain.readCommitted(ctx, topic)
		return produced, err
	}
	b.Work.badEvery = 50 // bad input in committed and aborted transactions alike
	kills := b.count(2, 5)
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 100 * time.Millisecond}); err != nil {
		return err
	}
	tp, err := newTxnProducer(b.Kafka.Addr, b.Topic, b.Topic+"-txn")
	if err != nil {
		return err
	}
	defer tp.close()
	n, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	stop := tp.start(ctx, b.Work)
	var lastKill time.Time
	for i := 1; i <= kills; i++ {
		if err := sleep(ctx, b.between(500*time.Millisecond, 2500*time.Millisecond)); err != nil {
			return err
		}
		b.Kill(n)
		lastKill = time.Now()
		b.Logf("kill -9 %d of %d: %s; %d transactions so far", i, kills, n.Name, tp.transactions())
		if n, err = b.StartReady(ctx); err != nil {
			return err
		}
	}
	if err := sleep(ctx, 2*time.Second); err != nil { // transactions read by the last process from the start
		return err
	}
	led, err := stop()
	if err != nil {
		return err
	}
	b.Logf("producer done: %d transactions committed (%d records), %d aborted (%d records, %d of them appended)",
		led.committedTxns, len(led.committed), led.abortedTxns, len(led.aborted), led.appendedAborted())
	at, err := b.Settle(ctx)
	if err != nil {
		return err
	}
	b.Result.Recover = at.Sub(lastKill)
	b.DupCutoff, b.DupCutoffWhat = lastKill, "the last kill -9"
	b.Result.Note("transactional.id %s (franz-go), %d records a transaction over %d sessions, every %s at most; every %drd transaction aborted and its content sent again under new ids in the next committed one; 1 in 50 records bad input; notifierd at kafka.isolationLevel %s (the default)",
		b.Topic+"-txn", txnRecords, b.Work.sessions, txnPace, txnAbortEvery, config.Default().Kafka.IsolationLevel)
	b.Result.Note("%d transactions committed (%d records), %d aborted (%d records, %d of them appended to the log before the abort); %d kill -9 of notifierd, each followed by a restart",
		led.committedTxns, len(led.committed), led.abortedTxns, len(led.aborted), led.appendedAborted(), kills)
	return checkTxn(ctx, b, led)
}

// checkTxn asserts what the aborted transactions and the markers must not have caused, and
// that the group commits past the final markers.
func checkTxn(ctx context.Context, b *Bed, led txnLedger) error {
	res := b.Result
	produced, markers, err := b.Kafka.readCommitted(ctx, b.Topic)
	if err != nil {
		return err
	}
	// The read-back against the producer's own record: a disagreement is the test bed's
	// (or the broker's) problem, not notifierd's, and would void the checks below.
	readBack := map[string]bool{}
	for _, p := range produced {
		readBack[p.ID] = true
	}
	var abortedRead, committedMissing []string
	for _, r := range led.aborted {
		if readBack[r.id] {
			abortedRead = append(abortedRead, r.id)
		}
	}
	for id := range led.committed {
		if !readBack[id] {
			committedMissing = append(committedMissing, id)
		}
	}
	if len(abortedRead) > 0 || len(committedMissing) > 0 || len(produced) != len(led.committed) {
		res.Fail("test bed: the read-back at read_committed (franz-go) holds %d records, the producer committed %d; %d aborted ones among them (e.g. %s), %d committed ones missing (e.g. %s)",
			len(produced), len(led.committed), len(abortedRead), firstFew(abortedRead), len(committedMissing), firstFew(committedMissing))
	}

	acks, err := b.Sim.Acks(ctx)
	if err != nil {
		return err
	}
	var delivered []string
	for _, r := range led.aborted {
		if acks[r.id].Count > 0 {
			delivered = append(delivered, fmt.Sprintf("%s (%d/%d)", r.id, r.partition, r.offset))
		}
	}
	if len(delivered) > 0 {
		res.Fail("%d of the %d records of aborted transactions (%d appended to the log) were delivered to Target; read_committed must never hand them on: e.g. %s",
			len(delivered), len(led.aborted), led.appendedAborted(), firstFew(delivered))
	} else {
		res.Note("0 of the %d records of aborted transactions (%d appended to the log) reached Target", len(led.aborted), led.appendedAborted())
	}

	letters, err := b.Kafka.ReadDeadLetters(ctx, b.DLQ, b.Topic)
	if err != nil {
		return err
	}
	isMarker := map[sourceOffset]bool{}
	for _, m := range markers {
		isMarker[m] = true
	}
	abortedAt := map[sourceOffset]string{}
	for _, r := range led.aborted {
		if r.offset >= 0 {
			abortedAt[sourceOffset{r.partition, r.offset}] = r.id
		}
	}
	var deadMarkers, deadAborted []string // distinct source offsets
	seen := map[sourceOffset]bool{}
	for _, d := range letters {
		at := sourceOffset{d.Partition, d.Offset}
		if seen[at] {
			continue
		}
		seen[at] = true
		if isMarker[at] {
			deadMarkers = append(deadMarkers, at.String()+" ("+d.Reason+")")
		}
		if id, ok := abortedAt[at]; ok {
			deadAborted = append(deadAborted, id+" at "+at.String()+" ("+d.Reason+")")
		}
	}
	if len(deadMarkers) > 0 {
		res.Fail("%d of the %d transaction markers in the topic dead-lettered (%d letters in all): e.g. %s", len(deadMarkers), len(markers), len(letters), firstFew(deadMarkers))
	}
	if len(deadAborted) > 0 {
		res.Fail("%d of the %d records of aborted transactions dead-lettered: e.g. %s", len(deadAborted), len(led.aborted), firstFew(deadAborted))
	}
	if len(deadMarkers) == 0 && len(deadAborted) == 0 {
		res.Note("the dead-letter topic holds %d letters, none of a transaction marker (%d in the topic) or an aborted record: only the committed bad input", len(letters), len(markers))
	}

	committed, end, err := b.awaitCaughtUp(ctx, 15*time.Second)
	if err != nil {
		return err
	}
	var gaps []string
	var lag int64
	for _, p := range sortedInts(end) {
		c := committed[p]
		if c == end[p] || (end[p] == 0 && c < 0) {
			continue
		}
		lag += end[p] - max(c, 0)
		gap := fmt.Sprintf("partition %d: committed %d, end %d", p, c, end[p])
		if c >= 0 && c < end[p] && isMarker[sourceOffset{p, c}] && onlyMarkers(isMarker, p, c, end[p]) {
			gap += fmt.Sprintf(" (offsets %d..%d are transaction markers: the commit stopped at a marker instead of moving past it)", c, end[p]-1)
		}
		gaps = append(gaps, gap)
	}
	if len(gaps) > 0 {
		res.Fail("lag %d after the drain (15 s after every event was settled): the group's committed offsets are not the end offsets: %s", lag, strings.Join(gaps, "; "))
	} else {
		res.Note("lag 0 after the drain: the group's committed offset equals the end offset of every partition, past the final commit marker (kafka-go OffsetFetch and ListOffsets)")
	}
	return nil
}

// onlyMarkers reports whether every offset of partition p in [from, to) is a marker.
func onlyMarkers(isMarker map[sourceOffset]bool, p int, from, to int64) bool {
	for o := from; o < to; o++ {
		if !isMarker[sourceOffset{p, o}] {
			return false
		}
	}
	return true
}

// txnRecord is a record of an aborted transaction: its id, and where it was appended (offset
// -1: the produce failed, so it never reached the log).
type txnRecord struct {
	id        string
	partition int
	offset    int64
}

// txnLedger is what the transactional producer did.
type txnLedger struct {
	committedTxns, abortedTxns int
	committed                  map[string]bool // ids of the records of committed transactions
	aborted                    []txnRecord
}

func (l txnLedger) appendedAborted() int {
	n := 0
	for _, r := range l.aborted {
		if r.offset >= 0 {
			n++
		}
	}
	return n
}

// txnProducer writes the workload in transactions with franz-go: a test-bed producer only,
// notifierd itself never produces transactionally.
type txnProducer struct {
	cl    *kgo.Client
	topic string
	mu    sync.Mutex
	led   txnLedger
}

func newTxnProducer(addr, topic, txnID string) (*txnProducer, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(addr, ",")...),
		kgo.ClientID("notifierd-chaos-txn"),
		kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(30*time.Second),
		kgo.ProducerLinger(0),
		// The default partitioner hashes keys with murmur2, as Kafka's Java client and the
		// suite's other producer do: one session, one partition.
	)
	if err != nil {
		return nil, fmt.Errorf("transactional producer: %w", err)
	}
	return &txnProducer{cl: cl, topic: topic, led: txnLedger{committed: map[string]bool{}}}, nil
}

func (tp *txnProducer) close() { tp.cl.Close() }

func (tp *txnProducer) transactions() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.led.committedTxns + tp.led.abortedTxns
}

// start writes transactions in the background until the returned function is called, which
// waits for the last one (and for the retry of an aborted one, so the log ends committed)
// and returns the ledger.
func (tp *txnProducer) start(ctx context.Context, w *Workload) (stop func() (txnLedger, error)) {
	quit := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- tp.loop(ctx, w, quit) }()
	return func() (txnLedger, error) {
		close(quit)
		err := <-done
		tp.mu.Lock()
		defer tp.mu.Unlock()
		return tp.led, err
	}
}

func (tp *txnProducer) loop(ctx context.Context, w *Workload, quit <-chan struct{}) error {
	var retry []Msg // the content of the last aborted transaction, to be sent again
	tick := time.NewTicker(txnPace)
	defer tick.Stop()
	for i := 1; ; i++ {
		stopping := false
		select {
		case <-quit:
			stopping = true
		default:
		}
		if stopping && len(retry) == 0 {
			return nil
		}
		abort := i%txnAbortEvery == 0 && !stopping
		msgs := make([]Msg, 0, txnRecords)
		for _, m := range retry {
			msgs = append(msgs, w.again(m))
		}
		for len(msgs) < txnRecords {
			msgs = append(msgs, w.Next())
		}
		retry = nil
		committed, recs, err := tp.transaction(ctx, msgs, !abort)
		if err != nil {
			return fmt.Errorf("transactional producer, transaction %d: %w", i, err)
		}
		tp.mu.Lock()
		if committed {
			tp.led.committedTxns++
			for _, m := range msgs {
				tp.led.committed[m.ID] = true
			}
		} else {
			tp.led.abortedTxns++
			tp.led.aborted = append(tp.led.aborted, recs...)
			retry = msgs
		}
		tp.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// transaction writes msgs in one transaction and commits it if commit and every record was
// written, else aborts it. It returns whether it committed, and where each record went.
func (tp *txnProducer) transaction(ctx context.Context, msgs []Msg, commit bool) (bool, []txnRecord, error) {
	if err := tp.cl.BeginTransaction(); err != nil {
		return false, nil, fmt.Errorf("begin: %w", err)
	}
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Key: []byte(m.Key), Value: m.Value, Headers: []kgo.RecordHeader{
			{Key: HeaderID, Value: []byte(m.ID)}, {Key: HeaderExpect, Value: []byte(m.Expect)},
		}}
	}
	results := tp.cl.ProduceSync(ctx, recs...)
	if results.FirstErr() != nil {
		commit = false // a transaction with a failed write can only be aborted
	}
	out := make([]txnRecord, len(results))
	for i, r := range results {
		out[i] = txnRecord{id: msgs[i].ID, partition: int(r.Record.Partition), offset: r.Record.Offset}
		if r.Err != nil {
			out[i].offset = -1
		}
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = tp.cl.EndTransaction(ctx, kgo.TransactionEndTry(commit))
		if err == nil || !kerr.IsRetriable(err) || attempt == 5 || ctx.Err() != nil {
			break
		}
		_ = sleep(ctx, 200*time.Millisecond)
	}
	if err != nil {
		what := "abort"
		if commit {
			what = "commit"
		}
		return false, nil, fmt.Errorf("%s: %w (first write error: %v)", what, err, results.FirstErr())
	}
	return commit, out, nil
}

// again is m's content under a new id, as a pipeline sends a failed transaction's content
// again: a good event gets a new notification id, a bad one keeps its bytes.
func (w *Workload) again(m Msg) Msg {
	w.mu.Lock()
	w.seq++
	n := w.seq
	w.mu.Unlock()
	id := fmt.Sprintf("%s-%07d", w.prefix, n)
	if m.Expect != ExpectAck {
		m.ID = id + "-again"
		return m
	}
	var ev notify.Event
	if err := json.Unmarshal(m.Value, &ev); err != nil {
		panic(err) // the workload's good events always decode
	}
	ev.ID = id
	value, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	m.ID, m.Value = id, value
	return m
}

// sourceOffset is a place in the events topic.
type sourceOffset struct {
	partition int
	offset    int64
}

func (s sourceOffset) String() string { return fmt.Sprintf("%d/%d", s.partition, s.offset) }

// readCommitted reads topic back as a read_committed consumer does, with franz-go: the records
// of committed transactions (and non-transactional ones), by partition then offset, and the
// offsets of the transaction markers. It reads each partition up to its end offset at the
// call, which it reaches once the marker of the last transaction is read.
func (k kafkaAdmin) readCommitted(ctx context.Context, topic string) ([]Produced, []sourceOffset, error) {
	end, err := k.EndOffsets(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	from := map[int32]kgo.Offset{}
	for p, e := range end {
		if e > 0 {
			from[int32(p)] = kgo.NewOffset().AtStart()
		}
	}
	if len(from) == 0 {
		return nil, nil, nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(k.Addr, ",")...),
		kgo.ClientID("notifierd-chaos-read"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(250*time.Millisecond),
	)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	next := map[int]int64{}
	var produced []Produced
	var markers []sourceOffset
	var recErr error
	for !readReached(next, end) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("reading %s back at read_committed: %w; reached %v of the end offsets %v", topic, ctx.Err(), next, end)
		}
		var fatal error
		fetches.EachError(func(_ string, _ int32, err error) {
			if !kerr.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded) {
				fatal = err
			}
		})
		if fatal != nil {
			return nil, nil, fmt.Errorf("reading %s back at read_committed: %w", topic, fatal)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			p := int(r.Partition)
			if r.Offset >= end[p] {
				return
			}
			next[p] = r.Offset + 1
			if r.Attrs.IsControl() {
				markers = append(markers, sourceOffset{p, r.Offset})
				return
			}
			pr := Produced{Partition: p, Offset: r.Offset}
			for _, h := range r.Headers {
				switch h.Key {
				case HeaderID:
					pr.ID = string(h.Value)
				case HeaderExpect:
					pr.Expect = string(h.Value)
				}
			}
			if (pr.ID == "" || pr.Expect == "") && recErr == nil {
				recErr = fmt.Errorf("%s/%d/%d has no %s/%s header: not produced by the suite", topic, p, r.Offset, HeaderID, HeaderExpect)
			}
			produced = append(produced, pr)
		})
		if recErr != nil {
			return nil, nil, recErr
		}
	}
	sortProduced(produced)
	return produced, markers, nil
}

// sortProduced orders messages by partition, then offset, as the topic is read.
func sortProduced(ps []Produced) {
	slices.SortFunc(ps, func(x, y Produced) int {
		return cmp.Or(cmp.Compare(x.Partition, y.Partition), cmp.Compare(x.Offset, y.Offset))
	})
}

// readReached reports whether next has reached end in every partition.
func readReached(next, end map[int]int64) bool {
	for p, e := range end {
		if next[p] < e {
			return false
		}
	}
	return true
}

// firstFew joins the first five of items, saying how many more there are.
func firstFew(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	s := strings.Join(items[:min(len(items), 5)], ", ")
	if len(items) > 5 {
		s += fmt.Sprintf(" and %d more", len(items)-5)
	}
	return s
}
