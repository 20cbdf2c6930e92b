package daemon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

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
