package publish_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/pkg/notify"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

// TestPublishRoundTrip publishes through a real Kafka writer and reads the topic back: each
// message is keyed by its session, a session's events share one partition in order, and the
// daemon's decoder accepts every value.
func TestPublishRoundTrip(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 3)
	transport := &kafka.Transport{ClientID: "notify-test"}
	defer transport.CloseIdleConnections()
	p := publish.New(publish.NewKafkaWriter(publish.KafkaConfig{Brokers: []string{addr}, Topic: topic, Transport: transport}))

	var events []notify.Event
	for i := range 4 {
		for _, s := range []string{"session-a", "session-b", "session-c"} {
			ev := display(s)
			ev.Timestamp = time.Now().UnixMilli()
			ev.ID = fmt.Sprintf("%s-%d", s, i)
			events = append(events, ev)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Publish(ctx, events...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	dec := &event.Decoder{Client: "acme", Channel: "web", MaxBytes: notify.DefaultMaxBytes, Limits: notify.DefaultLimits, Now: time.Now}
	got := kafkatest.ReadAll(t, addr, topic)
	if len(got) != len(events) {
		t.Fatalf("topic holds %d messages, want %d", len(got), len(events))
	}
	partitionOf := map[string]int{}
	next := map[string]int{} // the index of the session's next event, in publish order
	for _, m := range got {
		n, err := dec.Decode(m.Value, event.Source{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
		if err != nil {
			t.Fatalf("%d/%d: the daemon rejects the value: %v", m.Partition, m.Offset, err)
		}
		session := n.Envelope.SessionID
		if string(m.Key) != session {
			t.Errorf("%d/%d: key %q, session %q", m.Partition, m.Offset, m.Key, session)
		}
		if p, ok := partitionOf[session]; ok && p != m.Partition {
			t.Errorf("session %s on partitions %d and %d", session, p, m.Partition)
		}
		partitionOf[session] = m.Partition
		if want := fmt.Sprintf("%s-%d", session, next[session]); n.ID != want {
			t.Errorf("%d/%d: event %s, want %s next for the session", m.Partition, m.Offset, n.ID, want)
		}
		next[session]++
	}
}
