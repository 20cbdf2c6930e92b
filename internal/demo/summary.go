package demo

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Report is the outcome of a run: why it stopped, the accounting, and the numbers behind it.
type Report struct {
	Stop        string // complete, interrupted, timed out, ...
	Interrupted bool   // stopped by ctx (Ctrl-C) before every event had an outcome
	Elapsed     time.Duration
	Broker      string
	Topic       string
	DLQTopic    string
	Group       string
	Accounting  Accounting
	Receipts    Receipts
	Daemon      DaemonNumbers   // the daemon's metrics after it stopped
	Sim         targetsim.Stats // the simulator's counters after the daemon stopped
	Err         error           // what went wrong while running: notifierd's or the producer's error
}

// OK reports whether the run proved that every produced event was acknowledged or
// dead-lettered, with every offset committed.
func (r *Report) OK() bool { return r.Accounting.OK() && r.Receipts.Unreceipted == 0 && r.Err == nil }

// NothingLost reports whether a run that is not OK at least lost nothing: what has no outcome
// yet is still in Kafka, uncommitted (an interrupted run).
func (r *Report) NothingLost() bool { return r.Accounting.NothingLost() && r.Err == nil }

// WriteSummary prints the accounting for people.
func (r *Report) WriteSummary(w io.Writer) {
	a := r.Accounting
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	mark := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILED"
	}
	// incomplete marks what is not done yet but not wrong either.
	incomplete := func(nothingWrong bool) string {
		if nothingWrong {
			return "incomplete"
		}
		return "FAILED"
	}

	p("")
	p("notifierd demo: %s after %s", r.Stop, r.Elapsed.Round(10*time.Millisecond))
	p("  broker %s", r.Broker)
	p("  topic %s (%d partitions), dead letters in %s, group %s", r.Topic, a.Partitions, r.DLQTopic, r.Group)
	p("")
	p("  produced       %6d  events (%d valid, %d invalid on purpose); notifierd consumed %d", a.Produced, a.Valid, a.Invalid, r.Daemon.Consumed)
	p("  acknowledged   %6d  distinct ids acknowledged by the Target simulator", a.Acknowledged)
	p("  dead-lettered  %6d  distinct source offsets in the dead-letter topic%s", a.DeadLettered, counted(a.DeadByReason))
	p("  lost           %6d  below the committed offset without an outcome", a.Lost)
	if a.Pending > 0 || a.Missing > 0 {
		p("  pending        %6d  not delivered yet, still uncommitted in Kafka", a.Pending)
		p("  missing        %6d  confirmed by the broker but not in the topic", a.Missing)
		p("  %d produced = %d acknowledged + %d dead-lettered + %d lost + %d pending + %d missing  [%s]",
			a.Produced, a.Acknowledged, a.DeadLettered, a.Lost, a.Pending, a.Missing, incomplete(a.NothingLost()))
	} else {
		p("  %d produced = %d acknowledged + %d dead-lettered + %d lost  [%s]",
			a.Produced, a.Acknowledged, a.DeadLettered, a.Lost, mark(a.Lost == 0))
	}
	p("")
	p("  duplicates     %d acknowledgements, %d dead letters (at-least-once; Target counts a repeated impressionId once)", a.DuplicateAcks, a.DuplicateDead)
	if a.ValidDeadLettered > 0 || a.InvalidAcknowledged > 0 || a.WrongReason > 0 || a.AckedAndDead > 0 || a.Foreign > 0 {
		p("  anomalies      %d valid events dead-lettered, %d invalid events acknowledged, %d dead-lettered for another reason, %d both acknowledged and dead-lettered, %d foreign messages",
			a.ValidDeadLettered, a.InvalidAcknowledged, a.WrongReason, a.AckedAndDead, a.Foreign)
	}
	d := r.Daemon
	p("  requests       %d sent, %.1f notifications per request; Target accepted %d (%s)",
		d.Requests, d.MeanPerRequest(), r.Sim.Accepted, statuses(r.Sim.Status))
	p("  retries        %d%s", d.Retries, counted(d.RetryReasons))
	offsetsMark := mark(true)
	if len(a.Uncommitted) > 0 {
		offsetsMark = incomplete(a.NothingLost())
	}
	p("  offsets        committed %d of end %d over %d partitions  [%s]",
		a.CommittedSum, a.EndSum, a.Partitions, offsetsMark)
	if len(a.Uncommitted) > 0 {
		p("                 partitions not fully committed: %v", a.Uncommitted)
	}
	rc := r.Receipts
	p("  receipts       %d acknowledged, %d dead-lettered in %s; committed offsets without one: %d  [%s]",
		rc.ByOutcome[notify.OutcomeAcknowledged], rc.ByOutcome[notify.OutcomeDeadLettered], rc.Topic, rc.Unreceipted, mark(rc.Unreceipted == 0))
	for _, outcome := range []string{notify.OutcomeAcknowledged, notify.OutcomeDeadLettered} {
		if sample, ok := rc.Samples[outcome]; ok {
			p("                 %s", sample)
		}
	}
	if r.Err != nil {
		p("  error          %v", r.Err)
	}
	p("")
	switch {
	case r.OK():
		p("OK: every produced event was acknowledged by Target or dead-lettered, and every offset is committed.")
	case r.NothingLost():
		p("INCOMPLETE (%s): nothing lost, but %s.", r.Stop, r.problem())
	default:
		p("NOT OK: %s.", r.problem())
	}
}

func (r *Report) problem() string {
	a := r.Accounting
	var out []string
	add := func(n int, what string) {
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(a.Lost, "events were lost")
	add(a.Pending, "events are still in Kafka without an outcome")
	add(a.Missing, "events are missing from the topic")
	add(a.InvalidAcknowledged, "invalid events were acknowledged")
	add(a.Foreign, "foreign messages are in the topic")
	add(len(a.Uncommitted), "partitions are not fully committed")
	add(r.Receipts.Unreceipted, "committed offsets have no receipt")
	if a.Produced == 0 {
		out = append(out, "nothing was produced")
	}
	if r.Err != nil {
		out = append(out, r.Err.Error())
	}
	return strings.Join(out, ", ")
}

// counted renders counts by name, e.g. " (bad_json 2, missing_field 1)", or "" when empty.
func counted[V int | int64](m map[string]V) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func statuses(m map[int]int64) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("HTTP %d: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
