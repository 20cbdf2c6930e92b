package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// Scenario 5: bad input interleaved with good events, in the same sessions and partitions:
// every kind in BadKinds (malformed JSON, wrong types, missing fields, over-long fields, a
// value over events.maxBytes, invalid UTF-8, an unknown type, timestamps far in the future
// and the past, and an event Target itself rejects). Each must be dead-lettered with its
// reason code, every good event delivered, none twice.
var badInputScenario = Scenario{
	Name: "badinput", Title: "bad input interleaved with good events",
	Short: 2 * time.Minute, Full: 5 * time.Minute,
	Run: runBadInput,
}

func runBadInput(ctx context.Context, b *Bed) error {
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{BadTokens: []string{badToken}}); err != nil {
		return err
	}
	if _, err := b.StartReady(ctx); err != nil {
		return err
	}
	good, perKind := b.count(2000, 10000), b.count(10, 50)
	var msgs []Msg
	for range good {
		msgs = append(msgs, b.Work.Good())
	}
	want := map[string]int{}
	for _, k := range BadKinds {
		for range perKind {
			msgs = append(msgs, b.Work.Bad(k))
			want[k.Reason]++
		}
	}
	b.Rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	for chunk := range slices.Chunk(msgs, 500) {
		if err := b.Produce(ctx, chunk); err != nil {
			return err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	produced := time.Now()
	at, err := b.Settle(ctx)
	if err != nil {
		return err
	}
	b.Result.Recover = at.Sub(produced)
	var kinds []string
	for _, k := range BadKinds {
		kinds = append(kinds, k.Name+" → "+k.Reason)
	}
	b.Result.Note("%d good events and %d of each of %d bad kinds (%d), shuffled together over %d sessions; events.maxBytes %d (the too-large values are 8 KiB)",
		good, perKind, len(BadKinds), perKind*len(BadKinds), b.Work.sessions, eventsMaxBytes)
	b.Result.Note("kinds and the reason each must get: %s", strings.Join(kinds, ", "))
	var expected []string
	for _, r := range sortedKeys(want) {
		expected = append(expected, fmt.Sprintf("%s %d", r, want[r]))
	}
	b.Result.Note("expected dead letters by reason: %s (checked message by message; see the accounting line)", strings.Join(expected, ", "))
	b.Result.Note("time to recover: from the last message produced to every event settled")
	return nil
}
