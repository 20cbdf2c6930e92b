package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario 2: the broker restarts mid-stream (local-kafka.sh stop, a pause, start), while
// notifierd consumes, delivers, dead-letters and commits, and the producer keeps producing
// (its writes fail and are retried while the broker is down). notifierd must ride it out
// without a restart of its own.
var brokerScenario = Scenario{
	Name: "broker", Title: "broker restart mid-stream",
	Short: 3 * time.Minute, Full: 6 * time.Minute,
	DuplicatesAllowed: true, // commits fail while the broker is down: the work done since the last commit is redelivered
	Run:               runBrokerRestart,
}

func runBrokerRestart(ctx context.Context, b *Bed) error {
	broker := b.suite.broker
	if !broker.Owned(ctx) {
		return fmt.Errorf("the broker on %s was not started by local-kafka.sh with KAFKA_HOME_DIR=%s; refusing to restart a broker others may be using (run without a broker on that port, or pick another --kafka-port)", broker.Addr(), broker.Home)
	}
	b.Work.badEvery = 100
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 100 * time.Millisecond}); err != nil {
		return err
	}
	n, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	stop := b.Stream(ctx, 300)
	if err := sleep(ctx, b.pick(5*time.Second, 20*time.Second)); err != nil {
		return err
	}
	before, err := n.Metrics(ctx)
	if err != nil {
		return fmt.Errorf("scraping %s before stopping the broker: %w", n.Name, err)
	}
	down := time.Now()
	if err := broker.Stop(ctx); err != nil {
		return err
	}
	pause := b.pick(2*time.Second, 10*time.Second)
	if err := sleep(ctx, pause); err != nil {
		return err
	}
	if err := broker.Start(ctx); err != nil {
		return err
	}
	up := time.Now()
	b.Logf("broker back after %s down", up.Sub(down).Round(100*time.Millisecond))
	if err := sleep(ctx, b.pick(4*time.Second, 15*time.Second)); err != nil {
		return err
	}
	streamed, err := b.settleStream(ctx, stop, up)
	if err != nil {
		return err
	}
	b.Result.Note("broker stopped (controlled shutdown) after %.0f events were consumed, down for %s in all (%s paused, then the restart until clients were served), while %d events streamed at 300/s (1 in 100 bad input); the producer retried %d writes",
		before["notifierd_events_consumed_total"], up.Sub(down).Round(100*time.Millisecond), pause, streamed, b.Producer.Retries())
	if !n.Running() {
		return fmt.Errorf("%s did not survive the broker restart (%v); see %s", n.Name, n.ExitErr(), n.Log)
	}
	b.Result.Note("the same notifierd process ran throughout; time to recover runs from the broker serving clients again")
	return nil
}
