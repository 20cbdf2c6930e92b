package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/testbed"
	"github.com/notifierd/notifierd/pkg/notify"
)

// genNow is the generator's clock in these tests.
func genNow() time.Time { return time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) }

func genConfig() GeneratorConfig {
	return GeneratorConfig{Events: 3000, Visitors: 200, InvalidRate: 0.01, Seed: 42, RunID: "run1", Now: genNow()}
}

// limits are the daemon's defaults (config.Default's events section).
func limits() notify.Limits {
	return notify.Limits{MaxAge: 7 * 24 * time.Hour, MaxFuture: 5 * time.Minute}
}

func strictEvent(t *testing.T, value []byte) notify.Event {
	t.Helper()
	var ev notify.Event
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", value, err)
	}
	return ev
}

// Valid messages pass pkg/notify's Validate and the daemon's decoder; the invalid ones fail
// both for the intended reason.
func TestGenerateValidAndIntendedInvalid(t *testing.T) {
	cfg := genConfig()
	msgs, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != cfg.Events {
		t.Fatalf("generated %d messages, want %d", len(msgs), cfg.Events)
	}
	dec := &event.Decoder{Client: "acme", Channel: "web", MaxBytes: 64 << 10, Limits: limits(), Now: func() time.Time { return genNow() }}
	kinds := map[string]int{}
	ids := map[string]bool{}
	for i, m := range msgs {
		kinds[m.Kind]++
		if ids[m.ID] {
			t.Fatalf("id %s generated twice", m.ID)
		}
		ids[m.ID] = true
		if !strings.HasPrefix(m.ID, cfg.RunID+"-") {
			t.Fatalf("id %q lacks the run prefix", m.ID)
		}
		_, decErr := dec.Decode(m.Value, event.Source{Topic: "t", Offset: int64(i)})
		if m.Valid() {
			ev := strictEvent(t, m.Value)
			if err := ev.Validate(genNow(), limits()); err != nil {
				t.Fatalf("valid message %s fails Validate: %v\n%s", m.ID, err, m.Value)
			}
			if decErr != nil {
				t.Fatalf("valid message %s fails the daemon's decoder: %v", m.ID, decErr)
			}
			if ev.ID != m.ID || ev.Type != m.Kind {
				t.Fatalf("message %s carries id %q, type %q", m.ID, ev.ID, ev.Type)
			}
			session := ev.SessionID
			if session == "" {
				session = notify.ParseTargetCookie(ev.TargetCookie, genNow()).SessionID
			}
			if string(m.Key) != session {
				t.Fatalf("message %s keyed %q, session %q", m.ID, m.Key, session)
			}
			continue
		}
		var ee *event.Error
		if !errors.As(decErr, &ee) || ee.Reason != m.WantReason() {
			t.Fatalf("%s message %s: decoder says %v, want reason %s", m.Kind, m.ID, decErr, m.WantReason())
		}
		if m.Kind == KindBadJSON {
			if json.Valid(m.Value) {
				t.Fatalf("bad_json message %s is valid JSON", m.ID)
			}
			continue
		}
		ev := strictEvent(t, m.Value)
		var ve *notify.ValidationError
		if err := ev.Validate(genNow(), limits()); !errors.As(err, &ve) || ve.Reason != m.WantReason() {
			t.Fatalf("%s message %s: Validate says %v, want reason %s", m.Kind, m.ID, err, m.WantReason())
		}
	}
	if got := len(msgs) - kinds[KindDisplay] - kinds[KindClick]; got != 30 {
		t.Errorf("%d invalid messages, want round(3000*0.01) = 30", got)
	}
	for _, k := range invalidKinds() {
		if kinds[k] != 10 {
			t.Errorf("%d messages of kind %s, want 10 (the kinds take turns)", kinds[k], k)
		}
	}
	if kinds[KindClick] == 0 || kinds[KindDisplay] < kinds[KindClick] {
		t.Errorf("%d displays and %d clicks: want displays, and fewer clicks", kinds[KindDisplay], kinds[KindClick])
	}
}

