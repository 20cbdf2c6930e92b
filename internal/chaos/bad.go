package chaos

import (
	"encoding/json"
	"strings"
	"time"
)

// eventsMaxBytes is events.maxBytes in every scenario: small, so the too_large kind (8 KiB
// values, which the broker takes) is over it while every good event is well under.
const eventsMaxBytes = 4 << 10

// badToken is the event token the simulator answers 400 for (Faults.BadTokens), so the
// target_rejected kind is an event only Target can tell is bad.
const badToken = "chaos-rejected-token"

// BadKind is one kind of bad input and the dead-letter reason it must get.
type BadKind struct {
	Name   string
	Reason string
	// Make returns the message value; nil makes a valid event carrying badToken.
	Make func(id, session, tntID string) []byte
}

// validFields is a valid event as a map, for kinds that break one thing about it.
func validFields(id, session, tntID string) map[string]any {
	return map[string]any{
		"id": id, "type": "display", "timestamp": time.Now().UnixMilli(), "sessionId": session, "tntId": tntID,
		"mbox": map[string]any{"name": "chaos-mbox"}, "tokens": []string{"tok-" + id},
	}
}

// mutate returns a Make that changes a valid event.
func mutate(change func(ev map[string]any)) func(id, session, tntID string) []byte {
	return func(id, session, tntID string) []byte {
		ev := validFields(id, session, tntID)
		change(ev)
		b, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		return b
	}
}

func raw(s string) func(id, session, tntID string) []byte {
	return func(id, _, _ string) []byte { return []byte(strings.ReplaceAll(s, "ID", id)) }
}

// BadKinds is the catalogue of scenario 5: every kind of bad input the event contract names,
// with the reason code the README promises for it.
var BadKinds = []BadKind{
	{"truncated-json", "bad_json", raw(`{"id":"ID","type":"display","timestamp":`)},
	{"not-an-object", "bad_json", raw(`["ID"]`)},
	{"empty-value", "bad_json", raw(``)},
	{"trailing-data", "bad_json", func(id, s, v string) []byte {
		return append(mutate(func(map[string]any) {})(id, s, v), []byte(` {}`)...)
	}},
	{"timestamp-is-a-string", "bad_json", mutate(func(ev map[string]any) { ev["timestamp"] = "yesterday" })},
	{"tokens-is-a-string", "bad_json", mutate(func(ev map[string]any) { ev["tokens"] = "tok" })},
	{"session-is-a-number", "bad_json", mutate(func(ev map[string]any) { ev["sessionId"] = 12345 })},
	{"unknown-field", "bad_json", mutate(func(ev map[string]any) { ev["sessionKey"] = "typo" })},
	{"invalid-utf8", "invalid_utf8", func(id, s, v string) []byte {
		b := mutate(func(ev map[string]any) { ev["mbox"] = map[string]any{"name": "MBOXNAME"} })(id, s, v)
		return []byte(strings.Replace(string(b), "MBOXNAME", "caf\xe9-\xff\xfe", 1))
	}},
	{"over-size-limit", "too_large", mutate(func(ev map[string]any) {
		// 8 KiB of parameters, each value under the 5000-character limit: valid but for its size.
		ev["parameters"] = map[string]string{"a": strings.Repeat("x", 4000), "b": strings.Repeat("y", 4200)}
	})},
	{"missing-type", "missing_field", mutate(func(ev map[string]any) { delete(ev, "type") })},
	{"missing-timestamp", "missing_field", mutate(func(ev map[string]any) { delete(ev, "timestamp") })},
	{"missing-session", "missing_field", mutate(func(ev map[string]any) { delete(ev, "sessionId") })},
	{"missing-visitor", "missing_field", mutate(func(ev map[string]any) { delete(ev, "tntId") })},
	{"missing-mbox", "missing_field", mutate(func(ev map[string]any) { delete(ev, "mbox") })},
	{"missing-tokens", "missing_field", mutate(func(ev map[string]any) { delete(ev, "tokens") })},
	{"session-too-long", "too_long", mutate(func(ev map[string]any) { ev["sessionId"] = strings.Repeat("s", 129) })},
	{"mbox-name-too-long", "too_long", mutate(func(ev map[string]any) { ev["mbox"] = map[string]any{"name": strings.Repeat("m", 251)} })},
	{"id-too-long", "too_long", mutate(func(ev map[string]any) { ev["id"] = strings.Repeat("i", 201) })},
	{"unknown-type", "bad_value", mutate(func(ev map[string]any) { ev["type"] = "hover" })},
	{"session-with-slash", "bad_value", mutate(func(ev map[string]any) { ev["sessionId"] = "a/b" })},
	{"bad-channel", "bad_value", mutate(func(ev map[string]any) { ev["context"] = map[string]any{"channel": "tv"} })},
	{"two-visitor-ids", "conflicting_fields", mutate(func(ev map[string]any) { ev["thirdPartyId"] = "tp-1" })},
	{"mbox-and-view", "conflicting_fields", mutate(func(ev map[string]any) { ev["view"] = map[string]any{"name": "home"} })},
	{"timestamp-far-future", "timestamp_out_of_range", mutate(func(ev map[string]any) { ev["timestamp"] = time.Now().Add(time.Hour).UnixMilli() })},
	{"timestamp-far-past", "timestamp_out_of_range", mutate(func(ev map[string]any) { ev["timestamp"] = time.Now().Add(-30 * 24 * time.Hour).UnixMilli() })},
	{"token-target-rejects", "target_rejected", nil},
}

// badSprinkle is the bad input mixed into the streams of the other scenarios, so dead-letter
// writes also meet kills, a broker restart and rebalances.
var badSprinkle = pick("truncated-json", "invalid-utf8", "over-size-limit", "missing-tokens", "unknown-type", "timestamp-far-future")

func pick(names ...string) []BadKind {
	var out []BadKind
	for _, n := range names {
		for _, k := range BadKinds {
			if k.Name == n {
				out = append(out, k)
			}
		}
	}
	if len(out) != len(names) {
		panic("chaos: unknown bad kind in " + strings.Join(names, ","))
	}
	return out
}
