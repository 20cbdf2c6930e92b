package daemon_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Every committed offset has its receipt, written before the commit, even across a stop that
// abandons work in flight; acknowledged receipts carry what Target answered, dead-lettered
// ones their reason; each is keyed like its event.
func TestEveryCommittedOffsetHasItsReceipt(t *testing.T) {
	h := newHarness(t, 4, targetsim.Faults{LatencyMin: time.Millisecond, LatencyMax: 20 * time.Millisecond, BadTokens: []string{"token-r-00007"}})
	receiptsTopic := kafkatest.Topic(t, h.broker, 3)
	h.cfg.Kafka.ReceiptsTopic = receiptsTopic
	h.cfg.Shutdown.Timeout = 50 * time.Millisecond // the first stop abandons what is in flight
	var batch []notify.Event
	for i := range 1000 {
		batch = append(batch, event(fmt.Sprintf("r-%05d", i), fmt.Sprintf("s-%03d", i%100)))
	}
	h.produce(batch...)
	h.produceRaw("junk", []byte(`{"type":`))
	first := h.start()
	h.waitUnique(300, time.Minute)
	first.stop(t)
	checkReceipts(t, h, receiptsTopic)

	h.cfg.Shutdown.Timeout = 10 * time.Second
	second := h.start()
	h.waitUnique(999, 2*time.Minute)
	second.stop(t)
	if got := h.checkCommitted(); got != 1001 {
		t.Errorf("committed %d of 1001 offsets", got)
	}
	byOutcome := checkReceipts(t, h, receiptsTopic)
	if byOutcome[notify.OutcomeAcknowledged] != 999 || byOutcome[notify.OutcomeDeadLettered] != 2 {
		t.Errorf("distinct receipts by outcome %v, want 999 acknowledged and 2 dead_lettered", byOutcome)
	}
}

// checkReceipts checks every committed offset against the receipts topic and returns the
// distinct sources with a receipt, by outcome.
func checkReceipts(t *testing.T, h *harness, topic string) map[string]int {
	t.Helper()
	bySource := map[string]notify.Receipt{}
	for _, m := range kafkatest.ReadAll(t, h.broker, topic) {
		r, err := notify.DecodeReceipt(m.Value)
		if err != nil {
			t.Fatalf("receipt at %d/%d: %v", m.Partition, m.Offset, err)
		}
		where := strconv.Itoa(r.Source.Partition) + "/" + strconv.FormatInt(r.Source.Offset, 10)
		if r.Source.Topic != h.topic {
			t.Errorf("receipt %s names topic %q, want %q", where, r.Source.Topic, h.topic)
		}
		switch r.Outcome {
		case notify.OutcomeAcknowledged:
			ev, ok := h.produced[r.ID]
			if !ok {
				t.Fatalf("receipt for an id never produced: %+v", r)
			}
			if string(m.Key) != ev.SessionID || r.SessionID != ev.SessionID || r.TntID != ev.TntID || r.RequestID == "" ||
				r.EdgeHost == "" || r.Status != 200 || r.Attempts < 1 || r.EventTime != ev.Timestamp || r.AckTime < ev.Timestamp || r.Client != "acme" {
				t.Errorf("acknowledged receipt keyed %q: %+v", m.Key, r)
			}
		case notify.OutcomeDeadLettered:
			if r.Reason != "bad_json" && r.Reason != "target_rejected" {
				t.Errorf("dead-lettered receipt with reason %q: %+v", r.Reason, r)
			}
		}
		bySource[where] = r
	}
	committed := kafkatest.CommittedOffsets(t, h.broker, h.group, h.topic)
	for _, m := range kafkatest.ReadAll(t, h.broker, h.topic) {
		if c, ok := committed[m.Partition]; !ok || m.Offset >= c {
			continue
		}
		if _, ok := bySource[strconv.Itoa(m.Partition)+"/"+strconv.FormatInt(m.Offset, 10)]; !ok {
			t.Errorf("offset %d/%d is committed but has no receipt", m.Partition, m.Offset)
		}
	}
	byOutcome := map[string]int{}
	for _, r := range bySource {
		byOutcome[r.Outcome]++
	}
	return byOutcome
}
