package retry

import (
	"net/http"
	"strconv"
	"time"
)

// Retryable reports whether an HTTP status is worth another attempt: timeouts, Target's
// 420 for concurrent requests of one session, throttling and server errors. Every other
// 4xx says the request itself is wrong and will be wrong again.
func Retryable(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == 420, status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return true
	default:
		return false
	}
}

// RetryAfter parses a Retry-After header (delay-seconds or an HTTP date); 0 when absent
// or unparseable.
func RetryAfter(header string, now time.Time) time.Duration {
	if header == "" {
		return 0
	}
	if secs, err := strconv.Atoi(header); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(header); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
