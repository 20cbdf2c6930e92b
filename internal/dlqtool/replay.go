package dlqtool

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
)

// replayBatch bounds the messages held between writes when replaying by reason or all.
const replayBatch = 500

// Produce writes messages to the events topic and returns once they are acknowledged; a
// synchronous *kafka.Writer's WriteMessages.
type Produce func(ctx context.Context, msgs ...kafka.Message) error

// Replayer publishes chosen dead letters' original key and value to the events topic again.
type Replayer struct {
	Produce Produce
	DryRun  bool        // select and report, write nothing
	Report  func(Entry) // called for each entry once written (in a dry run, once selected); may be nil
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	Replayed   int // entries written (in a dry run: that would be)
	Duplicates int // entries skipped: another entry of the same source message was replayed
}

// Replay writes the entries sel chooses, which must be explicit (see CheckExplicit). A source
// message dead-lettered twice (a crash between the dead-letter write and the commit) is
// replayed once. With Sources, every one must be found before anything is written; otherwise
// entries are written in batches as they are read, and on error Replayed says how many were.
func (r Replayer) Replay(ctx context.Context, entries iter.Seq2[Entry, error], sel Selection) (ReplayResult, error) {
	var res ReplayResult
	if err := sel.CheckExplicit(); err != nil {
		return res, err
	}
	seen := map[Position]bool{}
	var pending []Entry
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if !r.DryRun {
			msgs := make([]kafka.Message, len(pending))
			for i, e := range pending {
				msgs[i] = kafka.Message{Key: e.Key, Value: e.Value, Headers: []kafka.Header{{Key: dlq.HeaderReplayedFrom, Value: []byte(e.ReplayedFrom())}}}
			}
			if err := r.Produce(ctx, msgs...); err != nil {
				return fmt.Errorf("replaying %d entries (from %s on): %w", len(msgs), pending[0].At, err)
			}
		}
		for _, e := range pending {
			res.Replayed++
			if r.Report != nil {
				r.Report(e)
			}
		}
		pending = pending[:0]
		return nil
	}
	for e, err := range entries {
		if err != nil {
			return res, err
		}
		if !sel.Match(e) {
			continue
		}
		if e.HasSource() {
			if seen[e.Source] {
				res.Duplicates++
				continue
			}
			seen[e.Source] = true
		}
		pending = append(pending, e)
		// Named sources are all-or-nothing, and dedup keeps them to len(Sources) entries.
		if len(sel.Sources) == 0 && len(pending) >= replayBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if missing := missingSources(sel.Sources, seen); len(missing) > 0 {
		return res, fmt.Errorf("nothing replayed: no selected dead letter has source %s", strings.Join(missing, ", "))
	}
	return res, flush()
}

func missingSources(want []Position, seen map[Position]bool) []string {
	var out []string
	for _, p := range want {
		if !seen[p] {
			out = append(out, p.String())
		}
	}
	return out
}
