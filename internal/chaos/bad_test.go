package chaos

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/pkg/notify"
)

// The catalogue must agree with the real decoder, configured as the scenarios configure
// notifierd: every kind gets its reason, and the target_rejected kind decodes fine (only
// Target can tell it is bad).
func TestBadKindsGetTheirReason(t *testing.T) {
	d := &event.Decoder{Client: "acme", Channel: "web", MaxBytes: eventsMaxBytes,
		Limits: notify.Limits{MaxAge: 168 * time.Hour, MaxFuture: 5 * time.Minute}, Now: time.Now}
	w := newWorkload("test-run", rand.New(rand.NewPCG(1, 2)), 10)
	reasons := map[string]bool{}
	for _, k := range BadKinds {
		m := w.Bad(k)
		if m.Expect != k.Reason || !strings.Contains(m.ID, k.Name) {
			t.Errorf("%s: message %+v", k.Name, m)
		}
		reasons[k.Reason] = true
		_, err := d.Decode(m.Value, event.Source{Topic: "t", Partition: 1, Offset: 2})
		if k.Reason == "target_rejected" {
			if err != nil {
				t.Errorf("%s: decoder rejected it: %v", k.Name, err)
			}
			continue
		}
		var ee *event.Error
		if !errors.As(err, &ee) {
			t.Errorf("%s: decoder accepted it (or failed oddly: %v)", k.Name, err)
			continue
		}
		if ee.Reason != k.Reason {
			t.Errorf("%s: reason %s (%v), want %s", k.Name, ee.Reason, err, k.Reason)
		}
	}
	for _, r := range []string{"bad_json", "invalid_utf8", "too_large", "missing_field", "too_long", "bad_value", "conflicting_fields", "timestamp_out_of_range"} {
		if !reasons[r] {
			t.Errorf("no bad kind with reason %s", r)
		}
	}
}

func TestGoodEventsDecodeAndFitTheLimit(t *testing.T) {
	d := &event.Decoder{Client: "acme", Channel: "web", MaxBytes: eventsMaxBytes, Limits: notify.DefaultLimits, Now: time.Now}
	w := newWorkload("test-run", rand.New(rand.NewPCG(3, 4)), 50)
	w.padding = memoryPadding
	seen := map[string]bool{}
	for range 200 {
		m := w.Good()
		if seen[m.ID] {
			t.Fatalf("id %s twice", m.ID)
		}
		seen[m.ID] = true
		n, err := d.Decode(m.Value, event.Source{Topic: "t"})
		if err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		if n.ID != m.ID || n.Envelope.SessionID != m.Key {
			t.Fatalf("decoded id %s session %s, message %s key %s", n.ID, n.Envelope.SessionID, m.ID, m.Key)
		}
	}
}

func TestStreamSprinklesBadInput(t *testing.T) {
	w := newWorkload("test-run", rand.New(rand.NewPCG(5, 6)), 10)
	w.badEvery = 10
	bad := 0
	for range 1000 {
		if w.Next().Expect != ExpectAck {
			bad++
		}
	}
	if bad != 100 {
		t.Errorf("%d bad of 1000, want 100", bad)
	}
}
