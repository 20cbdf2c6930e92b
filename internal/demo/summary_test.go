package demo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

func reportFixture() *Report {
	msgs, o := acctFixture()
	return &Report{
		Stop: stopComplete, Elapsed: 3 * time.Second, Broker: "kfake", Topic: "events", DLQTopic: "events.dlq", Group: "g",
		Accounting: Account(msgs, len(msgs), "events", o),
		Daemon:     DaemonNumbers{Consumed: 6, Requests: 2, Notifications: 4, Retries: 1, RetryReasons: map[string]int64{"503": 1}},
		Sim:        targetsim.Stats{Accepted: 1, Status: map[int]int64{200: 1, 503: 1}},
	}
}

func summaryOf(r *Report) string {
	var b strings.Builder
	r.WriteSummary(&b)
	return b.String()
}

func TestSummaryOK(t *testing.T) {
	r := reportFixture()
	out := summaryOf(r)
	if !r.OK() {
		t.Fatalf("fixture not OK: %+v", r.Accounting)
	}
	for _, want := range []string{
		"6 produced = 4 acknowledged + 2 dead-lettered + 0 lost  [ok]",
		"(bad_json 1, missing_field 1)",
		"2 sent, 2.0 notifications per request; Target accepted 1 (HTTP 200: 1, HTTP 503: 1)",
		"retries        1 (503 1)",
		"committed 6 of end 6 over 2 partitions  [ok]",
		"\nOK: every produced event",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pending") || strings.Contains(out, "anomalies") {
		t.Errorf("an OK summary mentions pending or anomalies:\n%s", out)
	}
}

func TestSummaryInterrupted(t *testing.T) {
	msgs, o := acctFixture()
	delete(o.Acked, "m3")
	o.Committed[1] = 1
	r := reportFixture()
	r.Stop, r.Interrupted = stopInterrupted, true
	r.Accounting = Account(msgs, len(msgs), "events", o)
	out := summaryOf(r)
	if r.OK() || !r.NothingLost() {
		t.Fatalf("OK %v, NothingLost %v", r.OK(), r.NothingLost())
	}
	for _, want := range []string{
		"+ 0 lost + 1 pending + 0 missing  [incomplete]",
		"committed 4 of end 6 over 2 partitions  [incomplete]",
		"INCOMPLETE (interrupted): nothing lost, but 1 events are still in Kafka",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestSummaryNotOK(t *testing.T) {
	msgs, o := acctFixture()
	delete(o.Acked, "m2")
	r := reportFixture()
	r.Accounting = Account(msgs, len(msgs), "events", o)
	r.Err = errors.New("notifierd: boom")
	out := summaryOf(r)
	if r.OK() || r.NothingLost() {
		t.Fatalf("OK %v, NothingLost %v", r.OK(), r.NothingLost())
	}
	for _, want := range []string{"+ 1 lost  [FAILED]", "error          notifierd: boom", "NOT OK: 1 events were lost, notifierd: boom."} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
