package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Scenario: stopping notifierd while it cannot finish joining. A crash loop (kill -9 of
// notifierd N times in quick succession, each process killed once the broker lists it as a
// member) leaves the group holding dead members whose sessions (30 s) have not expired, so
// the next member's join waits on them. One more process starts and gets SIGTERM while it is
// still joining (the broker lists it, /readyz is not ok): with nothing in flight it must exit
// 0 within a few seconds, and within shutdown.timeout in any case, not wait out the join.
//
// Before that, the scenario checks that a second signal ends a graceful stop at once: a
// process whose Target requests all hang gets SIGTERM, which would wait up to
// shutdown.timeout for that work, and then SIGINT. Another process delivers and commits
// everything before the crash loop, so the books balance without a member having to join
// after it.
var stopScenario = Scenario{
	Name: "stop", Title: "SIGTERM during a join held by crashed members",
	Short: 60 * time.Second, Full: 2 * time.Minute,
	DuplicatesAllowed: true, // the second signal abandons work in flight
	Run:               runStop,
}

const (
	stopSession  = 30 * time.Second // the crashed members' sessions outlast the scenario
	stopTimeout  = 10 * time.Second // shutdown.timeout
	stopQuick    = 5 * time.Second  // a stop with nothing in flight must take no longer
	stopAtOnce   = time.Second      // a second signal: exit within this
	stopMemberIn = 15 * time.Second // how long the broker may take to list a starting process
)

var (
	shutdownBegan = regexp.MustCompile(`"msg":"leaving consumer group"`)
	joinedLine    = regexp.MustCompile(`"msg":"joined generation"`)
)

func runStop(ctx context.Context, b *Bed) error {
	crashes := b.count(4, 10)
	b.Config.Shutdown.Timeout = stopTimeout
	b.Config.Kafka.RebalanceTimeout = stopSession
	b.Config.Kafka.SessionTimeout = 6 * time.Second // the first process's abandoned session expires soon
	gm, err := newGroupWatch(b.Kafka.Addr, b.Group)
	if err != nil {
		return err
	}
	defer gm.close()

	// 1. A second signal during a graceful stop that waits on work in flight.
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{HangRate: 1}); err != nil {
		return err
	}
	a, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	events := b.count(300, 1000)
	if err := b.Produce(ctx, b.batch(events)); err != nil {
		return err
	}
	inFlight, err := awaitInFlight(ctx, a)
	if err != nil {
		return err
	}
	termAt := time.Now()
	a.Term()
	if _, err := a.WaitLog(ctx, shutdownBegan); err != nil {
		b.Result.Fail("%s, SIGTERM with %.0f Target requests hanging: the graceful stop ended in %s, before a second signal could be sent, so it did not wait for the work in flight (%v)",
			a.Name, inFlight, time.Since(termAt).Round(time.Millisecond), err)
	} else {
		intAt := time.Now()
		_ = syscall.Kill(a.PID(), syscall.SIGINT)
		select {
		case <-a.Done():
			took := time.Since(intAt)
			status := exitStatus(a.ExitErr())
			if took > stopAtOnce {
				b.Result.Fail("%s: a second signal (SIGINT %s after SIGTERM) took %s to end the graceful stop, more than %s: not at once (%s)",
					a.Name, intAt.Sub(termAt).Round(time.Millisecond), took.Round(time.Millisecond), stopAtOnce, status)
			} else {
				b.Result.Note("second signal: %s got SIGTERM with %.0f Target requests hanging (a graceful stop would wait up to shutdown.timeout, %s, for them), then SIGINT %s later, and exited %s after it (%s)",
					a.Name, inFlight, stopTimeout, intAt.Sub(termAt).Round(time.Millisecond), took.Round(time.Millisecond), status)
			}
		case <-time.After(stopTimeout + 5*time.Second):
			b.Result.Fail("%s: still running %s after a second signal (SIGINT %s after SIGTERM)", a.Name, stopTimeout+5*time.Second, intAt.Sub(termAt).Round(time.Millisecond))
		}
	}
	b.Kill(a) // abandoned on purpose (a no-op once it has exited)

	// 2. Everything delivered and committed: the crash loop starts from a group that is caught up.
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{}); err != nil {
		return err
	}
	b.Config.Kafka.SessionTimeout = stopSession
	survivor, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	if _, err := b.Settle(ctx); err != nil {
		return err
	}
	if committed, end, err := b.awaitCaughtUp(ctx, 10*time.Second); err != nil {
		return err
	} else if gaps := CommitGaps(committed, end); len(gaps) > 0 {
		return fmt.Errorf("%s did not commit what it delivered within 10 s: %s", survivor.Name, strings.Join(gaps, "; "))
	}

	// 3. The crash loop: the caught-up member, then processes killed as soon as the broker
	// lists them, each a dead member for the 30 s of its session.
	seen, err := gm.members(ctx)
	if err != nil {
		return err
	}
	b.Kill(survivor)
	loopStart := time.Now()
	var crashed []string
	crashed = append(crashed, survivor.Name+" (a member of the generation)")
	for len(crashed) < crashes {
		n, err := b.Start()
		if err != nil {
			return err
		}
		if err := gm.awaitNewMember(ctx, n, seen); err != nil {
			return err
		}
		b.Kill(n)
		crashed = append(crashed, n.Name)
	}
	loopTook := time.Since(loopStart)
	b.Logf("crash loop: %d kill -9 in %s: %s", len(crashed), loopTook.Round(10*time.Millisecond), strings.Join(crashed, ", "))

	// 4. SIGTERM while joining.
	last, err := b.Start()
	if err != nil {
		return err
	}
	if err := gm.awaitNewMember(ctx, last, seen); err != nil {
		return err
	}
	if err := last.WaitAdmin(ctx); err != nil {
		return err
	}
	status, err := readyz(ctx, last)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		return fmt.Errorf("%s was ready (joined) before the SIGTERM: the crash loop did not hold its join; the scenario tested nothing", last.Name)
	}
	termAt = time.Now()
	stopErr := b.Stop(last)
	took := time.Since(termAt)
	if joined := testbed.GrepLog(last.LogPath, joinedLine, 1); len(joined) > 0 {
		b.Result.Fail("%s joined a generation after all (%s): the SIGTERM did not come during a join", last.Name, joined[0])
	}
	switch {
	case stopErr != nil:
		b.Result.Fail("SIGTERM during a join: %v (after %s)", stopErr, took.Round(time.Millisecond))
	case took > stopTimeout:
		b.Result.Fail("SIGTERM during a join: %s took %s to exit, more than shutdown.timeout (%s)", last.Name, took.Round(time.Millisecond), stopTimeout)
	case took > stopQuick:
		b.Result.Fail("SIGTERM during a join, nothing in flight: %s took %s to exit, more than %s (shutdown.timeout %s)", last.Name, took.Round(time.Millisecond), stopQuick, stopTimeout)
	}
	b.Result.Note("crash loop: %d kill -9 in %s (%s), each process killed once the broker listed it as a member; sessions %s, rebalance timeout %s, so the group still held the dead members",
		len(crashed), loopTook.Round(10*time.Millisecond), strings.Join(crashed, ", "), stopSession, stopSession)
	b.Result.Note("SIGTERM during a join: %s, listed by the broker as a member but not ready (/readyz %d), exited %s after SIGTERM (must be ≤ %s with nothing in flight, and within shutdown.timeout %s)",
		last.Name, status, took.Round(time.Millisecond), stopQuick, stopTimeout)
	return nil
}

