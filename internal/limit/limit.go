// Package limit owns an adaptive concurrency limit for one destination: how many requests may
// be in flight to it at once. It grows while the round trip holds and the destination accepts
// the load, and shrinks when the destination pushes back (throttling, server errors,
// timeouts) or its round trip rises. It knows nothing of HTTP: callers say what each request's
// outcome meant.
//
// The controller is deliberately small. Decisions are taken once per window of about one
// round trip, as TCP's congestion control takes them once per RTT:
//   - slow start: the limit grows by one for each request that comes back while at least half
//     of it is in use, doubling per round trip, until the first sign of trouble, so a
//     restarted daemon reaches full speed in a few round trips;
//   - then it grows by a tenth each used window (at least one), and is cut by 10 % when the
//     window's mean round trip exceeds Tolerance times the baseline (the lowest window mean,
//     measured afresh every 30 s at half the limit, from requests sent once those in flight
//     have fallen to it) and Slack beyond it, or halved when more than LossTolerance of the
//     window's requests were pushed back.
//
// failsafe-go's adaptivelimiter, the maintained candidate, judges by latency alone (a 429
// storm answers fast, so it would grow) and moves by log10(limit) per window of at least a
// second, which is minutes from 20 to 2,000 at Target's round trips.
package limit

import (
	"sync"
	"time"
)

// Outcome is what a finished request says about the destination's load.
type Outcome int

const (
	// Accepted: the destination answered the request on its merits (2xx, or a 4xx about the
	// request itself). Its round trip counts.
	Accepted Outcome = iota
	// PushedBack: throttled, failed by the server, timed out or refused: the destination
	// could not take it.
	PushedBack
	// Ignored: the request ended for a reason of our own (shutdown); it says nothing.
	Ignored
)

// Config bounds and tunes a Limiter.
type Config struct {
	Min, Max, Initial int
	// Tolerance is how many times its baseline the mean round trip may reach before the
	// limit backs off; Slack is an absolute rise always tolerated (scheduling noise on a
	// busy client matters at sub-millisecond round trips).
	Tolerance float64
	Slack     time.Duration
	// LossTolerance is the share of a window's requests that may be pushed back without a
	// cut: real edges answer an occasional 5xx.
	LossTolerance float64
	// MinWindow bounds a window's length from below.
	MinWindow time.Duration
}

// minJudged is the fewest answers a window's mean round trip is judged on.
const minJudged = 8

// probeEvery is how often the baseline round trip is measured afresh.
const probeEvery = 30 * time.Second

// Defaults are the tuning used for Target edges; Max is the caller's hard cap.
func Defaults(maxLimit int) Config {
	return Config{
		Min: 1, Max: maxLimit, Initial: min(64, maxLimit),
		Tolerance: 2, Slack: 50 * time.Millisecond, LossTolerance: 0.05,
		MinWindow: 20 * time.Millisecond,
	}
}

// Limiter is the limit of one destination. It is safe for concurrent use.
type Limiter struct {
	cfg Config

	mu        sync.Mutex
	limit     float64
	inflight  int
	slowStart bool
	baseline  time.Duration // the uncongested round trip: the lowest window mean since the last probe
	// A probe runs at half the limit to measure the baseline afresh: once the requests in
	// flight have fallen to that half (probeFrom), from the answers to requests sent since.
	probing     bool
	beforeProbe float64
	probeFrom   time.Time
	probe       window
	nextProbe   time.Time
	lastMean    time.Duration // the last window's mean round trip: the next window's length
	win         window
}

// window gathers the outcomes between two decisions.
type window struct {
	start       time.Time
	accepted    int
	pushedBack  int
	sum         time.Duration
	maxInflight int
}

// New returns a limiter at cfg.Initial, in slow start.
func New(cfg Config) *Limiter {
	cfg.Max = max(cfg.Max, 1)
	cfg.Min = min(max(cfg.Min, 1), cfg.Max)
	cfg.Initial = min(max(cfg.Initial, cfg.Min), cfg.Max)
	return &Limiter{cfg: cfg, limit: float64(cfg.Initial), slowStart: true}
}

// TryAcquire takes a slot if one is free.
func (l *Limiter) TryAcquire(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight >= int(l.limit) {
		return false
	}
	if l.win.start.IsZero() {
		l.win.start = now
	}
	l.inflight++
	l.win.maxInflight = max(l.win.maxInflight, l.inflight)
	return true
}

