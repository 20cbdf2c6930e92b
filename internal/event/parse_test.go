package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/notifierd/notifierd/pkg/notify"
)

// unmarshalReference is the contract parseEvent implements by hand: JSON v2's Unmarshal of
// notify.Event with unknown members rejected.
// Raw members (order, product, context, analytics) are compacted, which the parser does as
// it copies them.
func unmarshalReference(value []byte) (notify.Event, error) {
	var ev notify.Event
	err := jsonv2.Unmarshal(value, &ev, jsonv2.RejectUnknownMembers(true))
	for _, raw := range []*json.RawMessage{&ev.Order, &ev.Product, &ev.Context, &ev.Analytics} {
		if len(*raw) > 0 {
			v := jsontext.Value(*raw)
			if v.Compact() == nil {
				*raw = json.RawMessage(v)
			}
		}
	}
	return ev, err
}

var parseCorpus = []string{
	`{"type":"display","timestamp":1764331200000,"sessionId":"s","tntId":"t","mbox":{"name":"m","state":"st"},"tokens":["x","y"]}`,
	`{"type":"click","targetCookie":"session#a#9999999999|PC#b.1_0#9999999999","view":{"key":"k","name":"n","state":"s"},"tokens":["x"]}`,
	`{"context":{"beacon":true,"channel":"mobile"},"analytics":{"logging":"server_side"},"order":{"id":"o","total":1.5},"product":{"id":"p"}}`,
	`{"context":null,"mbox":null,"tokens":null,"parameters":null,"customerIds":null,"address":null,"pageLoad":null,"view":null}`,
	`{"pageLoad":{},"parameters":{},"profileParameters":{"a":null,"b":"2"},"tokens":[],"customerIds":[null,{"id":"c","integrationCode":"i","authenticatedState":"logged_out"}]}`,
	`{"typ\u0065":"x","tntId":"caf\u00e9 \"q\" \\ \n"}`,
	`{"address":{"url":"https://shop.example/p?a=1&b=<2>","referringUrl":"r"},"marketingCloudVisitorId":"m","thirdPartyId":"3","id":"i","client":"c","locationHint":"35","propertyToken":"p","impressionId":"imp"}`,
	`{"timestamp":-0}`, `{"timestamp":1e3}`, `{"timestamp":1.0}`, `{"timestamp":99999999999999999999}`, `{"timestamp":-9223372036854775808}`, `{"timestamp":9223372036854775808}`,
	`{"timestamp":"1"}`, `{"type":1}`, `{"tokens":"a"}`, `{"tokens":[1]}`, `{"mbox":[]}`, `{"mbox":{"name":"a","nam":"b"}}`, `{"Type":"x"}`,
	`{"type":"a","type":"b"}`, `{"parameters":{"a":"1","a":"2"}}`, `{"order":"x"}`, `{"order":[1,2]}`,
	`null`, `[1]`, `"s"`, `{}`, `{} {}`, `{"type":"x"} x`, `{"type":`, `{"type":"x",}`, `{"type":"\ud800"}`, ` {"type":"x"} `,
}

// FuzzParseMatchesUnmarshal holds the hand-written parser to the reference: both accept or
// both reject, and what they accept is the same event.
func FuzzParseMatchesUnmarshal(f *testing.F) {
	for _, s := range parseCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		if !utf8.Valid(value) {
			return // Decode rejects it before parsing, with its own reason
		}
		want, wantErr := unmarshalReference(value)
		var got notify.Event
		gotErr := parseEvent(value, &got)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: parseEvent error %v, Unmarshal error %v", value, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nparseEvent %#v\nUnmarshal  %#v", value, got, want)
		}
	})
}

