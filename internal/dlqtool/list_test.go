package dlqtool_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/notifierd/notifierd/internal/dlqtool"
)

func TestList(t *testing.T) {
	long := entry(2, 12, "target_rejected", "s2", `{"id":"n2","sessionId":"s2"}`)
	long.Error = "Target said: " + strings.Repeat("x", 200) + "\x1b[31m\nsecond line"
	entries := []dlqtool.Entry{
		entry(0, 10, "bad_json", "", `{"type":`),
		entry(1, 11, "target_rejected", "s1", `{"id":"n1","sessionId":"s1"}`),
		long,
	}
	tests := []struct {
		name  string
		opts  dlqtool.ListOptions
		count int
		want  []string // fragments, one per line after the header
	}{
		{"all", dlqtool.ListOptions{}, 3, []string{"bad_json", "target_rejected  events/0/11  n1", "target_rejected  events/0/12  n2"}},
		{"by reason", dlqtool.ListOptions{Select: dlqtool.Selection{Reasons: []string{"target_rejected"}}}, 2, []string{"events/0/11", "events/0/12"}},
		{"limit", dlqtool.ListOptions{Limit: 1}, 1, []string{"2026-11-28T12:00:00Z  bad_json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := dlqtool.List(&out, seqOf(entries, nil), tt.opts)
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if err != nil || n != tt.count || len(lines) != tt.count+1 || !strings.HasPrefix(lines[0], "TIME") {
				t.Fatalf("List = %d, %v; output:\n%s", n, err, out.String())
			}
			for i, frag := range tt.want {
				if !strings.Contains(lines[i+1], frag) {
					t.Errorf("line %q does not contain %q", lines[i+1], frag)
				}
			}
		})
	}

	t.Run("long error cut, control characters removed", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := dlqtool.List(&out, seqOf(entries[2:], nil), dlqtool.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		row := strings.Split(out.String(), "\n")[1]
		if strings.ContainsAny(row, "\x1b\r") || strings.Contains(row, "second line") || !strings.HasSuffix(row, "…") {
			t.Fatalf("row %q should be one line, cut, without escapes", row)
		}
	})

	t.Run("json keeps the whole error", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := dlqtool.List(&out, seqOf(entries, nil), dlqtool.ListOptions{JSON: true}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var last map[string]string
		if len(lines) != 3 || json.Unmarshal([]byte(lines[2]), &last) != nil {
			t.Fatalf("want 3 JSON lines:\n%s", out.String())
		}
		want := map[string]string{"dlq": "dlq/0/2", "source": "events/0/12", "reason": "target_rejected", "id": "n2", "sessionId": "s2",
			"error": long.Error, "key": "s2", "value": `{"id":"n2","sessionId":"s2"}`, "time": "2026-11-28T12:00:00Z"}
		for k, v := range want {
			if last[k] != v {
				t.Errorf("%s = %q, want %q", k, last[k], v)
			}
		}
	})

	t.Run("read error after some entries", func(t *testing.T) {
		var out bytes.Buffer
		boom := errors.New("broker went away")
		n, err := dlqtool.List(&out, seqOf(entries[:1], boom), dlqtool.ListOptions{})
		if !errors.Is(err, boom) || n != 1 || !strings.Contains(out.String(), "bad_json") {
			t.Fatalf("List = %d, %v; output %q: want the entry read so far and the error", n, err, out.String())
		}
	})
}

func TestListReadErrorBeforeAnyEntryPrintsNothing(t *testing.T) {
	var out bytes.Buffer
	boom := errors.New("topic not found")
	if n, err := dlqtool.List(&out, seqOf(nil, boom), dlqtool.ListOptions{}); !errors.Is(err, boom) || n != 0 || out.Len() != 0 {
		t.Fatalf("List = %d, %v, output %q; want the error and no table", n, err, out.String())
	}
}