// awaitInFlight waits until n has Target requests in flight and returns how many.
func awaitInFlight(ctx context.Context, n *testbed.Notifierd) (float64, error) {
	for {
		if m, err := n.Metrics(ctx); err == nil && m["notifierd_requests_in_flight"] > 0 {
			return m["notifierd_requests_in_flight"], nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s never had a Target request in flight: %w", n.Name, ctx.Err())
		case <-n.Done():
			return 0, fmt.Errorf("%s exited (%v); see %s", n.Name, n.ExitErr(), n.Log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readyz is n's /readyz status.
func readyz(ctx context.Context, n *testbed.Notifierd) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Admin+"/readyz", nil)
	resp, err := n.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s /readyz: %w", n.Name, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.String()
	default:
		return err.Error()
	}
}

// groupWatch lists a consumer group's members as the broker sees them (DescribeGroups).
type groupWatch struct {
	cl    *kgo.Client
	group string
}

func newGroupWatch(addr, group string) (*groupWatch, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...), kgo.ClientID("notifierd-chaos-admin"))
	if err != nil {
		return nil, err
	}
	return &groupWatch{cl: cl, group: group}, nil
}

func (g *groupWatch) close() { g.cl.Close() }

// members returns the member ids the group lists now.
func (g *groupWatch) members(ctx context.Context) (map[string]bool, error) {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{g.group}
	resp, err := req.RequestWith(ctx, g.cl)
	if err != nil {
		return nil, fmt.Errorf("describe group %s: %w", g.group, err)
	}
	out := map[string]bool{}
	for _, grp := range resp.Groups {
		if err := kerr.ErrorForCode(grp.ErrorCode); err != nil {
			return nil, fmt.Errorf("describe group %s: %w", g.group, err)
		}
		for _, m := range grp.Members {
			out[m.MemberID] = true
		}
	}
	return out, nil
}

// awaitNewMember waits until the group lists a member not in seen (n's, as nothing else is
// starting), and adds it to seen.
func (g *groupWatch) awaitNewMember(ctx context.Context, n *testbed.Notifierd, seen map[string]bool) error {
	deadline := time.Now().Add(stopMemberIn)
	for {
		now, err := g.members(ctx)
		if err != nil && !kerr.IsRetriable(err) {
			return err
		}
		for id := range now {
			if !seen[id] {
				seen[id] = true
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: the group does not list it as a member %s after it started (members: %d); see %s%s",
				n.Name, stopMemberIn, len(now), n.Log, testbed.Tail(n.LogPath, 3))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.Done():
			return fmt.Errorf("%s exited (%v) before the group listed it; see %s%s", n.Name, n.ExitErr(), n.Log, testbed.Tail(n.LogPath, 3))
		case <-time.After(25 * time.Millisecond):
		}
	}
}
