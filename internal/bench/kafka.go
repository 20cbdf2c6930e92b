package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/testbed"
)

// Kafka is the bench's admin (testbed.Admin) and producer access to the broker.
type Kafka struct{ testbed.Admin }

// Produced describes what a producer wrote.
type Produced struct {
	Stamps             []Stamp
	MinBytes, MaxBytes int
	Bytes              int64
	Elapsed            time.Duration
}

// Count is the number of messages written.
func (p *Produced) Count() int64 { return int64(len(p.Stamps)) }

func (p *Produced) add(msgs []Message) {
	for _, m := range msgs {
		n := len(m.Value)
		if p.MinBytes == 0 || n < p.MinBytes {
			p.MinBytes = n
		}
		p.MaxBytes = max(p.MaxBytes, n)
		p.Bytes += int64(n)
		p.Stamps = append(p.Stamps, m.Stamp)
	}
}

// producer writes to topic with a transport of its own: a transport caches metadata, and
// one that predates the topic would answer UNKNOWN_TOPIC_OR_PARTITION for a while. A page
// view's events need only the leader's ack; batches are large.
func (k *Kafka) producer(topic string, batchTimeout time.Duration) *testbed.Producer {
	return testbed.NewProducer(k.Addr, topic, testbed.ProducerOptions{
		ClientID: "notifierd-bench-producer", RequiredAcks: kafka.RequireOne,
		BatchSize: 2000, BatchBytes: 8 << 20, BatchTimeout: batchTimeout,
	})
}

func toKafka(msgs []Message) []kafka.Message {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Key: m.Key, Value: m.Value}
	}
	return out
}

// Produce writes n messages made by next (called with the current time in ms, so each
// message's timestamp is its produce time) as fast as the broker takes them.
func (k *Kafka) Produce(ctx context.Context, topic string, n int64, next func(nowMs int64) []Message) (*Produced, error) {
	w := k.producer(topic, 5*time.Millisecond)
	defer w.Close()
	const chunk, writers = 4000, 3
	chunks := make(chan []Message, writers)
	errc := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for c := range chunks {
				if err := w.Write(ctx, toKafka(c)...); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	out := &Produced{Stamps: make([]Stamp, 0, n)}
	start := time.Now()
	var err error
	for out.Count() < n && err == nil {
		c := make([]Message, 0, chunk+100)
		for len(c) < chunk && out.Count()+int64(len(c)) < n {
			c = append(c, next(time.Now().UnixMilli())...)
		}
		c = c[:min(int64(len(c)), n-out.Count())]
		out.add(c)
		select {
		case chunks <- c:
		case err = <-errc:
		case <-ctx.Done():
			err = fmt.Errorf("producing to %s: %w", topic, ctx.Err())
		}
	}
	close(chunks)
	wg.Wait()
	select {
	case e := <-errc:
		err = errors.Join(err, e)
	default:
	}
	out.Elapsed = time.Since(start)
	return out, err // Write's errors name the topic
}

// ProducePaced writes messages made by next at rate events per second for d, in small
// synchronous batches every few milliseconds, each message stamped when it is made.
func (k *Kafka) ProducePaced(ctx context.Context, topic string, rate float64, d time.Duration, next func(nowMs int64) []Message) (*Produced, error) {
	w := k.producer(topic, time.Millisecond)
	defer w.Close()
	out := &Produced{}
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	start := time.Now()
	for {
		elapsed := time.Since(start)
		if elapsed >= d {
			break
		}
		due := int64(rate*elapsed.Seconds()) - out.Count()
		var c []Message
		for int64(len(c)) < due {
			c = append(c, next(time.Now().UnixMilli())...)
		}
		if len(c) > 0 {
			out.add(c)
			if err := w.Write(ctx, toKafka(c)...); err != nil {
				return out, err // names the topic
			}
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
	out.Elapsed = time.Since(start)
	return out, nil
}
