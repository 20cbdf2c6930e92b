package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/pkg/notify"
)

func receiptMsg(t *testing.T, r notify.Receipt) kafka.Message {
	t.Helper()
	v, err := notify.EncodeReceipt(r)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Key: []byte(r.SessionID), Value: v}
}

func TestReceiptsVerb(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 2)
	src := notify.ReceiptSource{Topic: "events", Partition: 1}
	kafkatest.Produce(t, addr, topic,
		receiptMsg(t, notify.Receipt{ID: "n1", SessionID: "s1", Source: src, Outcome: notify.OutcomeAcknowledged, RequestID: "req-1", EdgeHost: "mboxedge35.tt.omtrdc.net", AckTime: 1}),
		receiptMsg(t, notify.Receipt{ID: "n2", SessionID: "s2", Source: src, Outcome: notify.OutcomeDeadLettered, Reason: "target_rejected", AckTime: 2}),
		receiptMsg(t, notify.Receipt{ID: "n3", SessionID: "s1", Source: src, Outcome: notify.OutcomeAcknowledged, RequestID: "req-3", AckTime: 3}),
	)
	conn := []string{"--brokers", addr, "--receipts-topic", topic}
	tests := []struct {
		name         string
		args         []string
		code         int
		want, absent []string
	}{
		{"all", nil, 0, []string{"n1  session=s1  source=events/1/0  requestId=req-1 edgeHost=mboxedge35.tt.omtrdc.net", "dead_lettered  n2  session=s2", "reason=target_rejected", "n3"}, nil},
		{"by session", []string{"--session", "s1"}, 0, []string{"n1", "n3"}, []string{"n2"}},
		{"by id", []string{"--id", "n2", "--json"}, 0, []string{`"id":"n2"`, `"reason":"target_rejected"`}, []string{"n1", "n3"}},
		{"session and id", []string{"--session", "s1", "--id", "n2"}, 0, nil, []string{"n1", "n2", "n3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append(append([]string{"receipts"}, conn...), tt.args...), &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, stderr %q; want %d", code, stderr.String(), tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, u := range tt.absent {
				if strings.Contains(stdout.String(), u) {
					t.Errorf("stdout has %q:\n%s", u, stdout.String())
				}
			}
		})
	}

	t.Run("no topic", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"receipts", "--brokers", addr}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "kafka.receiptsTopic") {
			t.Fatalf("exit %d, stderr %q; want 2 naming kafka.receiptsTopic", code, stderr.String())
		}
	})

	t.Run("follow", func(t *testing.T) {
		// --follow shows what is written after it started, until --timeout ends it.
		out := &syncBuffer{seen: make(chan struct{}, 1), want: "n4"}
		var stderr bytes.Buffer
		done := make(chan int)
		go func() {
			done <- run(append(append([]string{"receipts"}, conn...), "--follow", "--id", "n4", "--timeout", "8s"), out, &stderr)
		}()
		kafkatest.Produce(t, addr, topic, receiptMsg(t, notify.Receipt{ID: "n4", SessionID: "s4", Source: src, Outcome: notify.OutcomeAcknowledged, AckTime: 4}))
		select {
		case <-out.seen:
		case code := <-done:
			t.Fatalf("--follow ended (exit %d, stderr %q) without showing the receipt written after it started", code, stderr.String())
		}
		if code := <-done; code != 0 {
			t.Fatalf("exit %d after --timeout, stderr %q", code, stderr.String())
		}
	})
}

// syncBuffer collects output and signals once it holds want.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if strings.Contains(s.b.String(), s.want) {
		select {
		case s.seen <- struct{}{}:
		default:
		}
	}
	return n, err
}
