package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// Options configure a run of the suite.
type Options struct {
	Short     bool     // the CI version: shorter faults, fewer events, 10 s of fuzzing
	Only      []string // scenario names to run; empty: all
	Seed      uint64   // drives every random choice of the scenarios
	KafkaPort int      // client port of the local broker; the controller listens on the next one
	KafkaHome string   // KAFKA_HOME_DIR for local-kafka.sh
	RepoRoot  string
	Command   string    // the command line, for the report
	Log       io.Writer // progress
}

// Scenario is one entry of the suite.
type Scenario struct {
	Name  string
	Title string
	// Bound is the most a scenario may take, short and full; it fails at the bound.
	Short, Full time.Duration
	// NoBed scenarios need no broker, topics or simulator (fuzz).
	NoBed bool
	// DuplicatesAllowed: the scenario kills, restarts or rebalances, so work in flight may be
	// delivered again; otherwise any duplicate fails it.
	DuplicatesAllowed bool
	Run               func(ctx context.Context, b *Bed) error
}

// Scenarios is the suite, in order.
func Scenarios() []Scenario {
	return []Scenario{kill9Scenario, brokerScenario, targetScenario, rebalanceScenario, badInputScenario, memoryScenario, txnScenario, retentionScenario, stopScenario, clusterScenario, outageScenario, routesScenario, fuzzScenario}
}

type suite struct {
	opts   Options
	runID  string
	runDir string
	bins   struct{ notifierd, targetsim string }
	broker *testbed.LocalKafka
	start  time.Time
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.opts.Log, "%s %s\n", time.Since(s.start).Round(100*time.Millisecond), fmt.Sprintf(format, args...))
}

// Run runs the selected scenarios and returns the report; it fails only when the suite
// cannot run at all (bad options, no build, no broker). Failed scenarios are in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	var selected []Scenario
	for _, sc := range Scenarios() {
		if len(opts.Only) == 0 || slices.Contains(opts.Only, sc.Name) {
			selected = append(selected, sc)
		}
	}
	for _, name := range opts.Only {
		if !slices.ContainsFunc(Scenarios(), func(sc Scenario) bool { return sc.Name == name }) {
			return nil, fmt.Errorf("no scenario %q (have %s)", name, strings.Join(ScenarioNames(), ", "))
		}
	}
	s := &suite{opts: opts, start: time.Now(), runID: newRunID()}
	s.runDir = filepath.Join(opts.RepoRoot, ".cache", "chaos", "runs", s.runID)
	if err := os.MkdirAll(s.runDir, 0o755); err != nil {
		return nil, err
	}
	mode := "full"
	if opts.Short {
		mode = "short"
	}
	rep := &Report{Command: opts.Command, Started: s.start, Mode: mode, Seed: opts.Seed, Revision: revision(opts.RepoRoot)}
	s.logf("chaos suite: %s mode, seed %d, run %s, logs in %s", mode, opts.Seed, s.runID, s.runDir)

	needBed := slices.ContainsFunc(selected, func(sc Scenario) bool { return !sc.NoBed })
	if needBed {
		if err := s.build(ctx); err != nil {
			return nil, err
		}
		s.broker = &testbed.LocalKafka{Wipe: true, Port: opts.KafkaPort, Home: opts.KafkaHome, RepoRoot: opts.RepoRoot,
			Script: filepath.Join(opts.RepoRoot, "deploy", "kafka", "local-kafka.sh"), Log: s.logf}
		if err := s.broker.Ensure(ctx); err != nil {
			return nil, err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if err := s.broker.Close(cctx); err != nil {
				s.logf("stopping the broker: %v", err)
			}
		}()
		rep.Broker = fmt.Sprintf("Apache Kafka %s, single KRaft node on %s (deploy/kafka/local-kafka.sh, KAFKA_HOME_DIR=%s)",
			s.broker.Version(), s.broker.Addr(), testbed.RelTo(opts.RepoRoot, opts.KafkaHome))
	}

	for _, sc := range selected {
		if ctx.Err() != nil {
			break
		}
		res := s.runScenario(ctx, sc)
		rep.Results = append(rep.Results, res)
		status := "PASS"
		if !res.Passed() {
			status = "FAIL"
		}
		s.logf("[%s] %s in %s", sc.Name, status, res.Duration.Round(time.Second))
	}
	rep.Duration = time.Since(s.start)
	return rep, ctx.Err()
}

