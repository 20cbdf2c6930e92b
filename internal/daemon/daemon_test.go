package daemon_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// (a) Nothing fails: every event is acknowledged exactly once, in requests of at most 50
// notifications of a single session, and every offset is committed.
func TestAllAcknowledgedExactlyOnce(t *testing.T) {
	const events, sessions, partitions = 10_000, 500, 12
	h := newHarness(t, partitions, targetsim.Faults{})
	// Exactly once holds where nothing times out and the group never rebalances. On a loaded
	// CI machine (go test -race) a 2 s answer or a 6 s gap in heartbeats happened once, and
	// the test is not about either: give both ample room.
	h.cfg.Target.Timeout = 30 * time.Second
	h.cfg.Kafka.SessionTimeout = 30 * time.Second
	h.cfg.Kafka.RebalanceTimeout = 30 * time.Second
	var batch []notify.Event
	for i := range events {
		batch = append(batch, event(fmt.Sprintf("a-%05d", i), fmt.Sprintf("session-%03d", i%sessions)))
	}
	h.produce(batch...)
	r := h.start()
	h.waitUnique(events, 2*time.Minute)
	r.stop(t)

	stats := h.sim.Stats()
	if stats.Duplicates != 0 || stats.Notifications != events {
		t.Errorf("acknowledged %d notifications (%d duplicates) for %d events", stats.Notifications, stats.Duplicates, events)
	}
	if stats.MaxPerRequest > 50 {
		t.Errorf("a request carried %d notifications", stats.MaxPerRequest)
	}
	for id, rec := range h.sim.Received() {
		if want := h.produced[id].SessionID; rec.SessionID != want {
			t.Fatalf("%s delivered in session %q, produced in %q", id, rec.SessionID, want)
		}
	}
	for _, req := range h.sim.Requests() {
		for _, id := range req.IDs {
			if h.produced[id].SessionID != req.SessionID {
				t.Fatalf("request for session %s carried %s of session %s", req.SessionID, id, h.produced[id].SessionID)
			}
		}
	}
	if got := h.checkCommitted(); got != events {
		t.Errorf("committed offsets sum to %d, want %d", got, events)
	}
	t.Logf("%d events in %d requests (%.1f per request)", events, stats.Accepted, float64(events)/float64(stats.Accepted))
}

// (b) Events of one session arriving within linger share the fewest requests possible.
func TestLingerGivesFewestRequests(t *testing.T) {
	h := newHarness(t, 1, targetsim.Faults{})
	h.cfg.Batch.Linger = time.Second
	var batch []notify.Event
	for _, id := range ids("b", 120) {
		batch = append(batch, event(id, "one-session"))
	}
	h.produce(batch...)
	r := h.start()
	h.waitUnique(120, time.Minute)
	r.stop(t)
	if got := h.sim.Stats().Accepted; got != 3 {
		t.Errorf("120 events of one session took %d requests, want ceil(120/50) = 3", got)
	}
}

// (c) A location hint routes to the edge URL; an edgeHost learned from a response routes the
// visitor's next request.
func TestEdgeRouting(t *testing.T) {
	h := newHarness(t, 1, targetsim.Faults{})
	r := h.start()

	hinted := event("c-hinted", "s-hinted")
	hinted.LocationHint = "21"
	fromTnt := event("c-tnt", "s-tnt")
	fromTnt.TntID = "d5b2b0f1-0bd4-4d3f-9ad4-25a3b1a1c0ff.31_0"
	first := event("c-first", "s-learn")
	h.produce(hinted, fromTnt, first)
	h.waitUnique(3, time.Minute)
	h.produce(event("c-second", "s-learn"))
	h.waitUnique(4, time.Minute)
	r.stop(t)

	routes := map[string]string{}
	for id, rec := range h.sim.Received() {
		routes[id] = rec.Route
	}
	want := map[string]string{"c-hinted": "/e/21", "c-tnt": "/e/31", "c-first": "/c/acme", "c-second": "/e/35"}
	for id, route := range want {
		if routes[id] != route {
			t.Errorf("%s went to %q, want %q", id, routes[id], route)
		}
	}
}

