package dlqtool

import (
	"context"
	"iter"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/kafkaread"
)

// Entries yields every entry of topic, partition by partition in offset order, from each
// partition's first offset up to its end when Entries started: entries dead-lettered
// meanwhile are not seen, so a listing always ends. It uses no consumer group and commits
// nothing. On error it yields the error once and stops.
func Entries(ctx context.Context, client *kafka.Client, topic string) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for m, err := range kafkaread.Read(ctx, client, topic) {
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if !yield(NewEntry(m), nil) {
				return
			}
		}
	}
}
