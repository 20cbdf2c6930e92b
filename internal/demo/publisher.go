package demo

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// WriteFunc writes messages to the events topic and returns once the broker has them;
// kafka.Writer.WriteMessages in the demo.
type WriteFunc func(ctx context.Context, msgs ...kafka.Message) error

// Publisher writes generated messages at a steady rate, in order, and counts the ones the
// broker confirmed: the first Produced() messages are in the topic.
type Publisher struct {
	write    WriteFunc
	rate     int // messages per second; 0: as fast as the broker takes them
	tick     time.Duration
	maxChunk int
	produced atomic.Int64
}

// NewPublisher returns a publisher writing with write at rate messages per second (0: no limit).
func NewPublisher(write WriteFunc, rate int) *Publisher {
	return &Publisher{write: write, rate: rate, tick: 20 * time.Millisecond, maxChunk: 1000}
}

// Produced counts the messages the broker confirmed so far.
func (p *Publisher) Produced() int64 { return p.produced.Load() }

// Run publishes msgs until all are confirmed, a write fails, or ctx ends.
func (p *Publisher) Run(ctx context.Context, msgs []Message) error {
	ticker := time.NewTicker(p.tick)
	defer ticker.Stop()
	start := time.Now()
	sent := 0
	for sent < len(msgs) {
		due := len(msgs)
		if p.rate > 0 {
			due = min(len(msgs), int(time.Since(start).Seconds()*float64(p.rate))+1)
		}
		if due == sent {
			select {
			case <-ticker.C:
				continue
			case <-ctx.Done():
				return fmt.Errorf("publishing stopped after %d of %d messages: %w", sent, len(msgs), ctx.Err())
			}
		}
		chunk := msgs[sent:min(due, sent+p.maxChunk)]
		if err := p.write(ctx, toKafka(chunk)...); err != nil {
			return fmt.Errorf("publishing messages %d to %d: %w", sent, sent+len(chunk)-1, err)
		}
		sent += len(chunk)
		p.produced.Store(int64(sent))
	}
	return nil
}

func toKafka(msgs []Message) []kafka.Message {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Key: m.Key, Value: m.Value, Headers: []kafka.Header{{Key: HeaderID, Value: []byte(m.ID)}}}
	}
	return out
}