// Release gives a slot back with what its request said.
func (l *Limiter) Release(now time.Time, rtt time.Duration, outcome Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	switch outcome {
	case Accepted:
		l.win.accepted++
		if l.probing {
			// Counted for the window's push-back share, timed by the probe.
			l.probeAnswer(now, rtt)
			break
		}
		l.win.sum += rtt
		if l.slowStart && float64(l.win.maxInflight) >= l.limit/2 {
			// One more for each request that comes back while the limit is in use: it
			// doubles per round trip without waiting for a window to close.
			l.set(l.limit + 1)
		}
	case PushedBack:
		l.win.pushedBack++
	}
	// A window spans a round trip and at least half of the requests in flight in it, so no
	// decision rests on the first request or two to come back.
	done := l.win.accepted + l.win.pushedBack
	if now.Sub(l.win.start) >= max(l.lastMean, l.cfg.MinWindow) && done > 0 && 2*done >= l.win.maxInflight {
		l.decide(now)
		l.win = window{start: now, maxInflight: l.inflight}
	}
}

// decide moves the limit at the end of a window.
func (l *Limiter) decide(now time.Time) {
	w := l.win
	total := w.accepted + w.pushedBack
	if float64(w.pushedBack) > l.cfg.LossTolerance*float64(total) {
		// Halved from where it stands; a probe under way ends, or its end would restore the
		// limit from before the push-back.
		l.slowStart, l.probing = false, false
		l.nextProbe = now.Add(probeEvery) // a probe now would halve the halved limit again
		l.set(l.limit / 2)
		return
	}
	if w.accepted == 0 || l.probing { // a probe's answers are judged by probeAnswer
		return
	}
	mean := w.sum / time.Duration(w.accepted)
	l.lastMean = min(mean, time.Second) // a window never spans more than a second
	// A window's mean against the lowest mean seen, not against the fastest answer: an edge
	// whose answers spread from 5 to 150 ms is not congested, though its mean is many times
	// its minimum. A few answers make no mean worth judging.
	judged := w.accepted >= minJudged
	congested := false
	if judged {
		if l.baseline == 0 || mean < l.baseline {
			l.baseline = mean
		}
		congested = float64(mean) > l.cfg.Tolerance*float64(l.baseline) && mean-l.baseline > l.cfg.Slack
	}
	if !l.slowStart && !l.nextProbe.IsZero() && !now.Before(l.nextProbe) {
		// A baseline that only ever falls would be wrong after a lasting change of route, and
		// one that follows the means would learn the queueing the limit itself causes; so,
		// like BBR's ProbeRTT, measure it afresh now and then, at half the limit (probeAnswer).
		l.probing, l.beforeProbe, l.probeFrom, l.probe = true, l.limit, time.Time{}, window{}
		l.set(l.limit / 2)
		return
	}
	if l.nextProbe.IsZero() {
		l.nextProbe = now.Add(probeEvery)
	}
	used := float64(w.maxInflight) >= l.limit/2
	switch {
	case congested:
		l.slowStart = false
		l.set(l.limit * 0.9)
	case !used:
		// Demand, not the destination, bounded this window: no evidence to grow on.
	case l.slowStart:
		// Grown already, by one per request back.
	default:
		l.set(l.limit + max(1, l.limit/10))
	}
}

// probeAnswer judges an answer that came back during a probe. Answers to requests sent
// before the in-flight requests fell to the probe's limit waited behind the queue the full
// limit built, so they would teach that queue as the baseline (and the limit would double at
// every probe); only the round trips of requests sent since count. A probe that gathers
// too few of them (demand fell) ends without a new baseline.
func (l *Limiter) probeAnswer(now time.Time, rtt time.Duration) {
	if l.probeFrom.IsZero() {
		if l.inflight <= int(l.limit) {
			l.probeFrom = now
		}
		return
	}
	if !now.Add(-rtt).Before(l.probeFrom) {
		l.probe.accepted++
		l.probe.sum += rtt
	}
	if l.probe.accepted >= max(minJudged, int(l.limit)/2) {
		l.baseline = l.probe.sum / time.Duration(l.probe.accepted)
		l.lastMean = min(l.baseline, time.Second)
	} else if now.Sub(l.probeFrom) < max(4*l.lastMean, time.Second) {
		return
	}
	l.probing, l.nextProbe = false, now.Add(probeEvery)
	l.set(l.beforeProbe)
	l.win = window{start: now, maxInflight: l.inflight}
}

func (l *Limiter) set(limit float64) {
	l.limit = min(max(limit, float64(l.cfg.Min)), float64(l.cfg.Max))
}

// Limit is the current limit.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// InFlight is the number of slots taken.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

// Idle reports whether no request holds a slot.
func (l *Limiter) Idle() bool { return l.InFlight() == 0 }
