package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func testDecoder() *Decoder {
	return &Decoder{Client: "acme", Channel: "web", MaxBytes: 4096, Limits: notify.DefaultLimits, Now: func() time.Time { return testNow }}
}

var src = Source{Topic: "events", Partition: 3, Offset: 42}

func ts() string {
	return json.Number(strings.TrimSpace(func() string { b, _ := json.Marshal(testNow.UnixMilli()); return string(b) }())).String()
}

func TestDecodeRejects(t *testing.T) {
	future := testNow.Add(time.Hour).UnixMilli()
	old := testNow.Add(-30 * 24 * time.Hour).UnixMilli()
	valid := `"type":"display","timestamp":` + ts() + `,"sessionId":"s1","tntId":"t1","mbox":{"name":"m"},"tokens":["tok"]`
	tests := []struct {
		name, value, reason, mention string
	}{
		{"not JSON", `{"type":`, ReasonBadJSON, "not an event"},
		{"array", `[1,2]`, ReasonBadJSON, "not an event"},
		{"wrong type of field", `{"type":"display","timestamp":"yesterday"}`, ReasonBadJSON, "timestamp"},
		{"unknown field", `{` + valid + `,"sessionKey":"x"}`, ReasonBadJSON, "sessionKey"},
		{"trailing data", `{` + valid + `} {}`, ReasonBadJSON, "after top-level value"},
		{"invalid UTF-8", "{\"type\":\"display\xff\"}", ReasonInvalidUTF8, "UTF-8"},
		{"too large", `{"x":"` + strings.Repeat("a", 5000) + `"}`, ReasonTooLarge, "limit"},
		{"unknown type", `{"type":"hover","timestamp":1}`, notify.ReasonBadValue, "hover"},
		{"missing type", `{"timestamp":1}`, notify.ReasonMissing, "type"},
		{"missing timestamp", `{"type":"click","sessionId":"s"}`, notify.ReasonMissing, "timestamp"},
		{"future timestamp", `{"type":"click","timestamp":` + jsonInt(future) + `}`, notify.ReasonTimestamp, "future"},
		{"ancient timestamp", `{"type":"click","timestamp":` + jsonInt(old) + `}`, notify.ReasonTimestamp, "past"},
		{"missing session", `{"type":"click","timestamp":` + ts() + `,"tntId":"t","mbox":{"name":"m"},"tokens":["x"]}`, notify.ReasonMissing, "sessionId"},
		{"session with slash", `{"type":"click","timestamp":` + ts() + `,"sessionId":"a/b"}`, notify.ReasonBadValue, "sessionId"},
		{"session too long", `{"type":"click","timestamp":` + ts() + `,"sessionId":"` + strings.Repeat("s", 129) + `"}`, notify.ReasonTooLong, "sessionId"},
		{"no visitor", `{"type":"click","timestamp":` + ts() + `,"sessionId":"s","mbox":{"name":"m"},"tokens":["x"]}`, notify.ReasonMissing, "tntId"},
		{"two visitors", `{"type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"a","thirdPartyId":"b"}`, notify.ReasonConflict, "only one"},
		{"mbox and view", `{` + valid + `,"view":{"name":"v"}}`, notify.ReasonConflict, "exactly one"},
		{"nothing shown", `{"type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"t","tokens":["x"]}`, notify.ReasonMissing, "mbox"},
		{"no tokens", `{"type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"t","mbox":{"name":"m"},"tokens":[]}`, notify.ReasonMissing, "tokens"},
		{"empty token", `{"type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"t","mbox":{"name":"m"},"tokens":[""]}`, notify.ReasonMissing, "tokens[0]"},
		{"mbox name too long", `{"type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"t","mbox":{"name":"` + strings.Repeat("m", 251) + `"},"tokens":["x"]}`, notify.ReasonTooLong, "mbox.name"},
		{"id too long", `{` + valid + `,"id":"` + strings.Repeat("i", 201) + `"}`, notify.ReasonTooLong, "id"},
		{"bad channel", `{` + valid + `,"context":{"channel":"tv"}}`, notify.ReasonBadValue, "channel"},
		{"order not an object", `{` + valid + `,"order":[1]}`, notify.ReasonBadValue, "order"},
		{"expired cookie gives no session", `{"type":"click","timestamp":` + ts() + `,"targetCookie":"session#abc#1|PC#t#1","mbox":{"name":"m"},"tokens":["x"]}`, notify.ReasonMissing, "sessionId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := testDecoder().Decode([]byte(tt.value), src)
			if err == nil {
				t.Fatalf("Decode accepted it: %s", n.Body)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Reason != tt.reason || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("got reason %q, error %q; want reason %q mentioning %q", e.Reason, err, tt.reason, tt.mention)
			}
		})
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestDecodeBuildsNotificationAndEnvelope(t *testing.T) {
	value := `{"type":"display","timestamp":` + ts() + `,"sessionId":"s1","tntId":"uuid.21_27",
		"mbox":{"name":"product1","state":"st"},"tokens":["tok"],"customerIds":[{"id":"c","integrationCode":"crm"}],
		"context":{"userAgent":"UA", "beacon":true},"propertyToken":"pt"}`
	n, err := testDecoder().Decode([]byte(value), src)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "events:3:42" {
		t.Errorf("derived id = %q, want events:3:42 (topic:partition:offset)", n.ID)
	}
	var body map[string]any
	if err := json.Unmarshal(n.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["impressionId"] != n.ID {
		t.Errorf("display without impressionId got %v, want the stable %q", body["impressionId"], n.ID)
	}
	if body["type"] != "display" || body["mbox"].(map[string]any)["name"] != "product1" {
		t.Errorf("body = %s", n.Body)
	}
	env := n.Envelope
	if env.Client != "acme" || env.SessionID != "s1" || env.Hint != "21" || env.PropertyToken != "pt" {
		t.Errorf("envelope = %+v", env)
	}
	if string(env.Context) != `{"channel":"web","userAgent":"UA"}` {
		t.Errorf("context = %s: want the default channel, userAgent kept, beacon removed", env.Context)
	}
}

func TestDecodeTargetCookie(t *testing.T) {
	live := testNow.Add(time.Hour).Unix()
	cookie := "session#cookie-session#" + jsonInt(live) + "|PC#cookie-tnt.34_0#" + jsonInt(live)
	value := `{"type":"click","timestamp":` + ts() + `,"targetCookie":"` + cookie + `","view":{"name":"home"},"tokens":["t"]}`
	n, err := testDecoder().Decode([]byte(value), src)
	if err != nil {
		t.Fatal(err)
	}
	if n.Envelope.SessionID != "cookie-session" || n.Envelope.TntID != "cookie-tnt.34_0" || n.Envelope.Hint != "34" {
		t.Errorf("envelope from cookie = %+v", n.Envelope)
	}
	explicit := `{"type":"click","timestamp":` + ts() + `,"sessionId":"mine","thirdPartyId":"3p","targetCookie":"` + cookie + `","view":{"name":"home"},"tokens":["t"]}`
	n, err = testDecoder().Decode([]byte(explicit), src)
	if err != nil {
		t.Fatal(err)
	}
	if n.Envelope.SessionID != "mine" || n.Envelope.TntID != "" || n.Envelope.ThirdPartyID != "3p" {
		t.Errorf("explicit fields must win over the cookie: %+v", n.Envelope)
	}
}

func TestEnvelopeKeySeparatesRequests(t *testing.T) {
	base := `"type":"click","timestamp":` + ts() + `,"tntId":"t","mbox":{"name":"m"},"tokens":["x"]`
	key := func(extra string) EnvelopeKey {
		n, err := testDecoder().Decode([]byte(`{`+base+extra+`}`), src)
		if err != nil {
			t.Fatal(err)
		}
		return n.Envelope.Key()
	}
	same := key(`,"sessionId":"s1"`)
	if key(`,"sessionId":"s1","id":"other"`) != same {
		t.Error("notification fields must not split the batch")
	}
	if key(`,"sessionId":"s1","context":{"channel":"web"}`) != same {
		t.Error("an explicit default channel must batch with the implicit one")
	}
	for _, extra := range []string{`,"sessionId":"s2"`, `,"sessionId":"s1","client":"other"`, `,"sessionId":"s1","propertyToken":"p"`,
		`,"sessionId":"s1","locationHint":"31"`, `,"sessionId":"s1","context":{"userAgent":"x"}`, `,"sessionId":"s1","analytics":{"logging":"server_side"}`,
		`,"sessionId":"s1","customerIds":[{"id":"c","integrationCode":"i"}]`} {
		if key(extra) == same {
			t.Errorf("%s must give another envelope key", extra)
		}
	}
}

func TestDerivedIDs(t *testing.T) {
	long := Source{Topic: strings.Repeat("t", 249), Partition: 1, Offset: 2}
	if id := DerivedID(long); len(id) > 200 || id != DerivedID(long) {
		t.Errorf("derived id %q: must be stable and at most 200 characters", id)
	}
	if imp := ImpressionID(strings.Repeat("x", 200)); len(imp) > 128 {
		t.Errorf("impression id of %d characters", len(imp))
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"display","timestamp":1764331200000,"sessionId":"s","tntId":"t","mbox":{"name":"m"},"tokens":["x"]}`))
	f.Add([]byte(`{"type":"click","targetCookie":"session#a#9999999999|PC#b.1_0#9999999999","view":{"key":"k"},"tokens":["x"]}`))
	f.Add([]byte(`{"context":{"beacon":true,"channel":"mobile"}}`))
	f.Add([]byte("\xff\xfe"))
	d := testDecoder()
	f.Fuzz(func(t *testing.T, value []byte) {
		n, err := d.Decode(value, src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not an *Error", err)
			}
			return
		}
		if !json.Valid(n.Body) || n.ID == "" || n.Envelope.SessionID == "" {
			t.Fatalf("accepted event rendered badly: %s", n.Body)
		}
	})
}

func TestRenderKeepsEmptyPageLoadAndPassThrough(t *testing.T) {
	value := `{"id":"p","type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"t","pageLoad":{},"tokens":["x"],
		"order":{"id":"o1", "total": 9.5},"parameters":{"b":"2","a":"1"},"address":{"url":"https://shop.example/p?a=1&b=<2>"}}`
	n, err := testDecoder().Decode([]byte(value), src)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pageLoad":{}`, `"order":{"id":"o1","total":9.5}`, `"parameters":{"a":"1","b":"2"}`, `"tokens":["x"]`} {
		if !strings.Contains(string(n.Body), want) {
			t.Errorf("rendered %s lacks %s", n.Body, want)
		}
	}
	if strings.Contains(string(n.Body), "impressionId") {
		t.Errorf("a click got an impressionId: %s", n.Body)
	}
	var back map[string]any
	if err := json.Unmarshal(n.Body, &back); err != nil || back["address"].(map[string]any)["url"] != "https://shop.example/p?a=1&b=<2>" {
		t.Errorf("address did not survive rendering: %s (%v)", n.Body, err)
	}
}

func TestReplayedEventsKeepOneDerivedID(t *testing.T) {
	a := DerivedID(Source{Topic: "events", Partition: 1, Offset: 10, ReplayedFrom: "events.dlq/0/7"})
	b := DerivedID(Source{Topic: "events", Partition: 4, Offset: 99, ReplayedFrom: "events.dlq/0/7"})
	if a != b || a != "replay:events.dlq/0/7" {
		t.Fatalf("two replays of one dead letter got ids %q and %q", a, b)
	}
}

// The envelope's raw JSON values are views of the message: appending to one must copy, not
// overwrite the bytes after it, which the dead-letter copy of the message still needs.
func TestRawViewsCannotOverwriteTheMessage(t *testing.T) {
	value := []byte(`{"type":"click","timestamp":` + ts() + `,"sessionId":"s","tntId":"t","mbox":{"name":"m"},"tokens":["x"],` +
		`"context":{"channel":"web","userAgent":"u"},"analytics":{"logging":"server_side"}}`)
	original := string(value)
	n, err := testDecoder().Decode(value, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{n.Envelope.Context, n.Envelope.Analytics} {
		_ = append(raw, "XXXXXXXXXXXXXXXX"...)
	}
	if string(value) != original {
		t.Errorf("appending to a decoded value changed the message:\n%s\nwas\n%s", value, original)
	}
}
