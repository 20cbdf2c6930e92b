package dlqtool_test

import (
	"strings"
	"testing"

	"github.com/notifierd/notifierd/internal/dlqtool"
)

func TestSelectionCheckExplicit(t *testing.T) {
	tests := []struct {
		name string
		sel  dlqtool.Selection
		err  string
	}{
		{"nothing", dlqtool.Selection{}, "no entries selected"},
		{"all", dlqtool.Selection{All: true}, ""},
		{"reason", dlqtool.Selection{Reasons: []string{"bad_json"}}, ""},
		{"source", dlqtool.Selection{Sources: []dlqtool.Position{pos("ev", 0, 1)}}, ""},
		{"all and a reason", dlqtool.Selection{All: true, Reasons: []string{"bad_json"}}, "exclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sel.CheckExplicit()
			if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("CheckExplicit() = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestSelectionMatch(t *testing.T) {
	e := entry(5, 7, "target_rejected", "s", `{}`)
	noSource := e
	noSource.Source = dlqtool.Position{}
	tests := []struct {
		name string
		sel  dlqtool.Selection
		e    dlqtool.Entry
		want bool
	}{
		{"empty matches all", dlqtool.Selection{}, e, true},
		{"all", dlqtool.Selection{All: true}, e, true},
		{"one of the reasons", dlqtool.Selection{Reasons: []string{"bad_json", "target_rejected"}}, e, true},
		{"other reason", dlqtool.Selection{Reasons: []string{"bad_json"}}, e, false},
		{"source", dlqtool.Selection{Sources: []dlqtool.Position{pos("events", 0, 7)}}, e, true},
		{"other source", dlqtool.Selection{Sources: []dlqtool.Position{pos("events", 0, 8)}}, e, false},
		{"the dead-letter position is not the source", dlqtool.Selection{Sources: []dlqtool.Position{pos("dlq", 0, 5)}}, e, false},
		{"no source headers", dlqtool.Selection{Sources: []dlqtool.Position{pos("events", 0, 7)}}, noSource, false},
		{"reason and source both apply", dlqtool.Selection{Reasons: []string{"bad_json"}, Sources: []dlqtool.Position{pos("events", 0, 7)}}, e, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Match(tt.e); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
