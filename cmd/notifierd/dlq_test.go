package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/kafkatest"
)

func deadLetter(key, value, reason, detail, topic string, offset int64) kafka.Message {
	return kafka.Message{Key: []byte(key), Value: []byte(value), Headers: []kafka.Header{
		{Key: dlq.HeaderReason, Value: []byte(reason)},
		{Key: dlq.HeaderError, Value: []byte(detail)},
		{Key: dlq.HeaderTopic, Value: []byte(topic)},
		{Key: dlq.HeaderPartition, Value: []byte("0")},
		{Key: dlq.HeaderOffset, Value: []byte(strconv.FormatInt(offset, 10))},
		{Key: dlq.HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	}}
}

func TestDLQVerbs(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	events := kafkatest.Topic(t, addr, 2)
	dlqTopic := kafkatest.Topic(t, addr, 1)
	kafkatest.Produce(t, addr, dlqTopic,
		deadLetter("s1", `{"id":"n1","sessionId":"s1"}`, "target_rejected", "400: token invalid", events, 1),
		deadLetter("s2", `{"id":"n2","sessionId":"s2"}`, "missing_field", "invalid event: tokens: at least one", events, 2),
		deadLetter("s3", `{"id":"n3","sessionId":"s3"}`, "target_rejected", "400: token invalid", events, 3),
	)
	conn := map[string][]string{ // list reads the dead-letter topic only
		"list":   {"--brokers", addr, "--dlq-topic", dlqTopic},
		"replay": {"--brokers", addr, "--dlq-topic", dlqTopic, "--topic", events},
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"list by reason", []string{"list", "--reason", "target_rejected"}, 0,
			[]string{"target_rejected  " + events + "/0/1  n1  s1", events + "/0/3  n3  s3"}},
		{"list limit", []string{"list", "--limit", "1"}, 0, []string{events + "/0/1"}},
		{"dry run", []string{"replay", "--all", "--dry-run"}, 0,
			[]string{"would replay " + dlqTopic + "/0/0 (reason target_rejected, source " + events + "/0/1, id n1)", "would replay 3 dead letter(s)"}},
		{"replay by source", []string{"replay", "--source-offset", events + "/0/3", "--source-offset", events + "/0/2"}, 0,
			[]string{"replayed 2 dead letter(s) from " + dlqTopic + " to " + events}},
		{"unknown source replays nothing", []string{"replay", "--source-offset", events + "/0/9"}, 1,
			[]string{"replayed 0 dead letter(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append(append([]string{"dlq", tt.args[0]}, conn[tt.args[0]]...), tt.args[1:]...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d", code, stdout.String(), stderr.String(), tt.code)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if tt.args[0] == "list" && strings.Contains(stdout.String(), "missing_field") != (len(tt.args) == 1) {
				t.Errorf("filtered listing:\n%s", stdout.String())
			}
		})
	}

	t.Run("list --json", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"dlq", "list"}, append(conn["list"], "--json")...), &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		var first map[string]string
		if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &first) != nil || first["error"] != "400: token invalid" || first["dlq"] != dlqTopic+"/0/0" {
			t.Fatalf("want 3 JSON lines, the first of entry %s/0/0:\n%s", dlqTopic, stdout.String())
		}
	})

	var got []string
	for _, m := range kafkatest.ReadAll(t, addr, events) {
		from := ""
		for _, h := range m.Headers {
			if h.Key == dlq.HeaderReplayedFrom {
				from = string(h.Value)
			}
		}
		got = append(got, fmt.Sprintf("%s=%s from %s", m.Key, m.Value, from))
	}
	sort.Strings(got)
	want := []string{
		`s2={"id":"n2","sessionId":"s2"} from ` + dlqTopic + "/0/1",
		`s3={"id":"n3","sessionId":"s3"} from ` + dlqTopic + "/0/2",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events topic holds %v, want %v", got, want)
	}
}
