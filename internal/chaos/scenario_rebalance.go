package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario 4: three notifierd processes in one group while events stream in; members join
// and leave at random moments, leaving either gracefully (SIGTERM: flush, drain, commit,
// leave the group; it must exit 0 in time) or by kill -9. The group stays between two and
// four members and ends with three.
var rebalanceScenario = Scenario{
	Name: "rebalance", Title: "rebalances: 3 members joining and leaving",
	Short: 3 * time.Minute, Full: 8 * time.Minute,
	DuplicatesAllowed: true,
	Run:               runRebalance,
}

func runRebalance(ctx context.Context, b *Bed) error {
	changes := b.count(6, 14)
	b.Work.badEvery = 100
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 150 * time.Millisecond}); err != nil {
		return err
	}
	for range 3 {
		if _, err := b.Start(); err != nil {
			return err
		}
	}
	for _, n := range b.Running() {
		if err := n.WaitReady(ctx); err != nil {
			return err
		}
	}
	stop := b.Stream(ctx, b.count(300, 400))
	var log []string
	joins, graceful, kills := 0, 0, 0
	var lastChange time.Time
	b.DupCutoff, b.DupCutoffWhat = time.Now(), "the last kill -9 (there was none: graceful leaves and joins must cause no duplicate)"
	for i := 1; i <= changes; i++ {
		if err := sleep(ctx, b.between(b.pick(2*time.Second, 3*time.Second), b.pick(4*time.Second, 8*time.Second))); err != nil {
			return err
		}
		running := b.Running()
		leave := len(running) >= 4 || (len(running) == 3 && b.Rng.IntN(5) < 3)
		switch {
		case !leave:
			n, err := b.Start()
			if err != nil {
				return err
			}
			joins++
			log = append(log, "+"+n.Name)
			b.Logf("change %d/%d: %s joins (%d members)", i, changes, n.Name, len(running)+1)
		case b.Rng.IntN(2) == 0:
			n := running[b.Rng.IntN(len(running))]
			b.Logf("change %d/%d: %s leaves gracefully (SIGTERM)", i, changes, n.Name)
			if err := b.Stop(n); err != nil {
				return fmt.Errorf("graceful leave: %w", err)
			}
			graceful++
			log = append(log, "-"+n.Name+" (SIGTERM)")
		default:
			n := running[b.Rng.IntN(len(running))]
			b.Kill(n)
			b.DupCutoff, b.DupCutoffWhat = time.Now(), "the last kill -9"
			kills++
			log = append(log, "-"+n.Name+" (kill -9)")
			b.Logf("change %d/%d: %s killed (-9)", i, changes, n.Name)
		}
		lastChange = time.Now()
	}
	for len(b.Running()) < 3 {
		n, err := b.Start()
		if err != nil {
			return err
		}
		joins++
		log = append(log, "+"+n.Name)
		lastChange = time.Now()
	}
	// Keep the stream going through the rebalance of the last change.
	if err := sleep(ctx, 3*time.Second); err != nil {
		return err
	}
	streamed, err := b.settleStream(ctx, stop, lastChange)
	if err != nil {
		return err
	}
	b.Result.Note("membership changes, in order: %s", strings.Join(log, ", "))
	b.Result.Note("%d joins, %d graceful leaves (each exited 0 within shutdown.timeout), %d kill -9; %d events streamed at %d/s meanwhile (1 in 100 bad input); the group ended with 3 members",
		joins, graceful, kills, streamed, b.count(300, 400))
	return nil
}
