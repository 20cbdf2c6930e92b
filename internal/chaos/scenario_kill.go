package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario 1: kill -9 of notifierd at random moments, restarting it each time, while events
// stream in. About one kill in six comes while the new process is still starting or joining
// the group, one in six in the middle of a graceful shutdown; the others come 0.2 to 3 s
// after it joined, with requests in flight (the simulator answers in 5 to 150 ms). Every
// kill leaves a dead member behind that the broker drops only after the 6 s session timeout,
// which is what paces the loop. Receipts are on (kafka.receiptsTopic): after each kill the
// committed offsets and then the receipts topic's ends are noted, and every event below a
// committed offset must have its receipt below those ends, written before the commit.
var kill9Scenario = Scenario{
	Name: "kill9", Title: "kill -9 of notifierd at random moments",
	Short: 3 * time.Minute, Full: 8 * time.Minute,
	DuplicatesAllowed: true,
	Run:               runKill9,
}

// Kill moments.
const (
	momentStarting = iota // while the process starts or joins the group
	momentStopping        // during its graceful shutdown
	momentRunning         // 0.2 to 3 s after it joined
)

func runKill9(ctx context.Context, b *Bed) error {
	kills := b.count(5, 12)
	b.Work.badEvery = 100
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 150 * time.Millisecond}); err != nil {
		return err
	}
	receipts, err := b.useReceipts(ctx)
	if err != nil {
		return err
	}
	stop := b.Stream(ctx, b.count(300, 400))
	var lastKill time.Time
	early, midStop, busy := 0, 0, 0
	var uncommitted float64 // consumed but not committed at the kills, summed: the work a kill hands to the next owner
	// The moments, shuffled: about one kill in six while the process starts or joins the
	// group, one in six in the middle of its graceful shutdown (SIGTERM, then kill -9 within
	// 150 ms), the rest 0.2 to 3 s after it joined.
	plan := make([]int, kills)
	for i := range plan {
		switch {
		case i < max(kills/6, 1):
			plan[i] = momentStarting
		case i < 2*max(kills/6, 1):
			plan[i] = momentStopping
		default:
			plan[i] = momentRunning
		}
	}
	b.Rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	effective, attempts := 0, 0 // kills of a running process (a graceful shutdown may finish before its kill), processes started
	for effective < kills {
		if attempts++; attempts > 3*kills {
			return fmt.Errorf("only %d of %d kills hit a running process in %d attempts", effective, kills, attempts-1)
		}
		committedAtStart, err := b.committedTotal(ctx)
		if err != nil {
			return err
		}
		n, err := b.Start()
		if err != nil {
			return err
		}
		moment := momentRunning
		if attempts <= len(plan) {
			moment = plan[attempts-1]
		}
		when := "after joining"
		switch moment {
		case momentStarting:
			when = "while starting or joining"
			early++
			if err := sleep(ctx, b.between(100*time.Millisecond, 1500*time.Millisecond)); err != nil {
				return err
			}
		default:
			if err := n.WaitReady(ctx); err != nil {
				return err
			}
			if err := sleep(ctx, b.between(200*time.Millisecond, 3*time.Second)); err != nil {
				return err
			}
		}
		// What is in flight at the kill: the metrics, then the group's commits, then the kill.
		buffered, inFlight := -1.0, -1.0
		if err := n.WaitAdmin(ctx); err == nil {
			if m, err := n.Metrics(ctx); err == nil {
				buffered = m["notifierd_buffered_events"]
				if buffered > 0 || m["notifierd_requests_in_flight"] > 0 {
					busy++
				}
				if now, err := b.committedTotal(ctx); err == nil {
					inFlight = m["notifierd_events_consumed_total"] - float64(now-committedAtStart)
					uncommitted += inFlight
				}
			}
		}
		if moment == momentStopping {
			when = "during its graceful shutdown"
			midStop++
			n.Term()
			if err := sleep(ctx, b.between(time.Millisecond, 150*time.Millisecond)); err != nil {
				return err
			}
			if !n.Running() {
				when = "after its graceful shutdown had already finished"
			}
		}
		if n.Running() {
			effective++
		}
		b.Kill(n)
		lastKill = time.Now()
		if err := receipts.snapshot(ctx, b); err != nil {
			return err
		}
		b.Logf("kill -9 %d (%d of %d effective) of %s %s: %.0f events buffered, %.0f consumed but not committed; %d produced so far",
			attempts, effective, kills, n.Name, when, buffered, inFlight, b.Producer.Written())
	}
	msgs, err := stop()
	if err != nil {
		return err
	}
	if _, err := b.StartReady(ctx); err != nil {
		return err
	}
	at, err := b.Settle(ctx)
	if err != nil {
		return err
	}
	b.Result.Recover = at.Sub(lastKill)
	if err := receipts.snapshot(ctx, b); err != nil {
		return err
	}
	if err := receipts.verify(ctx, b); err != nil {
		return err
	}
	b.DupCutoff, b.DupCutoffWhat = lastKill, "the last kill -9"
	b.Result.Note("%d kill -9 of a running notifierd, each followed by a restart; of %d processes started: %d killed while starting or joining the group, %d at most 150 ms into a graceful shutdown (SIGTERM; %d of those had finished it), %d while running; %d had events buffered or requests in flight; %d events streamed at %d/s during the kills, 1 in 100 of them bad input",
		effective, attempts, early, midStop, attempts-effective, attempts-early-midStop, busy, len(msgs), b.count(300, 400))
	// Consumption goes on for the few milliseconds between the scrape and the kill: 100 a kill.
	b.DupBound = int(uncommitted) + 100*attempts
	b.DupBoundWhat = fmt.Sprintf("the events consumed but not committed at the moments of the kills (%.0f, summed over the kills, measured from the consumed counter and the group's commits just before each kill) plus 100 a kill for the moment between that measurement and the kill", uncommitted)
	if busy == 0 {
		b.Result.Fail("no kill hit notifierd with work in flight: the scenario proved nothing")
	}
	b.Result.Note("time to recover: from the last kill to every event settled, through the restart, the expiry of the dead member's session (6 s) and the rebalance")
	return nil
}
