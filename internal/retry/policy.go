// Package retry owns the backoff policy between delivery attempts: exponential growth with
// full jitter and a cap (backoff/v4), a deliberate overall time limit, and Retry-After
// taking precedence when the server asks for a longer wait.
package retry

import (
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Policy configures the waits between attempts of one batch.
type Policy struct {
	Initial    time.Duration // ceiling of the first wait
	Max        time.Duration // cap on any single wait
	Multiplier float64
	MaxElapsed time.Duration // give up after this long; 0 retries until shutdown
}

// NewBackOff returns a fresh backoff for one batch.
func (p Policy) NewBackOff() backoff.BackOff {
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.Initial),
		backoff.WithMaxInterval(p.Max),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(0), // the jitter is ours: full, not ±50 %
		backoff.WithMaxElapsedTime(p.MaxElapsed),
	)
	return &fullJitter{exp: exp}
}

// fullJitter draws each wait uniformly from [0, ceiling), which spreads the retries of many
// sessions after an outage instead of sending them back in waves.
type fullJitter struct{ exp *backoff.ExponentialBackOff }

func (f *fullJitter) NextBackOff() time.Duration {
	ceiling := f.exp.NextBackOff()
	if ceiling == backoff.Stop || ceiling <= 0 {
		return ceiling
	}
	return time.Duration(rand.Int64N(int64(ceiling))) + 1
}

func (f *fullJitter) Reset() { f.exp.Reset() }

// Wait is how long to wait before the next attempt: the backoff's draw, or the server's
// Retry-After when that is longer, never more than the cap unless the server asked.
// It reports false when the policy's time is up.
func Wait(b backoff.BackOff, retryAfter time.Duration) (time.Duration, bool) {
	d := b.NextBackOff()
	if d == backoff.Stop {
		return 0, false
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d, true
}
