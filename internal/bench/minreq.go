package bench

import (
	"cmp"
	"slices"
)

// Stamp is when an event of a session was produced (ms since the epoch) and which session it
// belongs to: all the minimum-requests computation needs.
type Stamp struct {
	Session int32
	TS      int64
}

// MinRequests is the fewest requests that can carry a workload when a request holds at most
// maxPer notifications of one session.
//
// Linger is the minimum for a sender that may hold an event at most linger before sending
// it: each session's events, in time order, fall into windows that open at an event and take
// every later event at most linger after it; a window needs ceil(count/maxPer) requests.
// PerSession is the plain minimum with no time bound: the sum over sessions of
// ceil(events/maxPer).
func MinRequests(stamps []Stamp, lingerMs int64, maxPer int) (linger, perSession int64) {
	if len(stamps) == 0 || maxPer < 1 {
		return 0, 0
	}
	s := slices.Clone(stamps)
	slices.SortFunc(s, func(a, b Stamp) int {
		if c := cmp.Compare(a.Session, b.Session); c != 0 {
			return c
		}
		return cmp.Compare(a.TS, b.TS)
	})
	ceil := func(n int64) int64 { return (n + int64(maxPer) - 1) / int64(maxPer) }
	var sessionCount, windowCount int64
	windowStart := s[0].TS
	for i, st := range s {
		if i > 0 && st.Session != s[i-1].Session {
			linger += ceil(windowCount)
			perSession += ceil(sessionCount)
			sessionCount, windowCount, windowStart = 0, 0, st.TS
		}
		if st.TS-windowStart > lingerMs {
			linger += ceil(windowCount)
			windowCount, windowStart = 0, st.TS
		}
		sessionCount++
		windowCount++
	}
	linger += ceil(windowCount)
	perSession += ceil(sessionCount)
	return linger, perSession
}
