package limit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// clock is a test's time, moved by hand.
type clock struct{ now time.Time }

func (c *clock) advance(d time.Duration) time.Time { c.now = c.now.Add(d); return c.now }

// roundTrip takes up to n slots, then releases them all after rtt: pushedBack of them pushed
// back, the rest accepted. It returns how many slots it got.
func roundTrip(l *Limiter, c *clock, n int, rtt time.Duration, pushedBack int) int {
	got := 0
	for got < n && l.TryAcquire(c.now) {
		got++
	}
	end := c.advance(rtt)
	for i := range got {
		outcome := Accepted
		if i*pushedBack/got != (i+1)*pushedBack/got { // spread evenly over the releases
			outcome = PushedBack
		}
		l.Release(end, rtt, outcome)
	}
	return got
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func TestSlowStartReachesTheCapInAFewRoundTrips(t *testing.T) {
	c := newClock()
	l := New(Defaults(2000))
	if l.Limit() != 64 {
		t.Fatalf("initial limit = %d, want 64", l.Limit())
	}
	windows := 0
	for l.Limit() < 2000 && windows < 100 {
		roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)
		windows++
	}
	// 64 doubling to 2000 takes 5 round trips (6 here, where a window closes halfway through
	// a burst of answers): well under a second at Target's 100 ms.
	if windows > 6 {
		t.Fatalf("reached %d after %d windows; want 2000 within 6", l.Limit(), windows)
	}
}

func TestNoGrowthWithoutDemand(t *testing.T) {
	c := newClock()
	l := New(Defaults(2000))
	for range 20 {
		roundTrip(l, c, 5, 100*time.Millisecond, 0) // 5 of 64 slots used
	}
	if l.Limit() != 64 {
		t.Fatalf("limit = %d after windows using a quarter of it; want 20 (no evidence to grow)", l.Limit())
	}
}

func TestPushBackBeyondToleranceHalves(t *testing.T) {
	tests := []struct {
		name       string
		pushedBack int // of 100
		want       int
	}{
		{"none", 0, 110},         // past slow start: grows by a tenth
		{"5 percent", 5, 110},    // an occasional 5xx is tolerated
		{"6 percent", 6, 50},     // beyond it: halved
		{"all of them", 100, 50}, // a storm: halved, once per window
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(Config{Min: 1, Max: 1000, Initial: 100, Tolerance: 2, Slack: 20 * time.Millisecond, LossTolerance: 0.05, MinWindow: 20 * time.Millisecond})
			l.slowStart = false
			roundTrip(l, c, 100, 50*time.Millisecond, tt.pushedBack)
			if got := l.Limit(); got != tt.want {
				t.Fatalf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAStormFallsToTheMinimumAndRecoversAfterIt(t *testing.T) {
	c := newClock()
	l := New(Defaults(2000))
	for l.Limit() < 2000 {
		roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)
	}
	start := c.now
	for l.Limit() > 1 && c.now.Sub(start) < time.Minute { // 429s, answered in 20 ms
		roundTrip(l, c, 1_000_000, 20*time.Millisecond, 1_000_000)
	}
	// The first window still spans the last 100 ms round trip; then halving each 20 ms.
	if took := c.now.Sub(start); l.Limit() != 1 || took > 2*time.Second {
		t.Fatalf("limit = %d after %v of push-back; want the minimum 1 within 2s", l.Limit(), took)
	}
	windows := 0
	for l.Limit() < 1000 && windows < 1000 {
		roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)
		windows++
	}
	if windows > 80 { // growing by a tenth a round trip: 8 s at 100 ms
		t.Fatalf("took %d windows to recover to 1000", windows)
	}
}

func TestRisingLatencyCutsTheLimit(t *testing.T) {
	tests := []struct {
		name    string
		rtt     time.Duration
		growing bool
	}{
		{"steady", 100 * time.Millisecond, true},
		{"within tolerance", 190 * time.Millisecond, true},
		{"tripled", 300 * time.Millisecond, false},
		{"sub-millisecond noise within slack", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			baseline := 100 * time.Millisecond
			if tt.rtt == 0 { // a local edge: 0.2 ms baseline, then 5 ms: 25 times, but 4.8 ms
				baseline, tt.rtt = 200*time.Microsecond, 5*time.Millisecond
			}
			l := New(Defaults(2000))
			for c.now.Sub(time.Unix(1_700_000_000, 0)) < 200*time.Millisecond {
				roundTrip(l, c, 1_000_000, baseline, 0)
			}
			peak := l.Limit()
			for c.now.Sub(time.Unix(1_700_000_000, 0)) < 2*time.Second {
				roundTrip(l, c, 1_000_000, tt.rtt, 0)
				peak = max(peak, l.Limit())
			}
			// Growing means never judged congested: still in slow start (or at the cap).
			if cut := !l.slowStart; cut == tt.growing {
				t.Fatalf("at %v after a %v baseline: cut = %v, want %v (limit %d, peak %d)", tt.rtt, baseline, cut, !tt.growing, l.Limit(), peak)
			}
			if !tt.growing && l.Limit() >= peak {
				t.Fatalf("limit %d did not fall below its peak %d while the round trip tripled", l.Limit(), peak)
			}
		})
	}
}