// runScenario runs one scenario within its bound, then settles its books with a bound of
// its own, and always kills what it started.
func (s *suite) runScenario(ctx context.Context, sc Scenario) *Result {
	res := &Result{Name: sc.Name, Title: sc.Title, DuplicatesAllowed: sc.DuplicatesAllowed, Recover: -1}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	bound := sc.Full
	if s.opts.Short {
		bound = sc.Short
	}
	s.logf("[%s] %s (bound %s)", sc.Name, sc.Title, bound)
	sctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()

	if sc.NoBed {
		b := &Bed{Name: sc.Name, Short: s.opts.Short, Dir: filepath.Join(s.runDir, sc.Name), Result: res, suite: s,
			Logf: func(format string, args ...any) { s.logf("["+sc.Name+"] "+format, args...) }}
		_ = os.MkdirAll(b.Dir, 0o755)
		if err := sc.Run(sctx, b); err != nil {
			res.Fail("%s", boundMessage(sctx, bound, err))
		}
		return res
	}

	if !s.broker.Answers() { // a failed broker restart must not fail every later scenario
		s.logf("[%s] the broker does not answer; starting it", sc.Name)
		if err := s.broker.Start(sctx); err != nil {
			res.Fail("broker not available: %v", err)
			return res
		}
	}
	b, err := newBed(sctx, s, sc, res)
	if err != nil {
		res.Fail("setting up: %s", boundMessage(sctx, bound, err))
		if b != nil {
			b.close()
		}
		return res
	}
	defer b.close()
	if err := sc.Run(sctx, b); err != nil {
		res.Fail("%s", boundMessage(sctx, bound, err))
	}
	if ctx.Err() != nil {
		res.Fail("interrupted")
		return res
	}
	fctx, fcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer fcancel()
	b.finish(fctx)
	if fctx.Err() != nil {
		res.Fail("checking the outcome took longer than 3m")
	}
	return res
}

func boundMessage(ctx context.Context, bound time.Duration, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, errBound) {
		return fmt.Sprintf("did not finish within its bound of %s: %v", bound, err)
	}
	return err.Error()
}

// build compiles notifierd and targetsim once for the run.
func (s *suite) build(ctx context.Context) error {
	binDir := filepath.Join(s.opts.RepoRoot, ".cache", "chaos", "bin")
	s.bins.notifierd = filepath.Join(binDir, "notifierd")
	s.bins.targetsim = filepath.Join(binDir, "targetsim")
	start := time.Now()
	for bin, pkg := range map[string]string{s.bins.notifierd: "./cmd/notifierd", s.bins.targetsim: "./cmd/targetsim"} {
		if err := testbed.BuildBinary(ctx, s.opts.RepoRoot, pkg, bin); err != nil {
			return err
		}
	}
	s.logf("built notifierd and targetsim into %s in %s", testbed.RelTo(s.opts.RepoRoot, binDir), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// ScenarioNames lists the scenario names in order.
func ScenarioNames() []string {
	var names []string
	for _, sc := range Scenarios() {
		names = append(names, sc.Name)
	}
	return names
}

func newRunID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b[:])
}

// revision names the code under test: the commit, and whether the tree had changes.
func revision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += " with uncommitted changes"
	}
	return "commit " + rev
}

// durations picks the short or the full value.
func (b *Bed) pick(short, full time.Duration) time.Duration {
	if b.Short {
		return short
	}
	return full
}

// count picks the short or the full value.
func (b *Bed) count(short, full int) int {
	if b.Short {
		return short
	}
	return full
}
