package chaos

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/testbed"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Msg is one message to produce, with what must become of it.
type Msg struct {
	Key    string
	Value  []byte
	ID     string // unique per produced message
	Expect string // ExpectAck or a dead-letter reason
}

func (m Msg) kafka() kafka.Message {
	return kafka.Message{
		Key:   []byte(m.Key),
		Value: m.Value,
		Headers: []kafka.Header{
			{Key: HeaderID, Value: []byte(m.ID)},
			{Key: HeaderExpect, Value: []byte(m.Expect)},
		},
	}
}

// Workload makes the events of one scenario: ids unique to the run, spread over many
// sessions, each session with its own visitor, some routed to an edge by their tntId.
type Workload struct {
	prefix   string // scenario and run id: ids and sessions never collide across runs
	rng      *rand.Rand
	sessions int
	padding  int // bytes of parameters added to each good event (memory scenario)
	badEvery int // one bad event (cycling through badSprinkle) every badEvery messages; 0: none

	mu  sync.Mutex
	seq int
}

func newWorkload(prefix string, rng *rand.Rand, sessions int) *Workload {
	return &Workload{prefix: prefix, rng: rng, sessions: sessions}
}

func (w *Workload) session(i int) (session, tntID string) {
	session = fmt.Sprintf("%s-s%05d", w.prefix, i)
	tntID = fmt.Sprintf("v%x-%05d", hash64(w.prefix), i)
	if i%4 == 0 { // `<uuid>.<hint>_<node>`: routed to edge 34 or 35
		tntID = fmt.Sprintf("%032x.%d_0", hash64(session), 34+i%8/4)
	}
	return session, tntID
}

// Good returns a valid event of a random session.
func (w *Workload) Good() Msg {
	w.mu.Lock()
	w.seq++
	n := w.seq
	s := w.rng.IntN(w.sessions)
	click := w.rng.IntN(4) == 0
	w.mu.Unlock()
	return w.good(n, s, click, "")
}

func (w *Workload) good(n, s int, click bool, token string) Msg {
	session, tnt := w.session(s)
	id := fmt.Sprintf("%s-%07d", w.prefix, n)
	if token == "" {
		token = "tok-" + id
	}
	ev := notify.Event{
		ID: id, Type: notify.TypeDisplay, Timestamp: time.Now().UnixMilli(), SessionID: session, TntID: tnt,
		Mbox: &notify.Mbox{Name: "chaos-mbox", State: "state-" + id}, Tokens: []string{token},
	}
	if click {
		ev.Type = notify.TypeClick
	}
	if w.padding > 0 {
		ev.Parameters = map[string]string{"padding": strings.Repeat("p", w.padding)}
	}
	value, err := json.Marshal(ev)
	if err != nil {
		panic(err) // a notify.Event always marshals
	}
	return Msg{Key: session, Value: value, ID: id, Expect: ExpectAck}
}

// Next returns the next message of a stream: good events, with a bad one every badEvery.
// A stream has one producer goroutine, so reading seq and taking it need not be atomic.
func (w *Workload) Next() Msg {
	w.mu.Lock()
	n := w.seq + 1
	w.mu.Unlock()
	if w.badEvery > 0 && n%w.badEvery == 0 {
		k := badSprinkle[(n/w.badEvery)%len(badSprinkle)]
		return w.Bad(k)
	}
	return w.Good()
}

// Bad returns a message of the given bad kind, keyed by a random session so that it sits
// between good events of the same partitions.
func (w *Workload) Bad(k BadKind) Msg {
	w.mu.Lock()
	w.seq++
	n := w.seq
	s := w.rng.IntN(w.sessions)
	w.mu.Unlock()
	session, tnt := w.session(s)
	id := fmt.Sprintf("%s-%07d-%s", w.prefix, n, k.Name)
	if k.Make == nil { // a good event Target rejects (its token is one of the simulator's bad tokens)
		m := w.good(n, s, false, badToken)
		m.ID, m.Expect = id, k.Reason
		return m
	}
	return Msg{Key: session, Value: k.Make(id, session, tnt), ID: id, Expect: k.Reason}
}

// newProducer writes to topic through addr (one address, or a comma-separated bootstrap
// list), retrying failed writes: accounting takes each copy a retry appended as a message of
// its own.
func newProducer(addr, topic string) *testbed.Producer {
	return testbed.NewProducer(addr, topic, testbed.ProducerOptions{ClientID: "notifierd-chaos-producer", BatchBytes: 16 << 20, Retry: true})
}

// kafkaMessages are msgs as written, keyed by session, with id and expectation in headers.
func kafkaMessages(msgs []Msg) []kafka.Message {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m.kafka()
	}
	return out
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