func TestStaticLimitNeverMoves(t *testing.T) {
	c := newClock()
	l := New(Config{Min: 8, Max: 8, Initial: 8})
	roundTrip(l, c, 100, time.Millisecond, 100)
	roundTrip(l, c, 100, time.Second, 0)
	if got := roundTrip(l, c, 100, time.Millisecond, 0); got != 8 || l.Limit() != 8 {
		t.Fatalf("static limit took %d slots, limit %d; want 8 and 8", got, l.Limit())
	}
}

func TestReleaseFreesASlot(t *testing.T) {
	c := newClock()
	l := New(Config{Min: 4, Max: 4, Initial: 4})
	for range 4 {
		if !l.TryAcquire(c.now) {
			t.Fatal("a slot under the limit was refused")
		}
	}
	if l.TryAcquire(c.now) {
		t.Fatal("a fifth slot was granted at limit 4")
	}
	l.Release(c.advance(time.Millisecond), time.Millisecond, Accepted)
	if !l.TryAcquire(c.now) || l.TryAcquire(c.now) {
		t.Fatal("after one release, not exactly one slot was free")
	}
	l.Release(c.advance(time.Millisecond), time.Millisecond, Accepted)
	if l.InFlight() != 3 || l.Idle() {
		t.Fatalf("in flight = %d, idle = %v; want 3, false", l.InFlight(), l.Idle())
	}
}

func TestJitteryLatencyIsNotCongestion(t *testing.T) {
	// Answers spread evenly over 5..150 ms, as the chaos suite's simulator and real edges
	// answer: the mean is 15 times the fastest, and still nothing is queueing.
	c := newClock()
	l := New(Defaults(64))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		if l.TryAcquire(c.now) {
			rtt := 5*time.Millisecond + time.Duration(rng.Int64N(int64(145*time.Millisecond)))
			l.Release(c.advance(rtt/20), rtt, Accepted) // overlapping requests, answered out of order
		}
		c.advance(time.Millisecond)
	}
	if l.Limit() < 64 || !l.slowStart {
		t.Fatalf("limit %d, slow start %v after jittery but steady answers; want the cap 64 and never cut", l.Limit(), l.slowStart)
	}
}

func TestQueueingThatBuildsUpIsNotLearnedAsTheBaseline(t *testing.T) {
	// A destination that serves 1,000 requests a second: requests queue and the round trip
	// grows with those in flight (2 ms + in flight / 1,000 per second). The limit must
	// settle, not creep up to the cap as the round trip rises with it.
	c := newClock()
	l := New(Defaults(2048))
	for c.now.Sub(time.Unix(1_700_000_000, 0)) < 10*time.Minute {
		inFlight := l.Limit()
		rtt := 2*time.Millisecond + time.Duration(inFlight)*time.Millisecond
		roundTrip(l, c, 1_000_000, rtt, 0)
	}
	// Every request queues here, so even the probe's half load does and the limit settles at a
	// few hundred; what must not happen is the drift to the cap (2048 when the baseline
	// followed the means).
	if l.Limit() > 300 {
		t.Fatalf("limit %d after 10 minutes of round trips growing with it; want it held (≤ 300), not drifting to the cap", l.Limit())
	}
}

func TestPushBackDuringAProbeEndsIt(t *testing.T) {
	c := newClock()
	l := New(Config{Min: 1, Max: 1000, Initial: 400, Tolerance: 2, Slack: 50 * time.Millisecond, LossTolerance: 0.05, MinWindow: 20 * time.Millisecond})
	l.slowStart = false
	for range 400 { // steady answers until the first probe halves the limit
		roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)
		if l.probing {
			break
		}
	}
	if !l.probing {
		t.Fatal("no probe within 400 round trips")
	}
	probing := l.Limit()
	roundTrip(l, c, 1_000_000, 20*time.Millisecond, 1_000_000) // a storm during the probe
	roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)        // then steady again
	if l.probing || l.Limit() > probing {
		t.Fatalf("limit %d (probing %v) after push-back during a probe at %d; want the cut kept, not the pre-probe limit back", l.Limit(), l.probing, probing)
	}
}

