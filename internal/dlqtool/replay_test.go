package dlqtool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/dlqtool"
)

func TestReplay(t *testing.T) {
	entries := []dlqtool.Entry{
		entry(0, 10, "bad_json", "", `{"type":`),
		entry(1, 11, "target_rejected", "s1", `{"id":"n1"}`),
		entry(2, 12, "target_rejected", "s2", `{"id":"n2"}`),
		entry(3, 11, "target_rejected", "s1", `{"id":"n1"}`), // dead-lettered again after a crash
	}
	tests := []struct {
		name       string
		sel        dlqtool.Selection
		dryRun     bool
		wantValues []string // written, in order; nil with dryRun
		reported   int
		duplicates int
		err        string
	}{
		{"by reason, once per source", dlqtool.Selection{Reasons: []string{"target_rejected"}}, false, []string{`{"id":"n1"}`, `{"id":"n2"}`}, 2, 1, ""},
		{"by source", dlqtool.Selection{Sources: []dlqtool.Position{pos("events", 0, 12), pos("events", 0, 10)}}, false, []string{`{"type":`, `{"id":"n2"}`}, 2, 0, ""},
		{"all", dlqtool.Selection{All: true}, false, []string{`{"type":`, `{"id":"n1"}`, `{"id":"n2"}`}, 3, 1, ""},
		{"dry run writes nothing", dlqtool.Selection{All: true}, true, nil, 3, 1, ""},
		{"unknown source: nothing written", dlqtool.Selection{Sources: []dlqtool.Position{pos("events", 0, 12), pos("events", 0, 99)}}, false, nil, 0, 0, "events/0/99"},
		{"no selection", dlqtool.Selection{}, false, nil, 0, 0, "no entries selected"},
		{"all with a reason", dlqtool.Selection{All: true, Reasons: []string{"bad_json"}}, false, nil, 0, 0, "exclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var written []kafka.Message
			reported := 0
			r := dlqtool.Replayer{
				Produce: func(_ context.Context, msgs ...kafka.Message) error {
					written = append(written, msgs...)
					return nil
				},
				DryRun: tt.dryRun,
				Report: func(dlqtool.Entry) { reported++ },
			}
			res, err := r.Replay(context.Background(), seqOf(entries, nil), tt.sel)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Replay error %v, want one mentioning %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			var values []string
			for _, m := range written {
				values = append(values, string(m.Value))
				from := ""
				for _, h := range m.Headers {
					if h.Key == dlq.HeaderReplayedFrom {
						from = string(h.Value)
					}
				}
				if !strings.HasPrefix(from, "dlq/0/") {
					t.Errorf("message %s has %s %q, want the dead-letter position", m.Value, dlq.HeaderReplayedFrom, from)
				}
			}
			if fmt.Sprint(values) != fmt.Sprint(tt.wantValues) || reported != tt.reported || res.Replayed != tt.reported || res.Duplicates != tt.duplicates {
				t.Fatalf("wrote %v, reported %d, result %+v; want %v, %d reported, %d duplicates", values, reported, res, tt.wantValues, tt.reported, tt.duplicates)
			}
		})
	}
}

func TestReplayKeepsKeysAndStopsOnErrors(t *testing.T) {
	entries := []dlqtool.Entry{entry(0, 10, "r", "", `v0`), entry(1, 11, "r", "s1", `v1`)}
	var keys []string
	r := dlqtool.Replayer{Produce: func(_ context.Context, msgs ...kafka.Message) error {
		for _, m := range msgs {
			keys = append(keys, fmt.Sprintf("%v:%s", m.Key == nil, m.Key))
		}
		return nil
	}}
	if _, err := r.Replay(context.Background(), seqOf(entries, nil), dlqtool.Selection{All: true}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[true: false:s1]" {
		t.Fatalf("keys %v: want a missing key kept missing and s1 kept", keys)
	}

	boom := errors.New("not enough replicas")
	r.Produce = func(context.Context, ...kafka.Message) error { return boom }
	res, err := r.Replay(context.Background(), seqOf(entries, nil), dlqtool.Selection{All: true})
	if !errors.Is(err, boom) || res.Replayed != 0 || !strings.Contains(err.Error(), "replaying 2 entries (from dlq/0/0 on)") {
		t.Fatalf("Replay = %+v, %v; want the write error, saying what was being replayed", res, err)
	}

	readErr := errors.New("fetch failed")
	res, err = r.Replay(context.Background(), seqOf(nil, readErr), dlqtool.Selection{All: true})
	if !errors.Is(err, readErr) || res.Replayed != 0 {
		t.Fatalf("Replay = %+v, %v; want the read error", res, err)
	}
}
