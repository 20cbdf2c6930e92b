package daemon_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/targetsim"
)

// A member that joined and then crashed holds the group's next rebalance until its session
// expires: a daemon started after a crash loop waits in JoinGroup for up to the rebalance
// timeout. A SIGTERM then must not wait for that join; nothing is in flight.
func TestStopIsBoundedWhileTheJoinWaitsForACrashedMember(t *testing.T) {
	h := newHarness(t, 2, targetsim.Faults{})
	h.cfg.Shutdown.Timeout = 20 * time.Second
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(h.broker), Timeout: 10 * time.Second, Transport: transport}
	ctx, cancel := contextWithTimeout(60 * time.Second)
	defer cancel()
	leave := crashedMember(ctx, t, client, h.group, h.topic)

	r := h.start()
	// The daemon's join moves the group to PreparingRebalance, where it stays until the crashed
	// member's session (60 s) ends.
	waitGroupState(ctx, t, client, h.group, "PreparingRebalance")
	stopped := time.Now()
	r.stop(t)
	// leave waits 3 s for the group to confirm once nothing is in flight; the rest is margin
	// for a loaded machine, still far below both the shutdown timeout and the 60 s join.
	if took := time.Since(stopped); took > 8*time.Second {
		t.Errorf("stop took %s with nothing in flight while the join waited (shutdown.timeout %s)", took.Round(time.Millisecond), h.cfg.Shutdown.Timeout)
	}
	// The daemon did not wait for its join, but the join still ends once the crashed member is
	// gone; then kafka-go's group goroutine leaves and exits (goleak checks it).
	leave()
}

// crashedMember joins group as a member that never syncs or heartbeats, as a daemon killed
// with -9 right after its join. leave removes it, as its session expiring would.
func crashedMember(ctx context.Context, t *testing.T, client *kafka.Client, group, topic string) (leave func()) {
	t.Helper()
	req := &kafka.JoinGroupRequest{
		GroupID: group, SessionTimeout: 60 * time.Second, RebalanceTimeout: 60 * time.Second,
		ProtocolType: "consumer",
		Protocols:    []kafka.GroupProtocol{{Name: "range", Metadata: kafka.GroupProtocolSubscription{Topics: []string{topic}}}},
	}
	for range 2 { // the first join may only hand out a member id (MEMBER_ID_REQUIRED)
		res, err := client.JoinGroup(ctx, req)
		if err != nil {
			t.Fatalf("joining %s as the crashed member: %v", group, err)
		}
		if res.Error == nil {
			return func() {
				_, err := client.LeaveGroup(context.Background(), &kafka.LeaveGroupRequest{
					GroupID: group, Members: []kafka.LeaveGroupRequestMember{{ID: res.MemberID}}})
				if err != nil {
					t.Errorf("removing the crashed member: %v", err)
				}
			}
		}
		if !errors.Is(res.Error, kafka.MemberIDRequired) {
			t.Fatalf("joining %s as the crashed member: %v", group, res.Error)
		}
		req.MemberID = res.MemberID
	}
	t.Fatalf("joining %s as the crashed member: still asked for a member id", group)
	return nil
}

func waitGroupState(ctx context.Context, t *testing.T, client *kafka.Client, group, state string) {
	t.Helper()
	last := ""
	for ctx.Err() == nil {
		res, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err == nil && len(res.Groups) == 1 {
			if last = res.Groups[0].GroupState; last == state {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("group %s did not reach %s (last seen %q)", group, state, last)
}

// A dead-letter write under way when the daemon stops, to a broker that does not answer it
// (its host gone silent), must not hold the stop: kafka-go's writer retried it in the
// background, ten attempts of its 10 s timeout, and Close waited for them all. The stop ends
// within shutdown.timeout and the seconds of its last commit and of closing, and the event,
// never dead-lettered, is not committed: the next owner gets it again.
func TestStopIsBoundedWhileADeadLetterWriteHangs(t *testing.T) {
	const topic, dlqTopic, group = "events", "events.dlq", "events-group"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic, dlqTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	wake := make(chan struct{})
	t.Cleanup(func() { close(wake) }) // before the cluster closes
	var dlqProduces atomic.Int32
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if p := req.(*kmsg.ProduceRequest); len(p.Topics) == 0 || p.Topics[0].Topic != dlqTopic {
			return nil, nil, false
		}
		dlqProduces.Add(1)
		cluster.SleepControl(func() { <-wake }) // no answer; other requests go on
		return nil, nil, false
	})
	broker := cluster.ListenAddrs()[0]

	srv := httptest.NewServer(targetsim.New(targetsim.Config{}, targetsim.Faults{}))
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.DLQTopic, cfg.Kafka.Group = []string{broker}, topic, dlqTopic, group
	cfg.Kafka.SessionTimeout, cfg.Kafka.HeartbeatInterval = 6*time.Second, 500*time.Millisecond
	cfg.Kafka.RequestTimeout = time.Second
	cfg.Target.Client, cfg.Target.URL = "acme", srv.URL+"/c/{client}"
	cfg.Admin.Listen = ""
	cfg.Shutdown.Timeout = 2 * time.Second
	d, err := daemon.New(cfg, zaptest.NewLogger(t, zaptest.Level(testLogLevel())), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	kafkatest.Produce(t, broker, topic, kafka.Message{Key: []byte("s1"), Value: []byte("not an event")})
	wctx, cancel := contextWithTimeout(30 * time.Second)
	defer cancel()
	for dlqProduces.Load() == 0 && wctx.Err() == nil { // no signal for a request reaching kfake
		time.Sleep(10 * time.Millisecond)
	}
	if dlqProduces.Load() == 0 {
		t.Fatal("the dead letter was never written")
	}
	stopped := time.Now()
	stop()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon did not stop within 60 s")
	}
	// The deadline (2 s), the last commit's wait (2.5 s) and closing the writers (2 s); the
	// rest is margin for a loaded machine, far below the 100 s the retries took.
	took := time.Since(stopped)
	t.Logf("stopped in %s, %d dead-letter produce requests", took.Round(time.Millisecond), dlqProduces.Load())
	if took > cfg.Shutdown.Timeout+10*time.Second {
		t.Errorf("stop took %s with a dead-letter write hanging (shutdown.timeout %s)", took.Round(time.Millisecond), cfg.Shutdown.Timeout)
	}
	if c := kafkatest.CommittedOffsets(t, broker, group, topic)[0]; c > 0 {
		t.Errorf("committed offset %d: the event that was never dead-lettered was committed", c)
	}
}
