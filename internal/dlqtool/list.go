package dlqtool

import (
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// ListOptions shape a listing.
type ListOptions struct {
	Select Selection // entries to show; the zero value shows all
	Limit  int       // stop after this many entries; 0 means no limit
	JSON   bool      // JSON Lines with the whole error text, key and value, instead of a table
}

// Widths of the table's free-text columns; --json has the whole text.
const (
	maxErrorWidth = 80
	maxIDWidth    = 48
)

// List writes the selected entries to w, one line each, and returns how many it wrote.
func List(w io.Writer, entries iter.Seq2[Entry, error], opts ListOptions) (int, error) {
	var out entryWriter = newTable(w)
	if opts.JSON {
		out = jsonLines{json.NewEncoder(w)}
	}
	n := 0
	for e, err := range entries {
		if err != nil {
			if n > 0 {
				_ = out.flush() // show what was read before the failure
			}
			return n, err
		}
		if !opts.Select.Match(e) {
			continue
		}
		if err := out.write(e); err != nil {
			return n, fmt.Errorf("writing the listing: %w", err)
		}
		n++
		if opts.Limit > 0 && n >= opts.Limit {
			break
		}
	}
	if err := out.flush(); err != nil {
		return n, fmt.Errorf("writing the listing: %w", err)
	}
	return n, nil
}

type entryWriter interface {
	write(Entry) error
	flush() error
}

// table aligns columns; it flushes every so many rows so a long listing streams (and a
// column may widen from one block to the next).
type table struct {
	tw   *tabwriter.Writer
	rows int
}

func newTable(w io.Writer) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.tw, "TIME\tREASON\tSOURCE\tID\tSESSION\tERROR")
	return t
}

func (t *table) write(e Entry) error {
	source := "-"
	if e.HasSource() {
		source = e.Source.String()
	}
	at := "-"
	if !e.Time.IsZero() {
		at = e.Time.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", at, cell(e.Reason, maxIDWidth), cell(source, 0),
		cell(e.EventID, maxIDWidth), cell(e.SessionID, maxIDWidth), cell(e.Error, maxErrorWidth))
	if err != nil {
		return err
	}
	if t.rows++; t.rows%1000 == 0 {
		return t.tw.Flush()
	}
	return nil
}

func (t *table) flush() error { return t.tw.Flush() }

// cell makes producer-controlled text safe for one table cell: control characters (which
// could break the line or drive the terminal) become spaces, and it is cut to width runes.
func cell(s string, width int) string {
	if s == "" {
		return "-"
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); width > 0 && len(r) > width {
		return string(r[:width-1]) + "…"
	}
	return s
}

type jsonLines struct{ enc *json.Encoder }

// jsonEntry is the --json form of an Entry.
type jsonEntry struct {
	DLQ       string `json:"dlq"` // topic/partition/offset of the entry
	Time      string `json:"time,omitempty"`
	Reason    string `json:"reason"`
	Source    string `json:"source,omitempty"` // topic/partition/offset the event was consumed from
	EventID   string `json:"id,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	Error     string `json:"error"`
	Key       string `json:"key,omitempty"`
	Value     string `json:"value"`
}

func (j jsonLines) write(e Entry) error {
	je := jsonEntry{DLQ: e.At.String(), Reason: e.Reason, EventID: e.EventID, SessionID: e.SessionID,
		Error: e.Error, Key: string(e.Key), Value: string(e.Value)}
	if e.HasSource() {
		je.Source = e.Source.String()
	}
	if !e.Time.IsZero() {
		je.Time = e.Time.UTC().Format(time.RFC3339Nano)
	}
	return j.enc.Encode(je)
}

func (jsonLines) flush() error { return nil }
