package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Scenario: Target is out for longer than admin.stallTimeout, first unreachable (connections
// refused: the gate in front of the simulator is shut), then answering every request 503,
// while events stream in. /healthz is polled throughout: a process retrying Target as
// designed is alive, so the liveness probe must never fail, or Kubernetes would restart every
// pod during any long outage. /readyz stays 200 too (see OPERATIONS: an unready pod protects
// nothing). The log must say what is failing, host and cause, at the default level. After
// the outage everything is delivered, nothing lost.
//
// Shutting the gate resets the connections open through it, as a real network failure does,
// so a request the simulator had already acknowledged can lose its answer on the way back:
// notifierd must send it again, and that is a duplicate it cannot avoid. Duplicates are
// therefore allowed, but only from that moment: each must have been first acknowledged
// before the shut, and there may be no more than the events held at it.
var outageScenario = Scenario{
	Name: "outage", Title: "Target outage longer than admin.stallTimeout: liveness holds",
	Short: 90 * time.Second, Full: 3 * time.Minute,
	DuplicatesAllowed: true, // answers cut by the gate's shut (see above)
	Run:               runOutage,
}

// outageStall is the scenario's admin.stallTimeout: each outage phase lasts several times it.
const outageStall = 3 * time.Second

func runOutage(ctx context.Context, b *Bed) error {
	simAddr := strings.TrimPrefix(b.Sim.URL, "http://")
	gate, err := OpenGate(ctx, simAddr)
	if err != nil {
		return err
	}
	defer gate.Close()
	b.Config.Target.URL = "http://" + gate.Addr() + "/c/{client}"
	b.Config.Target.EdgeURL = "http://" + gate.Addr() + "/e/{hint}"
	b.Config.Admin.StallTimeout = outageStall
	n, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	rate := 200
	stop := b.Stream(ctx, rate)
	if err := sleep(ctx, 2*time.Second); err != nil { // delivering before the outage
		return err
	}
	phase := b.pick(4*outageStall, 10*outageStall)

	probes := pollProbes(ctx, n)
	held := -1.0
	if m, err := n.Metrics(ctx); err == nil {
		held = m["notifierd_buffered_events"]
	}
	b.Logf("outage: connections refused for %s (admin.stallTimeout %s); %.0f events held at the shut", phase, outageStall, held)
	gate.Shut()
	b.DupCutoff, b.DupCutoffWhat = time.Now(), "the gate's shut, which cut the answers on their way"
	if held >= 0 {
		// Events keep arriving in the moment between the scrape and the shut: 100 more.
		b.DupBound = int(held) + 100
		b.DupBoundWhat = fmt.Sprintf("the events notifierd held when the gate shut (%.0f, from notifierd_buffered_events just before) plus 100 for the moment between", held)
	}
	if err := sleep(ctx, phase); err != nil {
		return err
	}
	if err := gate.Reopen(ctx); err != nil {
		return err
	}
	b.Logf("outage: every request answered 503 for %s", phase)
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{OutageUntil: time.Now().Add(phase)}); err != nil {
		return err
	}
	if err := sleep(ctx, phase); err != nil {
		return err
	}
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{}); err != nil {
		return err
	}
	end := time.Now()
	seen := probes()
	b.Result.Note("/healthz polled %d times over two %s outage phases (refused, then 503) with admin.stallTimeout %s: %d failed; /readyz: %d failed",
		seen.polls, phase, outageStall, seen.healthFailed, seen.readyFailed)
	if seen.polls == 0 {
		b.Result.Fail("/healthz was never polled")
	}
	if seen.healthFailed > 0 {
		b.Result.Fail("/healthz failed %d times during the outage, first: %s", seen.healthFailed, seen.firstHealthFailure)
	}
	if seen.readyFailed > 0 {
		b.Result.Fail("/readyz failed %d times during the outage, first: %s", seen.readyFailed, seen.firstReadyFailure)
	}
	if seen.notes == 0 {
		b.Result.Fail("/healthz never said Target was failing while it was")
	}
	checkFailureLog(ctx, b, n, gate.Addr())
	_, err = b.settleStream(ctx, stop, end)
	return err
}

// probeTally is what polling the probes saw.
type probeTally struct {
	polls, healthFailed, readyFailed, notes int
	firstHealthFailure, firstReadyFailure   string
}

// pollProbes polls /healthz and /readyz every 200 ms until the returned function is called,
// which returns the tally.
func pollProbes(ctx context.Context, n *testbed.Notifierd) func() probeTally {
	quit := make(chan struct{})
	done := make(chan probeTally, 1)
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(path string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Admin+path, nil)
		if err != nil {
			return 0, err.Error()
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	go func() {
		var t probeTally
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				done <- t
				return
			case <-ctx.Done():
				done <- t
				return
			case <-tick.C:
			}
			t.polls++
			if code, body := get("/healthz"); code != http.StatusOK {
				if t.healthFailed++; t.firstHealthFailure == "" {
					t.firstHealthFailure = fmt.Sprintf("%d %s", code, body)
				}
			} else if strings.Contains(body, "Target failing") {
				t.notes++
			}
			if code, body := get("/readyz"); code != http.StatusOK {
				if t.readyFailed++; t.firstReadyFailure == "" {
					t.firstReadyFailure = fmt.Sprintf("%d %s", code, body)
				}
			}
		}
	}()
	return func() probeTally {
		close(quit)
		return <-done
	}
}

// failureLogged matches the failure log's first line for a host. Shutting the gate resets the
// connections open through it, so the first failure may be a reset (class network) rather
// than a refusal; either way the line must name the host and the cause.
var failureLogged = regexp.MustCompile(`"msg":"Target request failed; retrying","host":"([^"]+)","class":"(refused|network)","error":"(?:[^"\\]|\\.)*?(connection refused|connection reset|EOF)`)

// checkFailureLog requires the daemon's log, at its default level, to name the unreachable
// host and why it failed.
func checkFailureLog(ctx context.Context, b *Bed, n *testbed.Notifierd, host string) {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := n.WaitLog(wctx, failureLogged)
	if err != nil {
		b.Result.Fail("the log has no warning naming the unreachable %s and why: %v", host, err)
		return
	}
	if m[1] != host {
		b.Result.Fail("the failure warning names host %q, want %q", m[1], host)
		return
	}
	b.Result.Note("the log said it at warn: host %s, class %s (%s)", m[1], m[2], m[3])
}
