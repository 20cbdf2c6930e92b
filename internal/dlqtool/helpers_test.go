package dlqtool_test

import (
	"iter"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/dlqtool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// kafka-go's and kfake's idle-connection reapers end shortly after Close.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
	)
}

var deadAt = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// deadLetter builds a message as dlq.Writer writes it.
func deadLetter(key, value, reason, detail string, src dlqtool.Position) kafka.Message {
	m := kafka.Message{
		Value: []byte(value),
		Headers: []kafka.Header{
			{Key: dlq.HeaderReason, Value: []byte(reason)},
			{Key: dlq.HeaderError, Value: []byte(detail)},
			{Key: dlq.HeaderTopic, Value: []byte(src.Topic)},
			{Key: dlq.HeaderPartition, Value: []byte(strconv.Itoa(src.Partition))},
			{Key: dlq.HeaderOffset, Value: []byte(strconv.FormatInt(src.Offset, 10))},
			{Key: dlq.HeaderTime, Value: []byte(deadAt.Format(time.RFC3339Nano))},
		},
	}
	if key != "" {
		m.Key = []byte(key)
	}
	return m
}

// seqOf is a fake entry source: the entries, then err if not nil.
func seqOf(entries []dlqtool.Entry, err error) iter.Seq2[dlqtool.Entry, error] {
	return func(yield func(dlqtool.Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
		if err != nil {
			yield(dlqtool.Entry{}, err)
		}
	}
}

func pos(topic string, partition int, offset int64) dlqtool.Position {
	return dlqtool.Position{Topic: topic, Partition: partition, Offset: offset}
}

// entry is a parsed dead letter at dlq/0/at with source events/0/src.
func entry(at, src int64, reason, key, value string) dlqtool.Entry {
	m := deadLetter(key, value, reason, "because", pos("events", 0, src))
	m.Topic, m.Offset = "dlq", at
	return dlqtool.NewEntry(m)
}
