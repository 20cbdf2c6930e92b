package testbed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// ProducerOptions shape a Producer; the zero value is the demo's and the integration tests'.
type ProducerOptions struct {
	ClientID   string
	Balancer   kafka.Balancer // nil: murmur2 of the key, the partition Kafka's Java client picks
	BatchBytes int64          // 0: kafka-go's default
	BatchSize  int            // 0: 1000 messages
	// BatchTimeout is how long a partial batch waits for more (0: 2 ms).
	BatchTimeout time.Duration
	RequiredAcks kafka.RequiredAcks // 0: from all replicas
	// Retry writes what failed again, every 300 ms, until it is written or ctx ends (the
	// suite's faults make failed writes normal); without it Write returns the first error.
	// A retried write may append its batch twice (the first attempt succeeded but its answer
	// was lost): accounting must take each copy as a message of its own.
	Retry bool
}

// Producer writes to one topic (with acks from all replicas unless told otherwise), through
// a transport of its own that Close releases, so no connection outlives it. It is safe for
// concurrent writes.
type Producer struct {
	w       *kafka.Writer
	retry   bool
	written atomic.Int64
	retries atomic.Int64
}

// NewProducer writes to topic through addr (one address, or a comma-separated bootstrap list).
func NewProducer(addr, topic string, o ProducerOptions) *Producer {
	w := &kafka.Writer{
		Addr: kafka.TCP(strings.Split(addr, ",")...), Topic: topic, Balancer: o.Balancer,
		RequiredAcks: cmp.Or(o.RequiredAcks, kafka.RequireAll), BatchSize: cmp.Or(o.BatchSize, 1000),
		BatchBytes: o.BatchBytes, BatchTimeout: cmp.Or(o.BatchTimeout, 2*time.Millisecond),
		Transport: &kafka.Transport{
			Dial: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, ClientID: o.ClientID,
			MetadataTTL: 2 * time.Second, // follows a restarted broker or a moved leader quickly
		},
	}
	if w.Balancer == nil {
		w.Balancer = &kafka.Murmur2Balancer{}
	}
	if o.Retry {
		w.MaxAttempts = 3 // kafka-go's own retries; Write retries beyond them
	}
	return &Producer{w: w, retry: o.Retry}
}

// Write writes msgs and returns once the broker has them.
func (p *Producer) Write(ctx context.Context, msgs ...kafka.Message) error {
	for {
		err := p.w.WriteMessages(ctx, msgs...)
		if err == nil {
			p.written.Add(int64(len(msgs)))
			return nil
		}
		if !p.retry || ctx.Err() != nil {
			return fmt.Errorf("producing to %s: %w", p.w.Topic, errors.Join(ctx.Err(), err))
		}
		p.retries.Add(1)
		var werrs kafka.WriteErrors // only the messages that failed are written again
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			var again []kafka.Message
			for i, e := range werrs {
				if e != nil {
					again = append(again, msgs[i])
				}
			}
			p.written.Add(int64(len(msgs) - len(again)))
			msgs = again
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Close flushes the writer and closes its connections.
func (p *Producer) Close() error {
	err := p.w.Close()
	p.w.Transport.(*kafka.Transport).CloseIdleConnections()
	return err
}

// Written counts the messages the broker acknowledged.
func (p *Producer) Written() int64 { return p.written.Load() }

// Retries counts the writes that failed and were tried again.
func (p *Producer) Retries() int64 { return p.retries.Load() }

// paceTick is how often Pace looks whether messages are due.
const paceTick = 20 * time.Millisecond

// Pace writes what next hands out at rate messages a second (0: as fast as write takes them),
// at most maxChunk a write, until next hands out nothing, stop is closed (nil: never), a
// write fails or ctx ends. next(n) returns up to n messages. A write that stalled (a broker
// restart) is made up for by at most a second's worth, so a stall does not end in a burst.
func Pace[M any](ctx context.Context, rate, maxChunk int, stop <-chan struct{}, next func(n int) []M, write func(context.Context, []M) error) error {
	ticker := time.NewTicker(paceTick)
	defer ticker.Stop()
	start, base, sent := time.Now(), 0, 0
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		n := maxChunk
		if rate > 0 {
			due := base + int(time.Since(start).Seconds()*float64(rate)) + 1
			if due-sent > rate {
				start, base, due = time.Now(), sent, sent+1
			}
			n = min(n, due-sent)
		}
		if n > 0 {
			chunk := next(n)
			if len(chunk) == 0 {
				return nil
			}
			if err := write(ctx, chunk); err != nil {
				return err
			}
			sent += len(chunk)
			continue
		}
		select {
		case <-ticker.C:
		case <-stop:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("pacing stopped after %d messages: %w", sent, ctx.Err())
		}
	}
}
