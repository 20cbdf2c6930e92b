package dlqtool_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/dlqtool"
)

func TestParsePosition(t *testing.T) {
	tests := []struct {
		in   string
		want dlqtool.Position
		err  string
	}{
		{"target-notifications/3/42", pos("target-notifications", 3, 42), ""},
		{"a.b_c-d/0/0", pos("a.b_c-d", 0, 0), ""},
		{"topic/1", dlqtool.Position{}, "want topic/partition/offset"},
		{"/1/2", dlqtool.Position{}, "want topic/partition/offset"},
		{"t/x/2", dlqtool.Position{}, "partition"},
		{"t/-1/2", dlqtool.Position{}, "partition"},
		{"t/1/two", dlqtool.Position{}, "offset"},
		{"t/1/2/3", dlqtool.Position{}, "want topic/partition/offset"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := dlqtool.ParsePosition(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParsePosition(%q) = %v, %v; want an error about %s", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || got.String() != tt.in {
				t.Fatalf("ParsePosition(%q) = %v (%s), %v; want %v", tt.in, got, got, err, tt.want)
			}
		})
	}
}

func TestNewEntry(t *testing.T) {
	live := deadAt.Add(time.Hour).Unix()
	cookie := `{"type":"click","targetCookie":"session#from-cookie#` + strconv.FormatInt(live, 10) + `"}`
	noHeaders := kafka.Message{Topic: "dlq", Offset: 9, Value: []byte(`{"id":"x"}`), Time: deadAt.Add(time.Minute)}
	tests := []struct {
		name                     string
		msg                      kafka.Message
		reason, id, session, src string
		time                     time.Time
	}{
		{"explicit id and session", deadLetter("s1", `{"id":"n1","sessionId":"s1"}`, "target_rejected", "400", pos("ev", 2, 7)), "target_rejected", "n1", "s1", "ev/2/7", deadAt},
		{"derived id, cookie session", deadLetter("", cookie, "missing_field", "tntId", pos("ev", 0, 3)), "missing_field", "ev:0:3", "from-cookie", "ev/0/3", deadAt},
		{"value not JSON", deadLetter("k", `{"type":`, "bad_json", "not an event", pos("ev", 1, 1)), "bad_json", "", "", "ev/1/1", deadAt},
		{"no headers: message time, no source", noHeaders, "", "x", "", "", deadAt.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := dlqtool.NewEntry(tt.msg)
			src := ""
			if e.HasSource() {
				src = e.Source.String()
			}
			if e.Reason != tt.reason || e.EventID != tt.id || e.SessionID != tt.session || src != tt.src || !e.Time.Equal(tt.time) {
				t.Fatalf("got reason %q id %q session %q source %q time %v; want %q %q %q %q %v",
					e.Reason, e.EventID, e.SessionID, src, e.Time, tt.reason, tt.id, tt.session, tt.src, tt.time)
			}
			if string(e.Value) != string(tt.msg.Value) || string(e.Key) != string(tt.msg.Key) {
				t.Fatalf("key/value changed: %q=%q", e.Key, e.Value)
			}
		})
	}
}

// TestReplayDeadLetteredAgainKeepsItsFirstEntry: an event replayed from entry dlq/0/4 that is
// dead-lettered again carries that first entry; its id is the one the daemon used, and
// replaying it again marks it with the first entry, not with its own position, so every
// replay of the event shares one notification id.
func TestReplayDeadLetteredAgainKeepsItsFirstEntry(t *testing.T) {
	m := deadLetter("k", `{"type":"click"}`, "target_rejected", "400", pos("ev", 0, 3))
	m.Offset = 12
	m.Headers = append(m.Headers, kafka.Header{Key: dlq.HeaderReplayedFrom, Value: []byte("dlq/0/4")})
	e := dlqtool.NewEntry(m)
	if e.EventID != "replay:dlq/0/4" || e.ReplayedFrom() != "dlq/0/4" {
		t.Fatalf("id %q, replayed from %q; want replay:dlq/0/4 and dlq/0/4", e.EventID, e.ReplayedFrom())
	}
	if first := dlqtool.NewEntry(deadLetter("k", `{"type":"click"}`, "bad_json", "x", pos("ev", 0, 3))); first.ReplayedFrom() != first.At.String() {
		t.Fatalf("a first dead letter replays as %q, want its own position %s", first.ReplayedFrom(), first.At)
	}
}