func TestParseErrorsNameTheMember(t *testing.T) {
	for value, mention := range map[string]string{
		`{"timestamp":"1"}`:                "timestamp",
		`{"mbox":{"name":"a","nam":"b"}}`:  `"mbox.nam"`,
		`{"customerIds":[{"id":1}]}`:       "customerIds[].id",
		`{"timestamp":1.5}`:                "not an integer",
		`{"parameters":{"a":"1","a":"2"}}`: "duplicate",
		`{"tokens":["a",{}]}`:              "tokens[]",
		`{"type":"x"} {}`:                  "after top-level value",
	} {
		var ev notify.Event
		err := parseEvent([]byte(value), &ev)
		if err == nil || !strings.Contains(err.Error(), mention) {
			t.Errorf("%s: error %v, want one mentioning %s", value, err, mention)
		}
	}
}

// TestRenderMatchesMarshal holds the hand-written renderer to JSON v2's Marshal of the same
// fields, compared as JSON values.
func TestRenderMatchesMarshal(t *testing.T) {
	type reference struct {
		ID                string            `json:"id"`
		Type              string            `json:"type"`
		Timestamp         int64             `json:"timestamp"`
		ImpressionID      string            `json:"impressionId,omitzero"`
		Tokens            []string          `json:"tokens"`
		Mbox              *notify.Mbox      `json:"mbox,omitzero"`
		View              *notify.View      `json:"view,omitzero"`
		PageLoad          *notify.PageLoad  `json:"pageLoad,omitzero"`
		Address           *notify.Address   `json:"address,omitzero"`
		Parameters        map[string]string `json:"parameters,omitzero"`
		ProfileParameters map[string]string `json:"profileParameters,omitzero"`
		Order             json.RawMessage   `json:"order,omitzero"`
		Product           json.RawMessage   `json:"product,omitzero"`
	}
	for _, s := range parseCorpus {
		ev, err := unmarshalReference([]byte(s))
		if err != nil {
			continue
		}
		w := wireNotification{ID: ev.ID, Type: ev.Type, Timestamp: ev.Timestamp, ImpressionID: ev.ImpressionID, Tokens: ev.Tokens,
			Mbox: ev.Mbox, View: ev.View, PageLoad: ev.PageLoad, Address: ev.Address, Parameters: ev.Parameters,
			ProfileParameters: ev.ProfileParameters, Order: ev.Order, Product: ev.Product}
		got := w.appendJSON(nil)
		want, err := jsonv2.Marshal(reference{ID: w.ID, Type: w.Type, Timestamp: w.Timestamp, ImpressionID: w.ImpressionID, Tokens: w.Tokens,
			Mbox: w.Mbox, View: w.View, PageLoad: w.PageLoad, Address: w.Address, Parameters: w.Parameters,
			ProfileParameters: w.ProfileParameters, Order: w.Order, Product: w.Product}, jsonv2.Deterministic(true))
		if err != nil {
			t.Fatal(err)
		}
		var g, wv any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s rendered invalid JSON %s: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &wv)
		if !reflect.DeepEqual(g, wv) {
			t.Errorf("%s:\nrendered %s\nMarshal  %s", s, got, want)
		}
		if bytes.Contains(got, []byte("\n")) {
			t.Errorf("rendered JSON is not compact: %s", got)
		}
	}
}

// TestManyMembers: past the names compared one by one, duplicates are found in a set; an
// object of thousands of members is read whole and a late duplicate is still caught.
func TestManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"parameters":{`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"p%d":""`, i)
	}
	unique := b.String() + `}}`
	var ev notify.Event
	if err := parseEvent([]byte(unique), &ev); err != nil || len(ev.Parameters) != 20000 {
		t.Fatalf("20,000 distinct members: %v, %d parameters", err, len(ev.Parameters))
	}
	if dup := b.String() + `,"p19999":""}}`; parseEvent([]byte(dup), &notify.Event{}) == nil {
		t.Fatal("a duplicate after 20,000 members was accepted")
	}
}

func TestInvalidRawValuesSayWhy(t *testing.T) {
	for _, value := range []string{`{"order":{"a":1,"a":2}}`, `{"order":-}`, `{"order":nul}`} {
		err := parseEvent([]byte(value), &notify.Event{})
		if err == nil || strings.Contains(err.Error(), "%!") || strings.HasSuffix(err.Error(), ": ") {
			t.Errorf("%s: error %v, want one that says what is wrong", value, err)
		}
	}
}
