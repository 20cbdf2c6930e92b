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
// edge host, the first failure is logged at once, then one summary per interval with the
// counts by class and the last cause of each. A certificate Target's edge cannot prove, a
// name that does not resolve or an edge answering 503 all look alike from the outside (lag
// grows), so each line names the host and the cause.
type failureLog struct {
	log      *zap.Logger
	interval time.Duration

	mu    sync.Mutex
	hosts map[string]*hostFailures
	// tracked is len(hosts), read without the lock: a success while no host has failed,
	// nearly every request, costs one atomic load.
	tracked atomic.Int32
}

// hostFailures is what one host's failures have been since its last line.
type hostFailures struct {
	lastLine time.Time
	counts   map[string]int
	causes   map[string]string // class -> last cause
}

func newFailureLog(log *zap.Logger, interval time.Duration) *failureLog {
	return &failureLog{log: log, interval: interval, hosts: make(map[string]*hostFailures)}
}

// record notes a request's result: retried failures are counted and logged when due; a
// success after failures not yet reported logs them as recovered.
func (f *failureLog) record(host string, err error, now time.Time) {
	if err == nil && f.tracked.Load() == 0 {
		return
	}
	var tErr *Error
	if err != nil && errors.As(err, &tErr) && !tErr.Retryable {
		return // not retried: the item is dead-lettered, and the dead-letter log says why
	}
	f.mu.Lock()
	h := f.hosts[host]
	if err == nil {
		if h == nil || now.Sub(h.lastLine) < f.interval {
			f.unlock()
			return
		}
		counts, causes := h.take(now)
		delete(f.hosts, host) // its episode is over: the next failure is a first again
		f.unlock()
		if len(counts) == 0 {
			return // everything was in a line already
		}
		f.log.Info("Target edge answering again", zap.String("host", host), zap.Any("failures_since_last_report", counts), zap.String("causes", causeList(causes)))
		return
	}
	if h == nil {
		h = &hostFailures{counts: make(map[string]int), causes: make(map[string]string)}
		f.hosts[host] = h
		if len(f.hosts) > maxIdleEdges {
			f.forgetQuietLocked(host, now)
		}
	}
	class := "error"
	if tErr != nil {
		class = tErr.Reason
	}
	first := h.lastLine.IsZero()
	h.counts[class]++
	h.causes[class] = err.Error()
	if !first && now.Sub(h.lastLine) < f.interval {
		f.unlock()
		return
	}
	counts, causes := h.take(now)
	f.unlock()
	if first {
		f.log.Warn("Target request failed; retrying", zap.String("host", host), zap.String("class", class), zap.Error(err))
		return
	}
	f.log.Warn("Target requests still failing; retrying", zap.String("host", host), zap.Duration("over", f.interval), zap.Any("failures", counts), zap.String("causes", causeList(causes)))
}

// unlock publishes the number of hosts tracked and releases the lock.
func (f *failureLog) unlock() {
	f.tracked.Store(int32(len(f.hosts)))
	f.mu.Unlock()
}

// take returns the counts and causes since the last line and starts a new period at now.
func (h *hostFailures) take(now time.Time) (map[string]int, map[string]string) {
	counts, causes := h.counts, h.causes
	h.counts, h.causes = make(map[string]int), make(map[string]string)
	h.lastLine = now
	return counts, causes
}

// forgetQuietLocked drops hosts with nothing to report for an interval, but keep.
func (f *failureLog) forgetQuietLocked(keep string, now time.Time) {
	for host, h := range f.hosts {
		if host != keep && len(h.counts) == 0 && now.Sub(h.lastLine) >= f.interval {
			delete(f.hosts, host)
		}
	}
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