// The traffic looks like what producers send: hinted tntIds and the other identities, clicks
// after displays of the same content, distinct tokens, ms timestamps in order per session.
func TestGenerateRealisticTraffic(t *testing.T) {
	msgs, err := Generate(genConfig())
	if err != nil {
		t.Fatal(err)
	}
	hints := map[string]int{}
	var thirdParty, mcid, cookie, views, mboxes, pageLoads int
	tokens := map[string]bool{}
	lastTS := map[string]int64{}
	shown := map[string]bool{}  // session + content shown
	broken := map[string]bool{} // sessions with a message that is not JSON
	for _, m := range msgs {
		if m.Kind == KindBadJSON {
			broken[string(m.Key)] = true
		}
	}
	for _, m := range msgs {
		if !m.Valid() {
			if m.Kind != KindBadJSON {
				ev := strictEvent(t, m.Value)
				shown[string(m.Key)+content(ev)] = true
			}
			continue
		}
		ev := strictEvent(t, m.Value)
		switch {
		case ev.TntID != "":
			if h := notify.LocationHintFromTntID(ev.TntID); h != "" {
				hints[h]++
			}
		case ev.ThirdPartyID != "":
			thirdParty++
			if len(ev.CustomerIDs) == 0 {
				t.Errorf("%s: thirdPartyId without customerIds", m.ID)
			}
		case ev.MarketingCloudVisitorID != "":
			mcid++
		case ev.TargetCookie != "":
			cookie++
		}
		switch {
		case ev.Mbox != nil:
			mboxes++
		case ev.View != nil:
			views++
		case ev.PageLoad != nil:
			pageLoads++
		}
		for _, tok := range ev.Tokens {
			if tokens[tok] {
				t.Fatalf("%s: token %s used twice", m.ID, tok)
			}
			tokens[tok] = true
		}
		session := string(m.Key)
		if ev.Timestamp < genNow().Add(-21*time.Minute).UnixMilli() || ev.Timestamp > genNow().UnixMilli() {
			t.Errorf("%s: timestamp %s outside the 20 minutes before now", m.ID, time.UnixMilli(ev.Timestamp).UTC())
		}
		if ev.Timestamp < lastTS[session] {
			t.Errorf("%s: timestamp goes back in session %s", m.ID, session)
		}
		lastTS[session] = ev.Timestamp
		if ev.Type == notify.TypeDisplay {
			shown[session+content(ev)] = true
		} else if !shown[session+content(ev)] && !broken[session] {
			t.Errorf("%s: click on %s, which the session was not shown", m.ID, content(ev))
		}
	}
	for _, h := range testbed.LocationHints {
		if hints[h] == 0 {
			t.Errorf("no tntId with location hint %s", h)
		}
	}
	for name, n := range map[string]int{"thirdPartyId": thirdParty, "marketingCloudVisitorId": mcid, "targetCookie": cookie, "view": views, "mbox": mboxes, "pageLoad": pageLoads} {
		if n == 0 {
			t.Errorf("no event with %s", name)
		}
	}
	if len(lastTS) < 150 {
		t.Errorf("%d sessions of 200 visitors used", len(lastTS))
	}
}

// A few visitors with many events each still stay within the daemon's timestamp limits.
func TestGenerateBusyVisitorsStayInThePast(t *testing.T) {
	cfg := genConfig()
	cfg.Visitors, cfg.InvalidRate = 2, 0
	msgs, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		ev := strictEvent(t, m.Value)
		if err := ev.Validate(genNow(), limits()); err != nil {
			t.Fatalf("%s: %v", m.ID, err)
		}
		if ev.Timestamp > genNow().UnixMilli() {
			t.Fatalf("%s: timestamp %d after now", m.ID, ev.Timestamp)
		}
	}
}

func TestGenerateIsDeterministicPerSeed(t *testing.T) {
	a, err := Generate(genConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(genConfig())
	other := genConfig()
	other.Seed++
	c, _ := Generate(other)
	same := func(x, y []Message) bool {
		return slices.EqualFunc(x, y, func(m, n Message) bool { return m.ID == n.ID && bytes.Equal(m.Value, n.Value) })
	}
	if !same(a, b) {
		t.Error("the same seed gave different traffic")
	}
	if same(a, c) {
		t.Error("another seed gave the same traffic")
	}
}

func TestGenerateRoundsInvalidCount(t *testing.T) {
	for _, tc := range []struct {
		events int
		rate   float64
		want   int
	}{{300, 0.01, 3}, {100, 0.004, 0}, {100, 0.005, 1}, {10, 0, 0}, {4, 1, 4}} {
		cfg := genConfig()
		cfg.Events, cfg.InvalidRate = tc.events, tc.rate
		msgs, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		invalid := 0
		for _, m := range msgs {
			if !m.Valid() {
				invalid++
			}
		}
		if invalid != tc.want {
			t.Errorf("%d events at %v: %d invalid, want %d", tc.events, tc.rate, invalid, tc.want)
		}
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	for name, mutate := range map[string]func(*GeneratorConfig){
		"no events":    func(c *GeneratorConfig) { c.Events = 0 },
		"no visitors":  func(c *GeneratorConfig) { c.Visitors = 0 },
		"rate above 1": func(c *GeneratorConfig) { c.InvalidRate = 1.5 },
		"no run id":    func(c *GeneratorConfig) { c.RunID = "" },
	} {
		cfg := genConfig()
		mutate(&cfg)
		if _, err := Generate(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// content names what an event is about.
func content(ev notify.Event) string {
	switch {
	case ev.Mbox != nil:
		return "mbox:" + ev.Mbox.Name
	case ev.View != nil:
		return "view:" + ev.View.Name
	default:
		return "pageLoad"
	}
}

func TestKafkaMessagesCarryKeyValueAndID(t *testing.T) {
	msgs := []Message{{ID: "id-0", Kind: KindDisplay, Key: []byte("s"), Value: []byte(`{"n":0}`)}, {ID: "id-1", Kind: KindBadJSON, Key: []byte("t"), Value: []byte(`{`)}}
	for i, m := range kafkaMessages(msgs) {
		if string(m.Value) != string(msgs[i].Value) || string(m.Key) != string(msgs[i].Key) || len(m.Headers) != 1 ||
			m.Headers[0].Key != HeaderID || string(m.Headers[0].Value) != msgs[i].ID {
			t.Fatalf("message %d written as %+v", i, m)
		}
	}
}
