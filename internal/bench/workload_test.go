package bench

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
)

func TestWorkloadEventsAreValidAndSized(t *testing.T) {
	w := NewWorkload(500, 42, "t")
	now := time.Now()
	ids := map[string]bool{}
	bySession := map[int32]string{}
	var n, sum int
	for n < 20_000 {
		pv := w.PageView(now.UnixMilli())
		if len(pv) == 0 || len(pv) > 81 {
			t.Fatalf("page view of %d events", len(pv))
		}
		for _, m := range pv {
			n++
			sum += len(m.Value)
			if len(m.Value) < MinEventBytes || len(m.Value) > MaxEventBytes {
				t.Fatalf("event of %d bytes: %s", len(m.Value), m.Value)
			}
			var ev notify.Event
			dec := json.NewDecoder(bytes.NewReader(m.Value))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("decode: %v: %s", err, m.Value)
			}
			if err := ev.Validate(now, notify.DefaultLimits); err != nil {
				t.Fatalf("invalid event: %v: %s", err, m.Value)
			}
			if ids[ev.ID] {
				t.Fatalf("duplicate id %s", ev.ID)
			}
			ids[ev.ID] = true
			if string(m.Key) != ev.SessionID || m.Stamp.TS != ev.Timestamp {
				t.Fatalf("key %s / stamp %v do not match the event %s / %d", m.Key, m.Stamp, ev.SessionID, ev.Timestamp)
			}
			if s, ok := bySession[m.Stamp.Session]; ok && s != ev.SessionID {
				t.Fatalf("session %d is %s and %s", m.Stamp.Session, s, ev.SessionID)
			}
			bySession[m.Stamp.Session] = ev.SessionID
			if pv[0].Stamp.Session != m.Stamp.Session {
				t.Fatal("a page view mixes sessions")
			}
		}
	}
	if mean := sum / n; mean < 450 || mean > 650 {
		t.Errorf("mean size %d, want about 550", mean)
	}
	if len(bySession) < 450 {
		t.Errorf("only %d of 500 sessions used", len(bySession))
	}
}

func TestWorkloadIsDeterministic(t *testing.T) {
	a, b := NewWorkload(10, 7, "x"), NewWorkload(10, 7, "x")
	for range 100 {
		pa, pb := a.PageView(1), b.PageView(1)
		if len(pa) != len(pb) || string(pa[0].Value) != string(pb[0].Value) {
			t.Fatal("same seed, different events")
		}
	}
}

func TestOwnSessionGivesDistinctSessions(t *testing.T) {
	w := NewWorkload(1, 1, "o")
	seen := map[string]bool{}
	for range 1000 {
		m := w.OwnSession(time.Now().UnixMilli())
		if seen[string(m.Key)] {
			t.Fatalf("session %s repeated", m.Key)
		}
		seen[string(m.Key)] = true
		if len(m.Value) > MaxEventBytes {
			t.Fatalf("%d bytes", len(m.Value))
		}
	}
}
