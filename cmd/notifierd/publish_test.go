package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/kafkatest"
)

func TestPublishVerb(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 2)
	conn := []string{"--brokers", addr, "--topic", topic}
	ts := fmt.Sprint(time.Now().UnixMilli())
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"from flags", []string{"--type", "display", "--session", "s1", "--tnt-id", "t1", "--mbox", "product1", "--state", "st", "--token", "tok1", "--token", "tok2"},
			0, "published id=" + topic + ":", ""},
		{"with an id and a timestamp", []string{"--type", "click", "--session", "s2", "--tnt-id", "t1", "--mbox", "product1", "--token", "tok", "--id", "n2", "--timestamp", ts, "--location-hint", "28"},
			0, "published id=n2 session=s2 at " + topic + "/", ""},
		{"from --json", []string{"--json", `{"type":"display","timestamp":` + ts + `,"sessionId":"s3","tntId":"t","mbox":{"name":"product1"},"tokens":["x"],"id":"n3"}`},
			0, "published id=n3 session=s3", ""},
		{"missing token names the flag", []string{"--type", "display", "--session", "s1", "--tnt-id", "t1", "--mbox", "product1"},
			2, "", "invalid event, nothing published: tokens: at least one event token from the prefetch response is required (flag --token)"},
		{"bad type", []string{"--type", "hover", "--session", "s1", "--tnt-id", "t1", "--mbox", "m", "--token", "x"},
			2, "", `type: "hover" is not display or click (flag --type)`},
		{"--json with a field the daemon does not know", []string{"--json", `{"type":"display","sessionKey":"s"}`},
			2, "", `unknown field "sessionKey"`},
		{"--json invalid", []string{"--json", `{"type":"display","timestamp":` + ts + `,"sessionId":"s","mbox":{"name":"m"},"tokens":["x"]}`},
			2, "", "invalid event, nothing published: tntId: one of tntId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append(append([]string{"publish"}, conn...), tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, %q / %q", code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}

	got := kafkatest.ReadAll(t, addr, topic)
	var keys []string
	for _, m := range got {
		var ev map[string]any
		if err := json.Unmarshal(m.Value, &ev); err != nil || ev["sessionId"] != string(m.Key) {
			t.Errorf("message %s=%s: not an event keyed by its session", m.Key, m.Value)
		}
		keys = append(keys, string(m.Key))
	}
	if len(got) != 3 {
		t.Fatalf("topic holds %d messages (keys %v), want the 3 valid events only", len(got), keys)
	}
}

func TestPublishFromStdin(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 3)
	conn := []string{"--brokers", addr, "--topic", topic, "--json", "-"}
	line := func(session, id string) string {
		return fmt.Sprintf(`{"type":"display","timestamp":%d,"sessionId":%q,"tntId":"t","mbox":{"name":"product1"},"tokens":["x"],"id":%q}`, time.Now().UnixMilli(), session, id)
	}
	tests := []struct {
		name   string
		stdin  string
		code   int
		stdout []string
		stderr []string
	}{
		{"one bad line publishes nothing",
			line("a", "1") + "\n" + strings.Replace(line("b", "2"), `"tokens":["x"]`, `"tokens":[]`, 1) + "\n" + "{oops\n",
			2, nil, []string{"stdin line 3: not an event object"}},
		{"invalid event on its line", line("a", "1") + "\n\n" + strings.Replace(line("b", "2"), `"tokens":["x"]`, `"tokens":[]`, 1) + "\n",
			2, nil, []string{"invalid event on stdin line 3, nothing published: tokens"}},
		{"empty input", "\n\n", 2, nil, []string{"no events on stdin"}},
		{"many events", line("a", "a1") + "\n" + line("b", "b1") + "\n\n" + line("a", "a2") + "\n" + line("c", "c1") + "\n",
			0, []string{"id=a1 session=a", "id=a2 session=a", "id=b1 session=b", "id=c1 session=c", "published 4 event(s) to " + topic}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := publishCmd(conn, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d", code, stdout.String(), stderr.String(), tt.code)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
	if got := kafkatest.ReadAll(t, addr, topic); len(got) != 4 {
		t.Fatalf("topic holds %d messages, want the 4 of the valid input", len(got))
	}
}
