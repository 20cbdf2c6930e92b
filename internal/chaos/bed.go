package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Bed is one scenario's test bed: its own events topic, dead-letter topic and group (named
// with the run id), its own simulator process, the notifierd processes it starts, and the
// producer. Scenarios drive it; the suite settles the books afterwards (finish).
type Bed struct {
	Name       string
	Short      bool
	Dir        string // logs and configuration files of this scenario
	Topic      string
	DLQ        string
	Group      string
	Partitions int
	Kafka      kafkaAdmin
	Sim        *Sim
	Config     config.Config // what Start writes; scenarios adjust it first
	Env        []string      // added to the daemons' environment
	Work       *Workload
	Producer   *testbed.Producer
	Rng        *rand.Rand
	Result     *Result
	Logf       func(format string, args ...any)
	// DupCutoff, when set, is the moment after which no duplicate may originate: no id first
	// acknowledged after it may be acknowledged twice (the last kill -9, or the moment connections
	// to Target were cut; DupCutoffWhat says which).
	DupCutoff     time.Time
	DupCutoffWhat string
	// DupBound, when positive, is the most duplicates there may be: the work the kills
	// or the cut handed back (DupBoundWhat says how it was measured).
	DupBound     int
	DupBoundWhat string

	suite   *suite
	procs   testbed.ProcSet
	mu      sync.Mutex
	daemons []*testbed.Notifierd
	expect  map[*testbed.Notifierd]bool // processes the bed stopped or killed on purpose
	started int
	onClose []func() // run by close, last registered first
}

