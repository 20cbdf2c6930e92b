package delivery

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestDecodeAck(t *testing.T) {
	var many strings.Builder // beyond the pooled walker's buffer bound
	many.WriteString(`{"edgeHost":"mboxedge21.tt.omtrdc.net","notifications":[`)
	for i := range 20000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `{"id":"n%d"}`, i)
	}
	many.WriteString(`]}`)
	manyIDs := map[string]bool{}
	for i := range 20000 {
		manyIDs[fmt.Sprintf("n%d", i)] = true
	}

	tests := []struct {
		name     string
		body     string
		walked   bool // decoded without Unmarshal
		wantErr  bool
		edgeHost string
		acked    map[string]bool
	}{
		{"Target's 200", string(benchAck([]string{"a", "b"})), true, false, "mboxedge35.tt.omtrdc.net", set("a", "b")},
		{"edgeHost absent", `{"notifications":[{"id":"a"}]}`, true, false, "", set("a")},
		{"edgeHost null", `{"edgeHost":null,"notifications":[{"id":"a"}]}`, false, false, "", set("a")},
		{"notifications absent", `{"edgeHost":"e"}`, true, false, "e", set()},
		{"notifications null", `{"notifications":null}`, false, false, "", set()},
		{"notifications empty", `{"notifications":[]}`, true, false, "", set()},
		{"notification without id", `{"notifications":[{"x":1},{"id":"b"}]}`, true, false, "", set("", "b")},
		{"notification null", `{"notifications":[null,{"id":"b"}]}`, false, false, "", set("", "b")},
		{"notification id null", `{"notifications":[{"id":null}]}`, false, false, "", set("")},
		{"repeated id", `{"notifications":[{"id":"a"},{"id":"a"}]}`, true, false, "", set("a")},
		{"unknown members of every kind", ` { "status" : 200 , "x":[1,-2.5e3,true,false,null,{"y":[{}]}], "id":{"tntId":"t","marketingCloudVisitorId":"m"},
			"notifications":[{"trace":{"a":[1]},"id":"a","more":"x"}], "edgeHost":"e", "z":"" } `, true, false, "e", set("a")},
		{"escaped id", `{"notifications":[{"id":"\u0061\n"}]}`, false, false, "", set("a\n")},
		{"escaped member name", `{"\u0065dgeHost":"e"}`, false, false, "e", set()},
		{"names are case-sensitive", `{"EdgeHost":"e","Notifications":[{"id":"a"}]}`, true, false, "", set()},
		{"top-level null", `null`, false, false, "", set()},
		{"unicode id", `{"notifications":[{"id":"é-✓"}]}`, true, false, "", set("é-✓")},
		{"many ids", many.String(), true, false, "mboxedge21.tt.omtrdc.net", manyIDs},
		{"requestId and tntId odd types", `{"requestId":5,"id":"x","notifications":[{"id":"a"}]}`, false, false, "", set("a")},
		{"id null", `{"id":null,"notifications":[{"id":"a"}]}`, false, false, "", set("a")},
		{"huge unknown member", `{"blob":"` + strings.Repeat("x", 1<<20) + `","notifications":[{"id":"a"}]}`, true, false, "", set("a")},

		{"empty body", ``, false, true, "", nil},
		{"html", `<html>`, false, true, "", nil},
		{"array", `[]`, false, true, "", nil},
		{"truncated", `{"notifications":[{"id":"a"}]`, false, true, "", nil},
		{"trailing data", `{} {}`, false, true, "", nil},
		{"trailing garbage", `{"notifications":[]}x`, false, true, "", nil},
		{"notifications an object", `{"notifications":{"id":"a"}}`, false, true, "", nil},
		{"notification a number", `{"notifications":[1]}`, false, true, "", nil},
		{"id a number", `{"notifications":[{"id":1}]}`, false, true, "", nil},
		{"edgeHost a number", `{"edgeHost":5}`, false, true, "", nil},
		{"duplicate member", `{"edgeHost":"a","edgeHost":"b"}`, false, true, "", nil},
		{"duplicate id member", `{"notifications":[{"id":"a","id":"b"}]}`, false, true, "", nil},
		{"duplicate in a skipped object", `{"id":{"x":1,"x":2},"notifications":[{"id":"a"}]}`, false, true, "", nil},
		{"invalid UTF-8 in a skipped string", "{\"requestId\":\"\xff\",\"notifications\":[{\"id\":\"a\"}]}", false, true, "", nil},
		{"invalid UTF-8 in an id", "{\"notifications\":[{\"id\":\"\xc3\"}]}", false, true, "", nil},
		{"control character in a string", "{\"edgeHost\":\"a\tb\"}", false, true, "", nil},
		{"bad number", `{"status":01,"notifications":[]}`, false, true, "", nil},
		{"missing comma", `{"edgeHost":"e" "notifications":[]}`, false, true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, walked := walkAck([]byte(tt.body))
			if walked != tt.walked {
				t.Errorf("walked = %v, want %v", walked, tt.walked)
			}
			got, err := decodeAck([]byte(tt.body))
			checkAgainstUnmarshal(t, []byte(tt.body), got, err)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.EdgeHost != tt.edgeHost || !maps.Equal(set(got.Acked...), tt.acked) {
				t.Fatalf("got edgeHost %q, %d acks, want %q, %d", got.EdgeHost, len(got.Acked), tt.edgeHost, len(tt.acked))
			}
		})
	}
}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// checkAgainstUnmarshal holds decodeAck's answer to JSON v2 Unmarshal's, errors included.
func checkAgainstUnmarshal(t *testing.T, body []byte, got *Response, err error) {
	t.Helper()
	want, wantErr := unmarshalAck(body)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("error %v, Unmarshal's %v", err, wantErr)
	}
	if err == nil && (got.EdgeHost != want.EdgeHost || got.RequestID != want.RequestID || got.TntID != want.TntID || !slices.Equal(got.Acked, want.Acked)) {
		t.Fatalf("decoded %q %q %q %v, Unmarshal %q %q %q %v", got.EdgeHost, got.RequestID, got.TntID, got.Acked, want.EdgeHost, want.RequestID, want.TntID, want.Acked)
	}
}