// (d) One bad token in a batch of 50: 49 delivered, 1 dead-lettered with Target's message.
func TestBadTokenIsIsolated(t *testing.T) {
	h := newHarness(t, 1, targetsim.Faults{BadTokens: []string{"token-d-00017"}})
	h.cfg.Batch.Linger = time.Second
	var batch []notify.Event
	for _, id := range ids("d", 50) {
		batch = append(batch, event(id, "s-d"))
	}
	h.produce(batch...)
	r := h.start()
	h.waitUnique(49, time.Minute)
	r.stop(t) // graceful: the dead-letter write is done before the final commit

	if _, ok := h.sim.Received()["d-00017"]; ok {
		t.Error("the notification with the bad token was acknowledged")
	}
	var targetMessage string
	for _, req := range h.sim.Requests() {
		if req.Status == 400 && len(req.IDs) == 1 && req.IDs[0] == "d-00017" {
			targetMessage = req.Message
		}
	}
	dead := h.deadLetters()
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	var ev notify.Event
	_ = json.Unmarshal(dead[0].Value, &ev)
	if ev.ID != "d-00017" || dlq.Header(dead[0], dlq.HeaderReason) != "target_rejected" ||
		targetMessage == "" || dlq.Header(dead[0], dlq.HeaderError) != targetMessage {
		t.Errorf("dead letter %s: reason %q, error %q; want d-00017, target_rejected, %q",
			ev.ID, dlq.Header(dead[0], dlq.HeaderReason), dlq.Header(dead[0], dlq.HeaderError), targetMessage)
	}
	if got := h.checkCommitted(); got != 50 {
		t.Errorf("committed %d of 50 offsets", got)
	}
}

// (e) With Target serialising each session (420 on a concurrent request), none is ever sent.
func TestNeverTwoRequestsPerSession(t *testing.T) {
	h := newHarness(t, 4, targetsim.Faults{MaxInFlightPerSession: 1, LatencyMin: 2 * time.Millisecond, LatencyMax: 10 * time.Millisecond})
	h.cfg.Batch.Linger = 5 * time.Millisecond // many small batches per session, to tempt concurrency
	h.cfg.Batch.MaxNotifications = 5
	var batch []notify.Event
	for i := range 2000 {
		batch = append(batch, event(fmt.Sprintf("e-%05d", i), fmt.Sprintf("s-%02d", i%20)))
	}
	h.produce(batch...)
	r := h.start()
	h.waitUnique(2000, 2*time.Minute)
	r.stop(t)
	if n := h.sim.Stats().Status[420]; n != 0 {
		t.Errorf("Target answered 420 %d times", n)
	}
}

// (f) A run of 503s, then recovery: nothing lost, nothing dead-lettered.
func TestOutageThenRecovery(t *testing.T) {
	h := newHarness(t, 3, targetsim.Faults{ErrorRate: 1, ErrorStatus: 503})
	var batch []notify.Event
	for i := range 500 {
		batch = append(batch, event(fmt.Sprintf("f-%04d", i), fmt.Sprintf("s-%02d", i%50)))
	}
	h.produce(batch...)
	r := h.start()
	ctx, cancel := contextWithTimeout(time.Minute)
	defer cancel()
	if err := h.sim.WaitFor(ctx, func(s targetsim.Stats) bool { return s.Status[503] >= 100 }); err != nil {
		t.Fatalf("the outage never showed: %v", err)
	}
	h.sim.SetFaults(targetsim.Faults{})
	h.waitUnique(500, 2*time.Minute)
	r.stop(t)
	if dead := h.deadLetters(); len(dead) != 0 {
		t.Errorf("%d events dead-lettered because of an outage", len(dead))
	}
	if got := h.checkCommitted(); got != 500 {
		t.Errorf("committed %d of 500", got)
	}
}

// (g) SIGTERM mid-stream, then a restart: nothing lost, and since the graceful stop lets
// in-flight work finish and commits it, nothing is delivered twice either.
func TestGracefulStopAndRestart(t *testing.T) {
	h := newHarness(t, 6, targetsim.Faults{LatencyMin: 20 * time.Millisecond, LatencyMax: 50 * time.Millisecond})
	h.cfg.Target.MaxConcurrency = 2 // about 200 requests of 35 ms, two at a time: several seconds of work
	h.cfg.Kafka.MaxInFlight = 50    // the stop drains what was fetched: keep that a part of the whole
	var batch []notify.Event
	for i := range 1200 {
		batch = append(batch, event(fmt.Sprintf("g-%05d", i), fmt.Sprintf("s-%02d", i%40)))
	}
	h.produce(batch...)
	first := h.start()
	h.waitUnique(200, time.Minute)
	first.stop(t)
	afterStop := h.sim.Stats()
	if afterStop.Unique >= 1200 {
		t.Fatalf("everything was delivered before the stop; the test proves nothing")
	}
	h.checkCommitted()

	second := h.start()
	h.waitUnique(1200, 2*time.Minute)
	second.stop(t)
	stats := h.sim.Stats()
	if stats.Duplicates != 0 {
		t.Errorf("%d duplicates after a graceful stop; in-flight work should have been finished and committed", stats.Duplicates)
	}
	if got := h.checkCommitted(); got != 1200 {
		t.Errorf("committed %d of 1200", got)
	}
	t.Logf("stopped after %d of 1200; %d duplicates", afterStop.Unique, stats.Duplicates)
}