func newBed(ctx context.Context, s *suite, sc Scenario, res *Result) (*Bed, error) {
	dir := filepath.Join(s.runDir, sc.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := "chaos-" + sc.Name + "-" + s.runID
	b := &Bed{
		Name: sc.Name, Short: s.opts.Short, Dir: dir,
		Topic: base, DLQ: base + "-dlq", Group: base + "-group", Partitions: 12,
		Kafka:  kafkaAdmin{Admin: testbed.Admin{Addr: s.broker.Addr()}},
		Rng:    rand.New(rand.NewPCG(s.opts.Seed, hash64(sc.Name))),
		Result: res, suite: s, expect: map[*testbed.Notifierd]bool{}, procs: testbed.ProcSet{Root: s.opts.RepoRoot},
		Logf: func(format string, args ...any) { s.logf("[%s] "+format, append([]any{sc.Name}, args...)...) },
	}
	b.Work = newWorkload(sc.Name+"-"+s.runID, rand.New(rand.NewPCG(s.opts.Seed, hash64(sc.Name+"/workload"))), 1000)
	b.Producer = newProducer(s.broker.Addr(), b.Topic)
	// From here on b is returned even on error, so the caller can close what was started.
	if err := b.Kafka.CreateTopic(ctx, b.Topic, b.Partitions); err != nil {
		return b, err
	}
	if err := b.Kafka.CreateTopic(ctx, b.DLQ, 3); err != nil {
		return b, err
	}
	sim, err := startSim(ctx, &b.procs, s.bins.targetsim, filepath.Join(dir, "targetsim.log"))
	if err != nil {
		return b, err
	}
	b.Sim = sim
	b.Config = daemonConfig(testbed.Wiring{Brokers: s.broker.Addr(), Topic: b.Topic, Group: b.Group, DLQTopic: b.DLQ, SimURL: sim.URL, Client: "chaos"})
	return b, nil
}

// Start starts a notifierd process with the bed's current Config.
func (b *Bed) Start() (*testbed.Notifierd, error) {
	b.mu.Lock()
	b.started++
	name := fmt.Sprintf("notifierd-%02d", b.started)
	b.mu.Unlock()
	n, err := b.procs.StartNotifierd(b.suite.bins.notifierd, b.Dir, name, b.Config, b.Env)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.daemons = append(b.daemons, n)
	b.mu.Unlock()
	return n, nil
}

// StartReady starts a notifierd process and waits until it has joined the group.
func (b *Bed) StartReady(ctx context.Context) (*testbed.Notifierd, error) {
	n, err := b.Start()
	if err != nil {
		return nil, err
	}
	return n, n.WaitReady(ctx)
}

// Kill is kill -9.
func (b *Bed) Kill(n *testbed.Notifierd) {
	b.mu.Lock()
	b.expect[n] = true
	b.mu.Unlock()
	n.Kill()
}

// Stop is a graceful stop (SIGTERM); it fails unless notifierd exits 0 within its shutdown
// timeout plus a margin.
func (b *Bed) Stop(n *testbed.Notifierd) error {
	b.mu.Lock()
	b.expect[n] = true
	b.mu.Unlock()
	return n.Stop(b.Config.Shutdown.Timeout + 15*time.Second)
}

// Running returns the notifierd processes still running.
func (b *Bed) Running() []*testbed.Notifierd {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*testbed.Notifierd
	for _, n := range b.daemons {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// StopAll stops every running notifierd gracefully, all at once.
func (b *Bed) StopAll() error {
	running := b.Running()
	errs := make([]error, len(running))
	var wg sync.WaitGroup
	for i, n := range running {
		wg.Go(func() { errs[i] = b.Stop(n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Produce writes msgs now (retrying until written or ctx ends).
func (b *Bed) Produce(ctx context.Context, msgs []Msg) error {
	return b.Producer.Write(ctx, kafkaMessages(msgs)...)
}

// Stream produces the workload's stream at rate a second, in the background, until the
// returned stop function is called; stop returns what was written.
func (b *Bed) Stream(ctx context.Context, rate int) (stop func() ([]Msg, error)) {
	quit := make(chan struct{})
	type result struct {
		msgs []Msg
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var all []Msg
		next := func(n int) []Msg {
			chunk := make([]Msg, n)
			for i := range chunk {
				chunk[i] = b.Work.Next()
			}
			return chunk
		}
		err := testbed.Pace(ctx, rate, 1000, quit, next, func(ctx context.Context, chunk []Msg) error {
			err := b.Produce(ctx, chunk)
			if err == nil {
				all = append(all, chunk...)
			}
			return err
		})
		done <- result{all, err}
	}()
	var once sync.Once
	var res result
	return func() ([]Msg, error) {
		once.Do(func() {
			close(quit)
			res = <-done
		})
		return res.msgs, res.err
	}
}

// settleStream stops a stream, waits until every message has an outcome, and counts the
// time to recover from since; it returns how many messages were streamed.
func (b *Bed) settleStream(ctx context.Context, stop func() ([]Msg, error), since time.Time) (int, error) {
	msgs, err := stop()
	if err != nil {
		return 0, err
	}
	at, err := b.Settle(ctx)
	if err != nil {
		return 0, err
	}
	b.Result.Recover = at.Sub(since)
	return len(msgs), nil
}

// Settle waits until every message in the events topic has been acknowledged or
// dead-lettered, and returns when that was first seen. The cheap counts (the simulator's
// unique ids, the dead-letter topic's size) are polled; once they add up, the full
// accounting confirms it, so duplicates cannot make a gap look settled.
func (b *Bed) Settle(ctx context.Context) (time.Time, error) {
	produced, err := b.Kafka.ReadProduced(ctx, b.Topic)
	if err != nil {
		return time.Time{}, err
	}
	wantIDs, wantDead := 0, 0
	ids := map[string]bool{}
	for _, p := range produced {
		if p.Expect != ExpectAck {
			wantDead++
		} else if !ids[p.ID] {
			ids[p.ID] = true
			wantIDs++
		}
	}
	b.Logf("settling: %d messages in the topic, %d ids to be acknowledged, %d to be dead-lettered", len(produced), wantIDs, wantDead)
	var unique, dead int64
	lastLog := time.Now()
	for {
		st, err1 := b.Sim.Stats(ctx)
		total, err2 := b.Kafka.Total(ctx, b.DLQ)
		if err1 == nil && err2 == nil {
			unique, dead = st.Unique, total
			if unique >= int64(wantIDs) && dead >= int64(wantDead) {
				at := time.Now()
				if t, _, _, err := b.account(ctx); err != nil || t.Lost == 0 {
					return at, err
				}
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			b.Logf("settling: %d of %d ids acknowledged, %d of %d dead letters", unique, wantIDs, dead, wantDead)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("not settled at the bound: %d of %d ids acknowledged, %d of %d dead letters written: %w",
				unique, wantIDs, dead, wantDead, errBound)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// account reads the events topic, the simulator's record and the dead-letter topic back and
// settles every produced message.
func (b *Bed) account(ctx context.Context) (Tally, []Produced, map[string]Ack, error) {
	produced, err := b.Kafka.ReadProduced(ctx, b.Topic)
	if err != nil {
		return Tally{}, nil, nil, fmt.Errorf("reading the events topic back: %w", err)
	}
	acks, err := b.Sim.Acks(ctx)
	if err != nil {
		return Tally{}, nil, nil, fmt.Errorf("reading the simulator's record: %w", err)
	}
	letters, err := b.Kafka.ReadDeadLetters(ctx, b.DLQ, b.Topic)
	if err != nil {
		return Tally{}, nil, nil, fmt.Errorf("reading the dead-letter topic: %w", err)
	}
	return Account(produced, AckCounts(acks), letters), produced, acks, nil
}

var (
	panicLine = regexp.MustCompile(`^(panic:|fatal error:)`)
	warnLine  = regexp.MustCompile(`"level":"(warn|error)"`)
)

// finish stops what still runs, then settles the books: accounting of every produced
// message, the commit invariant, processes that died on their own, panics in the logs.
func (b *Bed) finish(ctx context.Context) {
	res := b.Result
	stopErr := b.StopAll()
	if stopErr != nil {
		res.Fail("graceful stop: %v", stopErr)
	}
	b.mu.Lock()
	daemons := append([]*testbed.Notifierd(nil), b.daemons...)
	b.mu.Unlock()
	warnings := 0
	for _, n := range daemons {
		res.PeakRSS = max(res.PeakRSS, n.PeakRSS())
		if !n.Running() && !b.expect[n] {
			res.Fail("%s exited on its own (%v); see %s%s", n.Name, n.ExitErr(), n.Log, testbed.Tail(n.LogPath, 5))
		}
		for _, l := range testbed.GrepLog(n.LogPath, panicLine, 3) {
			res.Fail("%s: %s (see %s)", n.Name, l, n.Log)
		}
		warnings += len(testbed.GrepLog(n.LogPath, warnLine, 1<<30))
	}
	if warnings > 0 {
		res.Note("notifierd logged %d warn/error lines over %d process(es) (logs in %s)", warnings, len(daemons), testbed.RelTo(b.suite.opts.RepoRoot, b.Dir))
	}

	t, produced, acks, err := b.account(ctx)
	if err != nil {
		res.Fail("%v", err)
		return
	}
	res.Tally = &t
	if t.Lost > 0 {
		res.Fail("%d event(s) LOST: neither acknowledged by Target nor dead-lettered", t.Lost)
	}
	if t.WrongOutcome > 0 {
		res.Fail("%d event(s) with the wrong outcome (wrong dead-letter reason, or acknowledged/dead-lettered against expectation)", t.WrongOutcome)
	}
	if t.Unexpected > 0 {
		res.Fail("%d acknowledgement(s) or dead letter(s) of events never produced", t.Unexpected)
	}
	if !res.DuplicatesAllowed && t.Duplicates() > 0 {
		res.Fail("%d duplicate(s) where none may occur (no kill, rebalance or abrupt stop in this scenario)", t.Duplicates())
	}
	if b.DupBound > 0 {
		if t.Duplicates() > b.DupBound {
			res.Fail("%d duplicates, more than %s (%d)", t.Duplicates(), b.DupBoundWhat, b.DupBound)
		} else {
			res.Note("%d duplicates, within %s (%d)", t.Duplicates(), b.DupBoundWhat, b.DupBound)
		}
	}
	if !b.DupCutoff.IsZero() && t.AckDuplicates > 0 {
		// The simulator stamps an acknowledgement before its answer leaves, so an ack in
		// flight at a kill may be stamped a moment after it: allow a second.
		if late := LateDuplicates(produced, acks, b.DupCutoff.Add(time.Second)); len(late) > 0 {
			res.Fail("%d duplicate(s) first acknowledged after %s, so not work in flight at that moment; e.g. %s",
				len(late), b.DupCutoffWhat, strings.Join(late[:min(len(late), 5)], ", "))
		} else {
			res.Note("every duplicated id was first acknowledged before %s: duplicates came only from work in flight at that moment", b.DupCutoffWhat)
		}
	}
	if stopErr != nil {
		return // the commit invariant holds only after a graceful stop
	}
	committed, err := b.Kafka.Committed(ctx, b.Group, b.Topic)
	if err != nil {
		res.Fail("reading the group's committed offsets: %v", err)
		return
	}
	end, err := b.Kafka.EndOffsets(ctx, b.Topic)
	if err != nil {
		res.Fail("reading the end offsets: %v", err)
		return
	}
	if gaps := CommitGaps(committed, end); len(gaps) > 0 {
		res.Fail("commit invariant: after the final graceful stop the committed offsets differ from the end offsets: %s", strings.Join(gaps, "; "))
	} else {
		res.Note("commit invariant held: after the final graceful stop the group's committed offsets equal the end offsets of all %d partitions", len(end))
	}
}

// close kills whatever still runs (the simulator, and notifierd after a failure), then runs
// what the scenario registered with OnClose.
func (b *Bed) close() {
	_ = b.Producer.Close()
	if b.Sim != nil && b.Sim.Running() {
		_ = b.Sim.Stop(5 * time.Second)
	}
	if killed := b.procs.KillAll(); len(killed) > 0 {
		b.Logf("killed leftover processes: %s", strings.Join(killed, ", "))
	}
	for i := len(b.onClose) - 1; i >= 0; i-- {
		b.onClose[i]()
	}
}

// OnClose registers f to run when the scenario's bed is closed, after the books are settled,
// whether the scenario passed, failed or was interrupted: for what a scenario starts itself
// and the accounting still reads (a Kafka cluster of its own).
func (b *Bed) OnClose(f func()) { b.onClose = append(b.onClose, f) }

// committedTotal sums the group's committed offsets (partitions without a commit count 0).
func (b *Bed) committedTotal(ctx context.Context) (int64, error) {
	committed, err := b.Kafka.Committed(ctx, b.Group, b.Topic)
	var n int64
	for _, c := range committed {
		n += max(c, 0)
	}
	return n, err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// between returns a random duration in [lo, hi).
func (b *Bed) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(b.Rng.Int64N(int64(hi-lo)))
}
