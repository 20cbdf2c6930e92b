package targetsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Faults are the misbehaviours injected into delivery requests. The zero value
// injects nothing. Rates are fractions in [0,1], rolled independently per request
// (DropAckRate per notification id).
type Faults struct {
	LatencyMin, LatencyMax time.Duration // each request sleeps uniformly in [min,max] (respecting request context cancellation)
	ErrorRate              float64       // fraction of requests answered 5xx (ErrorStatus, default 503)
	ErrorStatus            int
	ThrottleRate           float64       // fraction answered 429 with Retry-After
	RetryAfter             time.Duration // Retry-After for 429s (seconds, rounded up, min 1)
	BadTokens              []string      // a request carrying any of these tokens gets 400 naming the token (the whole request, as Target does)
	DropAckRate            float64       // fraction of the notification ids omitted from an otherwise successful 200's acknowledgements
	HangRate               float64       // fraction of requests that hang until the client gives up (request ctx done)
	OutageUntil            time.Time     // every request before this instant gets 503
	// When > 0, a request arriving while this many requests of the same sessionId
	// are already in flight gets 420 "Too many requests with same session ID"
	// (enforced by counting, not random). Target's real value is 100; tests use 1.
	MaxInFlightPerSession int
}

const defaultErrorStatus = 503

// normalized fills defaults and clamps what SetFaults cannot refuse, so the
// request path never has to second-guess the values.
func (f Faults) normalized() Faults {
	if f.ErrorStatus == 0 {
		f.ErrorStatus = defaultErrorStatus
	}
	f.LatencyMin = max(f.LatencyMin, 0)
	f.LatencyMax = max(f.LatencyMax, f.LatencyMin)
	f.RetryAfter = max(f.RetryAfter, 0)
	f.ErrorRate = clamp01(f.ErrorRate)
	f.ThrottleRate = clamp01(f.ThrottleRate)
	f.DropAckRate = clamp01(f.DropAckRate)
	f.HangRate = clamp01(f.HangRate)
	f.MaxInFlightPerSession = max(f.MaxInFlightPerSession, 0)
	f.BadTokens = slices.Clone(f.BadTokens)
	return f
}

// Validate reports values out of range, for callers (flags, PUT /_sim/faults)
// that can be told what is wrong instead of having it silently clamped.
func (f Faults) Validate() error {
	var errs []error
	rates := []struct {
		name string
		v    float64
	}{{"errorRate", f.ErrorRate}, {"throttleRate", f.ThrottleRate}, {"dropAckRate", f.DropAckRate}, {"hangRate", f.HangRate}}
	for _, r := range rates {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s: must be in [0,1], got %v", r.name, r.v))
		}
	}
	if f.ErrorStatus != 0 && (f.ErrorStatus < 500 || f.ErrorStatus > 599) {
		errs = append(errs, fmt.Errorf("errorStatus: must be 5xx, got %d", f.ErrorStatus))
	}
	if f.LatencyMin < 0 || f.LatencyMax < 0 || f.RetryAfter < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if f.LatencyMax != 0 && f.LatencyMax < f.LatencyMin {
		errs = append(errs, errors.New("latencyMax: must not be below latencyMin"))
	}
	if f.MaxInFlightPerSession < 0 {
		errs = append(errs, errors.New("maxInFlightPerSession: must not be negative"))
	}
	return errors.Join(errs...)
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

// roll reports whether an event of the given probability happens.
func roll(rate float64) bool { return rate > 0 && rand.Float64() < rate }

func (f Faults) latency() time.Duration {
	if f.LatencyMax <= f.LatencyMin {
		return f.LatencyMin
	}
	return f.LatencyMin + rand.N(f.LatencyMax-f.LatencyMin+1)
}

// retryAfterHeader is whole seconds, rounded up and at least 1, since
// Retry-After cannot say less and 0 would invite a hot retry loop.
func (f Faults) retryAfterHeader() string {
	secs := max((f.RetryAfter+time.Second-1)/time.Second, 1)
	return strconv.FormatInt(int64(secs), 10)
}

func (f Faults) badToken(tok string) bool { return slices.Contains(f.BadTokens, tok) }

// faultsJSON is the wire form: durations as Go duration strings ("50ms"), and
// outageFor as a relative alternative to outageUntil (input only).
type faultsJSON struct {
	LatencyMin            string     `json:"latencyMin"`
	LatencyMax            string     `json:"latencyMax"`
	ErrorRate             float64    `json:"errorRate"`
	ErrorStatus           int        `json:"errorStatus"`
	ThrottleRate          float64    `json:"throttleRate"`
	RetryAfter            string     `json:"retryAfter"`
	BadTokens             []string   `json:"badTokens"`
	DropAckRate           float64    `json:"dropAckRate"`
	HangRate              float64    `json:"hangRate"`
	OutageUntil           *time.Time `json:"outageUntil,omitempty"`
	OutageFor             string     `json:"outageFor,omitempty"`
	MaxInFlightPerSession int        `json:"maxInFlightPerSession"`
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	j := faultsJSON{
		LatencyMin:            f.LatencyMin.String(),
		LatencyMax:            f.LatencyMax.String(),
		ErrorRate:             f.ErrorRate,
		ErrorStatus:           f.ErrorStatus,
		ThrottleRate:          f.ThrottleRate,
		RetryAfter:            f.RetryAfter.String(),
		BadTokens:             f.BadTokens,
		DropAckRate:           f.DropAckRate,
		HangRate:              f.HangRate,
		MaxInFlightPerSession: f.MaxInFlightPerSession,
	}
	if j.BadTokens == nil {
		j.BadTokens = []string{}
	}
	if !f.OutageUntil.IsZero() {
		j.OutageUntil = &f.OutageUntil
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the wire form. Absent fields are zero (the whole set is
// replaced, not merged); unknown fields are errors so a typo is not silently a
// no-op. outageFor is resolved against the clock at decoding time.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	var out Faults
	var errs []error
	dur := func(name, s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return d
	}
	out.LatencyMin = dur("latencyMin", j.LatencyMin)
	out.LatencyMax = dur("latencyMax", j.LatencyMax)
	out.RetryAfter = dur("retryAfter", j.RetryAfter)
	out.ErrorRate, out.ErrorStatus = j.ErrorRate, j.ErrorStatus
	out.ThrottleRate, out.DropAckRate, out.HangRate = j.ThrottleRate, j.DropAckRate, j.HangRate
	out.BadTokens = j.BadTokens
	out.MaxInFlightPerSession = j.MaxInFlightPerSession
	switch {
	case j.OutageUntil != nil && j.OutageFor != "":
		errs = append(errs, errors.New("outageUntil and outageFor are mutually exclusive"))
	case j.OutageUntil != nil:
		out.OutageUntil = *j.OutageUntil
	case j.OutageFor != "":
		if d := dur("outageFor", j.OutageFor); d > 0 {
			out.OutageUntil = time.Now().Add(d)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*f = out
	return nil
}
