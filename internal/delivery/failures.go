package delivery

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// failureLogInterval is how often an edge's failures are summarised while they last.
const failureLogInterval = 30 * time.Second

// failureLog makes retried failures visible at the default level without flooding it: per
// edge host, the first failure is logged at once, then at most one line per interval with
// the counts by class and the last cause of each: "still failing", or "answering again"
// once a request there has succeeded since. A certificate Target's edge cannot prove, a name
// that does not resolve or an edge answering 503 all look alike from the outside (lag grows),
// so each line names the host and the cause.
type failureLog struct {
	log      *zap.Logger
	interval time.Duration

	mu        sync.Mutex
	hosts     map[string]*hostFailures
	lastSweep time.Time
	// tracked is len(hosts), read without the lock: a success while no host has failed,
	// nearly every request, costs one atomic load.
	tracked atomic.Int32
}

// hostFailures is one host's failure episode: what happened since its last line.
type hostFailures struct {
	lastLine, lastFailure, lastSuccess time.Time
	counts                             map[string]int
	causes                             map[string]string // class -> last cause
}

// failureLine is a line to log once the lock is released.
type failureLine struct {
	host    string
	first   bool
	class   string
	err     error
	counts  map[string]int
	causes  map[string]string
	healthy bool // a request succeeded after the last failure
}

func newFailureLog(log *zap.Logger, interval time.Duration) *failureLog {
	return &failureLog{log: log, interval: interval, hosts: make(map[string]*hostFailures)}
}

// record notes a request's result: the first retried failure of an episode is logged at
// once, the rest are counted and summarised when due.
func (f *failureLog) record(host string, err error, now time.Time) {
	if err == nil && f.tracked.Load() == 0 {
		return
	}
	var tErr *Error
	if err != nil && errors.As(err, &tErr) && !tErr.Retryable {
		return // not retried: the item is dead-lettered, and the dead-letter log says why
	}
	var lines []failureLine
	f.mu.Lock()
	h := f.hosts[host]
	switch {
	case err == nil:
		if h != nil {
			h.lastSuccess = now
		}
	case h == nil:
		h = &hostFailures{counts: make(map[string]int), causes: make(map[string]string), lastLine: now, lastFailure: now}
		f.hosts[host] = h
		lines = append(lines, failureLine{host: host, first: true, class: failureClass(tErr), err: err})
	default:
		class := failureClass(tErr)
		h.counts[class]++
		h.causes[class] = err.Error()
		h.lastFailure = now
	}
	if now.Sub(f.lastSweep) >= time.Second {
		f.lastSweep = now
		lines = append(lines, f.sweepLocked(now)...)
	}
	f.tracked.Store(int32(len(f.hosts)))
	f.mu.Unlock()
	for _, l := range lines {
		f.write(l)
	}
}

// sweepLocked takes the summaries that are due, and forgets hosts whose episode is over: an
// interval since their last line, nothing new to report, and answering again.
func (f *failureLog) sweepLocked(now time.Time) []failureLine {
	var lines []failureLine
	for host, h := range f.hosts {
		if now.Sub(h.lastLine) < f.interval {
			continue
		}
		healthy := h.lastSuccess.After(h.lastFailure)
		if len(h.counts) == 0 {
			if healthy {
				delete(f.hosts, host)
			}
			continue
		}
		lines = append(lines, failureLine{host: host, counts: h.counts, causes: h.causes, healthy: healthy})
		h.counts, h.causes, h.lastLine = make(map[string]int), make(map[string]string), now
		if healthy {
			delete(f.hosts, host) // reported to the end: the next failure is a first again
		}
	}
	return lines
}

func (f *failureLog) write(l failureLine) {
	switch {
	case l.first:
		f.log.Warn("Target request failed; retrying", zap.String("host", l.host), zap.String("class", l.class), zap.Error(l.err))
	case l.healthy:
		f.log.Info("Target edge answering again", zap.String("host", l.host), zap.Any("failures_since_last_report", l.counts), zap.String("causes", causeList(l.causes)))
	default:
		f.log.Warn("Target requests still failing; retrying", zap.String("host", l.host), zap.Duration("over", f.interval), zap.Any("failures", l.counts), zap.String("causes", causeList(l.causes)))
	}
}

// failureClass is the class a failure is counted under.
func failureClass(tErr *Error) string {
	if tErr == nil {
		return "error"
	}
	return tErr.Reason
}

// causeList renders class: cause pairs in a stable order.
func causeList(causes map[string]string) string {
	classes := make([]string, 0, len(causes))
	for c := range causes {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var b strings.Builder
	for i, c := range classes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c + ": " + causes[c])
	}
	return b.String()
}
