package dlqtool

import (
	"errors"
	"slices"
)

// Selection says which entries to act on. Reasons and Sources narrow (an entry must match
// both when both are given); All chooses every entry and excludes the other two, so that
// replaying everything is always a deliberate choice.
type Selection struct {
	Reasons []string   // dead-letter reason codes
	Sources []Position // where the events were consumed from (the entry's Source)
	All     bool
}

// CheckExplicit fails unless the selection names entries or says All, as a replay needs.
func (s Selection) CheckExplicit() error {
	narrowed := len(s.Reasons) > 0 || len(s.Sources) > 0
	switch {
	case s.All && narrowed:
		return errors.New("selecting all entries and naming reasons or source positions are exclusive")
	case !s.All && !narrowed:
		return errors.New("no entries selected: name reasons or source positions, or select all")
	}
	return nil
}

// Match reports whether e is selected; a selection that narrows nothing matches everything.
func (s Selection) Match(e Entry) bool {
	if len(s.Reasons) > 0 && !slices.Contains(s.Reasons, e.Reason) {
		return false
	}
	if len(s.Sources) > 0 && (!e.HasSource() || !slices.Contains(s.Sources, e.Source)) {
		return false
	}
	return true
}
