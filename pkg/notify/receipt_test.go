package notify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReceiptRoundTrip(t *testing.T) {
	in := Receipt{
		ID: "n-1", Source: ReceiptSource{Topic: "events", Partition: 3, Offset: 1042},
		Outcome: OutcomeAcknowledged, RequestID: "req-9", EdgeHost: "mboxedge35.tt.omtrdc.net",
		TntID: "abc.35_0", LocationHint: "35", Client: "acme", SessionID: "s-1", Status: 200,
		Attempts: 2, EventTime: 1764331200000, AckTime: 1764331200250,
	}
	value, err := EncodeReceipt(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"id":"n-1"`, `"source":{"topic":"events","partition":3,"offset":1042}`, `"outcome":"acknowledged"`, `"requestId":"req-9"`, `"tntId":"abc.35_0"`, `"ackTime":1764331200250`} {
		if !strings.Contains(string(value), field) {
			t.Errorf("encoded receipt lacks %s: %s", field, value)
		}
	}
	out, err := DecodeReceipt(value)
	if err != nil || out != in {
		t.Fatalf("decoded %+v, %v; want %+v", out, err, in)
	}
}

func TestDecodeReceiptRefuses(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"not json", `{`, "receipt:"},
		{"no outcome", `{"id":"a","source":{"topic":"t"}}`, "no outcome"},
		{"unknown outcome", `{"id":"a","source":{"topic":"t"},"outcome":"lost"}`, `unknown outcome "lost"`},
		{"no source", `{"id":"a","outcome":"acknowledged"}`, "no source topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeReceipt([]byte(tt.value)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeReceiptIgnoresFieldsAddedLater(t *testing.T) {
	r, err := DecodeReceipt([]byte(`{"id":"a","source":{"topic":"t","partition":0,"offset":1},"outcome":"dead_lettered","reason":"bad_json","ackTime":5,"future":true}`))
	if err != nil || r.Reason != "bad_json" || r.Outcome != OutcomeDeadLettered {
		t.Fatalf("got %+v, %v", r, err)
	}
}

// AppendReceipt writes what encoding/json would, byte for byte once HTML escaping is off, for
// any strings: quotes, backslashes, control characters, invalid UTF-8.
func FuzzAppendReceiptMatchesMarshal(f *testing.F) {
	f.Add("n-1", "events", "acknowledged", "", "req", "mboxedge35.tt.omtrdc.net", 3, int64(1042), int64(1764331200000))
	f.Add("a\"b\\c\n\x01\u2028é", "t\xff", "dead_lettered", "bad_json", "", "<&>", 0, int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, id, topic, outcome, reason, requestID, edgeHost string, partition int, offset, eventTime int64) {
		r := Receipt{ID: id, Source: ReceiptSource{Topic: topic, Partition: partition, Offset: offset}, Outcome: outcome, Reason: reason,
			RequestID: requestID, EdgeHost: edgeHost, TntID: reason, LocationHint: id, Client: topic, SessionID: requestID,
			Status: partition, Attempts: int(offset % 7), EventTime: eventTime, AckTime: offset}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if got := AppendReceipt(nil, r); !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("AppendReceipt:\n%s\nencoding/json:\n%s", got, want.Bytes())
		}
	})
}