func FuzzDecodeAckMatchesUnmarshal(f *testing.F) {
	for _, seed := range []string{
		string(benchAck(benchIDs)), `{"notifications":[{"id":"a"},{}]}`, `{"edgeHost":null}`, `{"id":{"a":1,"a":2}}`,
		`{"notifications":[{"id":"\u0061"}]}`, `{"x":[1,2.5,-3e2,true,false,null,"s",{}]}`, `null`, `{} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeAck(body)
		checkAgainstUnmarshal(t, body, got, err)
	})
}

func TestDecodeAckKeepsRequestIDAndTntID(t *testing.T) {
	for _, body := range []string{
		string(benchAck([]string{"a"})), // walked
		`{"requestId":"5f3b0c1e-8d2a-4b7e-9c41-2e6f0a9d7b13","id":{"tntId":"v-1f0e2d3c.35_0"},"edgeHost":null,"notifications":[{"id":"a"}]}`, // Unmarshal
	} {
		got, err := decodeAck([]byte(body))
		if err != nil || got.RequestID != "5f3b0c1e-8d2a-4b7e-9c41-2e6f0a9d7b13" || got.TntID != "v-1f0e2d3c.35_0" {
			t.Fatalf("%s: got %+v, %v", body, got, err)
		}
	}
}

// Whatever order Target lists its acknowledgements in, and whatever it leaves out, each
// notification of the request is acknowledged exactly when its id is listed.
func TestAcknowledgedMatchesInAnyOrder(t *testing.T) {
	request := []string{"a", "b", "c", "d"}
	tests := []struct {
		name  string
		acked []string
	}{
		{"in request order", []string{"a", "b", "c", "d"}},
		{"reversed", []string{"d", "c", "b", "a"}},
		{"one left out", []string{"a", "c", "d"}},
		{"the first left out", []string{"b", "c", "d"}},
		{"the last left out", []string{"a", "b", "c"}},
		{"shuffled, two left out", []string{"d", "a"}},
		{"none", nil},
		{"repeated and unknown ids", []string{"a", "a", "x", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := acknowledged{ids: tt.acked}
			for i, id := range request {
				if got, want := ids.has(i, id), slices.Contains(tt.acked, id); got != want {
					t.Errorf("%s (notification %d) acknowledged = %v, want %v", id, i, got, want)
				}
			}
		})
	}
}
