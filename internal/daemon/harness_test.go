package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// kfake and kafka-go keep idle connection reapers that end shortly after Close.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		// A slept control function woken as its cluster closes can be left on kfake's lock.
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).runControl.func1"),
	)
}

// harness is one topic, one dead-letter topic, one group and one simulator.
type harness struct {
	t          testing.TB
	broker     string
	topic, dlq string
	group      string
	sim        *targetsim.Sim
	srv        *httptest.Server
	cfg        config.Config
	produced   map[string]notify.Event // by id
	adminAddr  func(net.Addr)
	opts       []daemon.Option // given to daemon.New
}

func newHarness(t testing.TB, partitions int, faults targetsim.Faults) *harness {
	t.Helper()
	broker, _ := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, broker, partitions)
	h := &harness{
		t: t, broker: broker, topic: topic, group: topic + "-group",
		dlq:      kafkatest.Topic(t, broker, 1),
		sim:      targetsim.New(targetsim.Config{RecordRequests: true}, faults),
		produced: map[string]notify.Event{},
	}
	h.srv = httptest.NewServer(h.sim)
	t.Cleanup(h.srv.Close)
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{broker}
	cfg.Kafka.Topic = topic
	cfg.Kafka.DLQTopic = h.dlq
	cfg.Kafka.Group = h.group
	cfg.Kafka.SessionTimeout = 6 * time.Second // the brokers' minimum
	cfg.Kafka.HeartbeatInterval = 500 * time.Millisecond
	cfg.Kafka.RebalanceTimeout = 10 * time.Second
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	cfg.Target.Client = "acme"
	cfg.Target.URL = h.srv.URL + "/c/{client}"
	cfg.Target.EdgeURL = h.srv.URL + "/e/{hint}"
	cfg.Target.Timeout = 2 * time.Second
	cfg.Target.Retry = config.Retry{InitialInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond, Multiplier: 2}
	cfg.Batch.Linger = 50 * time.Millisecond
	cfg.Admin.Listen = ""
	cfg.Shutdown.Timeout = 10 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	return h
}

// running is a daemon started by the harness.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start runs a daemon with the harness's configuration.
func (h *harness) start() *running {
	h.t.Helper()
	log := zaptest.NewLogger(h.t, zaptest.Level(testLogLevel()))
	d, err := daemon.New(h.cfg, log, prometheus.NewRegistry(), h.opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	d.AdminAddr = h.adminAddr
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	h.t.Cleanup(func() { r.stop(h.t) })
	return r
}

// stop is a SIGTERM: graceful shutdown, then Run returns.
func (r *running) stop(t testing.TB) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("daemon stopped with an error: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("daemon did not stop within 60s")
		}
	})
}

var nowMs = time.Now().UnixMilli()

// event builds a valid event of session s with id.
func event(id, session string) notify.Event {
	return notify.Event{
		ID: id, Type: notify.TypeDisplay, Timestamp: nowMs, SessionID: session,
		TntID: "visitor-" + session, Mbox: &notify.Mbox{Name: "product1", State: "st-" + id},
		Tokens: []string{"token-" + id},
	}
}

// produce writes events keyed by session, as producers are told to.
func (h *harness) produce(events ...notify.Event) {
	h.t.Helper()
	msgs := make([]kafka.Message, len(events))
	for i, ev := range events {
		value, err := json.Marshal(ev)
		if err != nil {
			h.t.Fatal(err)
		}
		msgs[i] = kafka.Message{Key: []byte(ev.SessionID), Value: value}
		h.produced[ev.ID] = ev
	}
	kafkatest.Produce(h.t, h.broker, h.topic, msgs...)
}

// produceRaw writes values that are not (all) valid events.
func (h *harness) produceRaw(key string, values ...[]byte) {
	h.t.Helper()
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Key: []byte(key), Value: v}
	}
	kafkatest.Produce(h.t, h.broker, h.topic, msgs...)
}

// waitUnique waits until the simulator has acknowledged n distinct ids.
func (h *harness) waitUnique(n int64, within time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := h.sim.WaitFor(ctx, func(s targetsim.Stats) bool { return s.Unique >= n }); err != nil {
		h.t.Fatalf("simulator acknowledged %d of %d ids within %s: %v", h.sim.Stats().Unique, n, within, err)
	}
}

// deadLetters reads the dead-letter topic, by notification id where the value has one.
func (h *harness) deadLetters() []kafka.Message {
	return kafkatest.ReadAll(h.t, h.broker, h.dlq)
}

// checkCommitted is the at-least-once invariant: every offset below a committed offset
// belongs to an event Target acknowledged or the dead-letter topic holds.
func (h *harness) checkCommitted() (committedTotal int64) {
	h.t.Helper()
	committed := kafkatest.CommittedOffsets(h.t, h.broker, h.group, h.topic)
	received := h.sim.Received()
	dead := map[string]bool{}
	for _, m := range h.deadLetters() {
		dead[dlq.Header(m, dlq.HeaderPartition)+"/"+dlq.Header(m, dlq.HeaderOffset)] = true
	}
	for _, m := range kafkatest.ReadAll(h.t, h.broker, h.topic) {
		c, ok := committed[m.Partition]
		if !ok || m.Offset >= c {
			continue
		}
		var ev struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(m.Value, &ev)
		where := strconv.Itoa(m.Partition) + "/" + strconv.FormatInt(m.Offset, 10)
		if _, ok := received[ev.ID]; (ev.ID == "" || !ok) && !dead[where] {
			h.t.Errorf("offset %s (id %q) is below the committed offset %d but was neither acknowledged nor dead-lettered", where, ev.ID, c)
		}
	}
	for _, c := range committed {
		committedTotal += max(c, 0)
	}
	return committedTotal
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}