// queueingDestination serves requests one after another at rate per second, each taking at
// least base: what a client whose own CPU is the bottleneck sees. Unlike roundTrip it keeps
// requests in flight across windows, as a running daemon does, so a window that begins with
// the limit cut still holds answers to requests sent before the cut.
type queueingDestination struct {
	interval time.Duration
	base     time.Duration
	sent     []time.Time // in flight, oldest first
	lastDone time.Time
}

// run keeps the limit's slots taken and answers them in order for d.
func (q *queueingDestination) run(l *Limiter, c *clock, d time.Duration) (peak int) {
	end := c.now.Add(d)
	for c.now.Before(end) {
		for l.TryAcquire(c.now) {
			q.sent = append(q.sent, c.now)
		}
		done := q.sent[0].Add(q.base)
		if next := q.lastDone.Add(q.interval); next.After(done) {
			done = next
		}
		c.now, q.lastDone = done, done
		l.Release(done, done.Sub(q.sent[0]), Accepted)
		q.sent = q.sent[1:]
		peak = max(peak, l.Limit())
	}
	return peak
}

func TestAProbeDoesNotLearnTheQueueItIsDraining(t *testing.T) {
	// 2,000 requests a second at best, 2 ms at least each: beyond a few in flight, every
	// request waits behind the others and its round trip grows with the limit. The probe
	// at half the limit must measure the round trip of requests sent at half the limit, not
	// of those still queued from before it; otherwise each probe learns the queue as the
	// baseline and the limit doubles every 30 s up to the cap.
	c := newClock()
	l := New(Defaults(2048))
	q := &queueingDestination{interval: time.Second / 2000, base: 2 * time.Millisecond}
	q.run(l, c, time.Minute) // slow start and the first probes
	peak := q.run(l, c, 5*time.Minute)
	// Slack (50 ms) beyond the baseline is tolerated: about 100 ms of queue at 2,000 a second.
	if peak > 400 {
		t.Fatalf("limit peaked at %d over 5 minutes of a queue growing with it; want it held near 200, not drifting to the cap", peak)
	}
}

func TestPushBackDuringAProbeIsJudgedOnItsShare(t *testing.T) {
	// A probe under way at half of 200, begun with all 200 in flight (the window's
	// maxInflight); then 10 % of its answers pushed back: beyond LossTolerance, so the limit is
	// halved, as outside a probe. Were the probe's accepted answers left out of the window, its
	// 10 push-backs would never close it (that takes half of 200) and the probe would end by
	// restoring 200.
	c := newClock()
	l := New(Config{Min: 1, Max: 1000, Initial: 200, Tolerance: 2, Slack: 50 * time.Millisecond, LossTolerance: 0.05, MinWindow: 20 * time.Millisecond})
	l.slowStart, l.baseline, l.lastMean = false, 100*time.Millisecond, 100*time.Millisecond
	l.probing, l.beforeProbe, l.limit = true, 200, 100
	l.win = window{start: c.now, maxInflight: 200}
	roundTrip(l, c, 1_000_000, 100*time.Millisecond, 10)
	if got := l.Limit(); got > 50 || l.probing {
		t.Fatalf("limit %d (probing %v) after a round trip with 10 of 100 pushed back during a probe at 100 of 200; want the probe ended and the limit halved to 50", got, l.probing)
	}
}

func TestNoProbeStraightAfterAPushBack(t *testing.T) {
	// A push-back ends a probe and halves the limit; the next window must not start another
	// probe at once (the probe was due), halving the halved limit again.
	c := newClock()
	l := New(Config{Min: 1, Max: 1000, Initial: 400, Tolerance: 2, Slack: 50 * time.Millisecond, LossTolerance: 0.05, MinWindow: 20 * time.Millisecond})
	l.slowStart = false
	for range 400 {
		roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)
		if l.probing {
			break
		}
	}
	for i := 0; l.probing && i < 50; i++ {
		roundTrip(l, c, 1_000_000, 20*time.Millisecond, 1_000_000) // a storm ends the probe
	}
	halved := l.Limit()
	for range 3 {
		roundTrip(l, c, 1_000_000, 100*time.Millisecond, 0)
		if l.probing {
			t.Fatalf("a new probe (limit %d) right after a push-back ended one and halved the limit to %d", l.Limit(), halved)
		}
	}
}
