package kafkatest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/kafkatest"
)

func TestTopicNamesAreUniqueAndLegal(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	t.Run("odd/name with spaces.and:colons", func(t *testing.T) {
		a := kafkatest.Topic(t, addr, 1)
		b := kafkatest.Topic(t, addr, 2)
		if a == b {
			t.Fatalf("two topics named %s", a)
		}
		for _, name := range []string{a, b} {
			// t.Name() is "TestTopicNamesAreUniqueAndLegal/odd/name_with_spaces.and:colons".
			if !strings.HasPrefix(name, "TestTopicNamesAreUniqueAndLegal-odd-name-with-spaces-and-colons-") {
				t.Errorf("topic %q does not start with the sanitised test name", name)
			}
			if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
				t.Errorf("topic %q has characters outside [A-Za-z0-9-]", name)
			}
		}
	})
}

func TestProduceToAndReadAll(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 2)
	if got := kafkatest.ReadAll(t, addr, topic); len(got) != 0 {
		t.Fatalf("new topic holds %d messages", len(got))
	}
	for p := 1; p >= 0; p-- {
		var msgs []kafka.Message
		for i := 0; i < 3; i++ {
			msgs = append(msgs, kafka.Message{
				Key:     []byte(fmt.Sprintf("k%d", i)),
				Value:   []byte(fmt.Sprintf("p%d-%d", p, i)),
				Headers: []kafka.Header{{Key: "h", Value: []byte(fmt.Sprint(i))}},
			})
		}
		kafkatest.ProduceTo(t, addr, topic, p, msgs...)
	}
	got := kafkatest.ReadAll(t, addr, topic)
	var desc []string
	for _, m := range got {
		if m.Topic != topic || len(m.Headers) != 1 || m.Headers[0].Key != "h" || m.HighWaterMark != 3 {
			t.Errorf("message %+v: want topic %s, one header h, high watermark 3", m, topic)
		}
		desc = append(desc, fmt.Sprintf("%d/%d %s=%s h=%s", m.Partition, m.Offset, m.Key, m.Value, m.Headers[0].Value))
	}
	want := []string{
		"0/0 k0=p0-0 h=0", "0/1 k1=p0-1 h=1", "0/2 k2=p0-2 h=2",
		"1/0 k0=p1-0 h=0", "1/1 k1=p1-1 h=1", "1/2 k2=p1-2 h=2",
	}
	if strings.Join(desc, "; ") != strings.Join(want, "; ") {
		t.Errorf("ReadAll:\n got %v\nwant %v", desc, want)
	}
}

func TestCommittedOffsetsOfUnknownGroup(t *testing.T) {
	addr, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 2)
	got := kafkatest.CommittedOffsets(t, addr, "no-such-group-"+topic, topic)
	if len(got) != 2 || got[0] != -1 || got[1] != -1 {
		t.Errorf("CommittedOffsets = %v, want -1 for both partitions", got)
	}
}
