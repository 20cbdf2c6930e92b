package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario 3: Target misbehaves, phase after phase, while events stream in and one notifierd
// process runs throughout: a full outage (every request 503), a 429 storm with Retry-After,
// 20 % random 5xx, latency past the client timeout, dropped acknowledgements, and a mix.
//
// No duplicate is allowed here. The simulator records an id as acknowledged only in a 200 it
// answered; a request the client gave up on (latency or a hang past target.timeout) is
// answered 499 with nothing acknowledged, because the simulator's wait ends with the
// request's context; an id left out of the acknowledgements was not counted. So every
// acknowledgement notifierd sends again after any of these faults is the first one the
// simulator records, and a second one means notifierd re-sent an id whose acknowledgement it
// had received. (A 200 written in the instant the client's timeout fires could make a real
// duplicate; the latency phase keeps every response at least 500 ms past the timeout so that
// cannot happen.)
var targetScenario = Scenario{
	Name: "target", Title: "Target faults: outage, 429 storm, 5xx, timeouts, dropped acks",
	Short: 3 * time.Minute, Full: 8 * time.Minute,
	Run: runTargetFaults,
}

type faultPhase struct {
	name        string
	short, full time.Duration
	faults      func(d time.Duration) targetsim.Faults
	expect      []int // statuses the phase must have produced (499: the client gave up)
}

func targetPhases() []faultPhase {
	return []faultPhase{
		{"no faults (warm-up)", 2 * time.Second, 5 * time.Second,
			func(time.Duration) targetsim.Faults { return targetsim.Faults{} }, []int{200}},
		{"outage: every request 503", 10 * time.Second, 35 * time.Second,
			func(d time.Duration) targetsim.Faults { return targetsim.Faults{OutageUntil: time.Now().Add(d)} }, []int{503}},
		{"429 storm (90 % of requests, Retry-After 1 s)", 5 * time.Second, 15 * time.Second,
			func(time.Duration) targetsim.Faults {
				return targetsim.Faults{ThrottleRate: 0.9, RetryAfter: time.Second}
			}, []int{429}},
		{"20 % random 503", 5 * time.Second, 20 * time.Second,
			func(time.Duration) targetsim.Faults { return targetsim.Faults{ErrorRate: 0.2} }, []int{503, 200}},
		{"latency 1-2 s, past the 500 ms client timeout", 4 * time.Second, 15 * time.Second,
			func(time.Duration) targetsim.Faults {
				return targetsim.Faults{LatencyMin: time.Second, LatencyMax: 2 * time.Second}
			}, []int{499}},
		{"10 % of acknowledgements dropped", 5 * time.Second, 15 * time.Second,
			func(time.Duration) targetsim.Faults { return targetsim.Faults{DropAckRate: 0.1} }, []int{200}},
		{"mixed: 10 % 503, 10 % 429, 5 % hung, 5 % acks dropped, 0-100 ms latency", 5 * time.Second, 20 * time.Second,
			func(time.Duration) targetsim.Faults {
				return targetsim.Faults{ErrorRate: 0.1, ThrottleRate: 0.1, RetryAfter: time.Second, HangRate: 0.05, DropAckRate: 0.05, LatencyMax: 100 * time.Millisecond}
			}, []int{503, 429, 499, 200}},
	}
}

func runTargetFaults(ctx context.Context, b *Bed) error {
	b.Config.Target.Timeout = 500 * time.Millisecond
	b.Work.badEvery = 200
	n, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	rate := 300
	stop := b.Stream(ctx, rate)
	prev, err := b.Sim.Stats(ctx)
	if err != nil {
		return err
	}
	var faultEnd time.Time
	for _, ph := range targetPhases() {
		d := b.pick(ph.short, ph.full)
		if err := b.Sim.SetFaults(ctx, ph.faults(d)); err != nil {
			return err
		}
		b.Logf("phase: %s for %s", ph.name, d)
		if err := sleep(ctx, d); err != nil {
			return err
		}
		st, err := b.Sim.Stats(ctx)
		if err != nil {
			return err
		}
		var seen []string
		for _, code := range sortedInts(st.Status) {
			if delta := st.Status[code] - prev.Status[code]; delta > 0 {
				seen = append(seen, fmt.Sprintf("%d×%d", delta, code))
			}
		}
		for _, code := range ph.expect {
			if st.Status[code] == prev.Status[code] {
				b.Result.Fail("phase %q produced no %d answer: the fault was not exercised", ph.name, code)
			}
		}
		b.Result.Note("%s, %s: simulator answered %s (499: notifierd gave up on the request)", ph.name, d, strings.Join(seen, ", "))
		prev = st
	}
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{}); err != nil {
		return err
	}
	faultEnd = time.Now()
	streamed, err := b.settleStream(ctx, stop, faultEnd)
	if err != nil {
		return err
	}
	if m, err := n.Metrics(ctx); err == nil {
		b.Result.Note("notifierd scheduled %.0f retries; %d events streamed at %d/s through all phases (1 in 200 bad input); target.timeout 500ms, retry backoff 50ms..1s",
			m["notifierd_retries_total"], streamed, rate)
	}
	b.Result.Note("no duplicate allowed: see the comment on targetScenario in internal/chaos/scenario_target.go for why every fault here leaves the simulator's count at one acknowledgement per id")
	return nil
}

func sortedInts(m map[int]int64) []int { return slices.Sorted(maps.Keys(m)) }
