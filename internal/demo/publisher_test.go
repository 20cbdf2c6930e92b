package demo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// recorder is a WriteFunc that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	chunks [][]kafka.Message
	fail   func(chunk int) error
}

func (r *recorder) write(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(len(r.chunks)); err != nil {
			return err
		}
	}
	r.chunks = append(r.chunks, msgs)
	return nil
}

func (r *recorder) all() []kafka.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []kafka.Message
	for _, c := range r.chunks {
		out = append(out, c...)
	}
	return out
}

func publisherMessages(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{ID: fmt.Sprintf("id-%d", i), Kind: KindDisplay, Key: []byte("s"), Value: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return msgs
}

func TestPublisherWritesAllInOrderWithIDHeaders(t *testing.T) {
	msgs := publisherMessages(2500)
	rec := &recorder{}
	p := NewPublisher(rec.write, 0)
	if err := p.Run(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != len(msgs) || p.Produced() != int64(len(msgs)) {
		t.Fatalf("wrote %d, Produced %d, want %d", len(got), p.Produced(), len(msgs))
	}
	for i, m := range got {
		if string(m.Value) != string(msgs[i].Value) || string(m.Key) != "s" || len(m.Headers) != 1 ||
			m.Headers[0].Key != HeaderID || string(m.Headers[0].Value) != msgs[i].ID {
			t.Fatalf("message %d written as %+v", i, m)
		}
	}
	for _, c := range rec.chunks {
		if len(c) > 1000 {
			t.Errorf("a chunk of %d messages", len(c))
		}
	}
}

func TestPublisherPaces(t *testing.T) {
	msgs := publisherMessages(30)
	rec := &recorder{}
	start := time.Now()
	if err := NewPublisher(rec.write, 100).Run(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: a pacer can be slow on a busy machine, never faster than its rate.
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("30 messages at 100/s took %s, under the 290 ms the pace allows", took)
	}
	if len(rec.chunks) < 2 || len(rec.chunks[0]) == len(msgs) {
		t.Errorf("at 100/s, 30 messages went out in %d writes, the first of %d", len(rec.chunks), len(rec.chunks[0]))
	}
	if len(rec.all()) != len(msgs) {
		t.Errorf("wrote %d of %d", len(rec.all()), len(msgs))
	}
}

func TestPublisherStopsAtFirstFailedWrite(t *testing.T) {
	boom := errors.New("broker gone")
	rec := &recorder{fail: func(chunk int) error {
		if chunk == 2 {
			return boom
		}
		return nil
	}}
	p := NewPublisher(rec.write, 0)
	p.maxChunk = 10
	err := p.Run(context.Background(), publisherMessages(100))
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want the write error", err)
	}
	if p.Produced() != 20 {
		t.Errorf("Produced %d after two good chunks of 10", p.Produced())
	}
}

func TestPublisherStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	p := NewPublisher(func(c context.Context, msgs ...kafka.Message) error {
		cancel() // the user presses Ctrl-C during the first write
		return rec.write(c, msgs...)
	}, 1) // one a second: the second message is due only after a second
	err := p.Run(ctx, publisherMessages(5))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if p.Produced() != 1 {
		t.Errorf("Produced %d, want 1", p.Produced())
	}
}