// (h) Under faults and an abrupt stop (shutdown deadline far shorter than the work in
// flight), no committed offset passes an event that was neither acknowledged nor
// dead-lettered; a restart delivers the rest, and duplicates come only from that abandoned work.
func TestCommittedOffsetsNeverPassUnfinishedWork(t *testing.T) {
	h := newHarness(t, 4, targetsim.Faults{ErrorRate: 0.2, DropAckRate: 0.2, ThrottleRate: 0.1, RetryAfter: time.Second,
		LatencyMin: time.Millisecond, LatencyMax: 30 * time.Millisecond, BadTokens: []string{"token-h-00100", "token-h-01000"}})
	h.cfg.Shutdown.Timeout = 50 * time.Millisecond
	var batch []notify.Event
	for i := range 3000 {
		batch = append(batch, event(fmt.Sprintf("h-%05d", i), fmt.Sprintf("s-%03d", i%300)))
	}
	h.produce(batch...)
	h.produceRaw("junk", []byte(`{"type":`), []byte(`{"type":"hover"}`))
	first := h.start()
	h.waitUnique(800, time.Minute)
	first.stop(t)
	h.checkCommitted()

	h.sim.SetFaults(targetsim.Faults{BadTokens: []string{"token-h-00100", "token-h-01000"}})
	h.cfg.Shutdown.Timeout = 10 * time.Second
	second := h.start()
	h.waitUnique(2998, 2*time.Minute)
	second.stop(t)
	if got := h.checkCommitted(); got != 3002 {
		t.Errorf("committed %d of 3002 offsets", got)
	}
	// The abrupt stop may dead-letter an event twice (written, not yet committed): count sources.
	sources := map[string]map[string]bool{}
	for _, m := range h.deadLetters() {
		reason := dlq.Header(m, dlq.HeaderReason)
		if sources[reason] == nil {
			sources[reason] = map[string]bool{}
		}
		sources[reason][dlq.Header(m, dlq.HeaderPartition)+"/"+dlq.Header(m, dlq.HeaderOffset)] = true
	}
	if len(sources["target_rejected"]) != 2 || len(sources["bad_json"]) != 1 || len(sources["bad_value"]) != 1 || len(sources) != 3 {
		t.Errorf("dead-lettered events by reason = %v, want 2 target_rejected, 1 bad_json, 1 bad_value", sources)
	}
	stats := h.sim.Stats()
	t.Logf("%d duplicates from work abandoned at the abrupt stop; statuses %v", stats.Duplicates, stats.Status)
}

// Invalid input is dead-lettered with its reason and source, and never stalls the partition.
func TestInvalidEventsAreDeadLettered(t *testing.T) {
	h := newHarness(t, 1, targetsim.Faults{})
	good := event("i-good", "s-i")
	h.produceRaw("k", []byte(`not json`), []byte("{\"type\":\"display\xff\"}"), []byte(`{"type":"click","timestamp":1}`))
	h.produce(good)
	r := h.start()
	h.waitUnique(1, time.Minute)
	r.stop(t)
	dead := h.deadLetters()
	if len(dead) != 3 {
		t.Fatalf("%d dead letters, want 3", len(dead))
	}
	want := []string{"bad_json", "invalid_utf8", "timestamp_out_of_range"}
	for i, m := range dead {
		reason := dlq.Header(m, dlq.HeaderReason)
		if reason != want[i] || dlq.Header(m, dlq.HeaderTopic) != h.topic || dlq.Header(m, dlq.HeaderOffset) != fmt.Sprint(i) ||
			!strings.Contains(dlq.Header(m, dlq.HeaderError), "invalid event") {
			t.Errorf("dead letter %d: reason %q topic %q offset %q error %q", i, reason, dlq.Header(m, dlq.HeaderTopic),
				dlq.Header(m, dlq.HeaderOffset), dlq.Header(m, dlq.HeaderError))
		}
	}
	if got := h.checkCommitted(); got != 4 {
		t.Errorf("committed %d of 4", got)
	}
}
