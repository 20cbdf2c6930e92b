package retry

import (
	"net/http"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		status int
		want   bool
	}{
		{200, false}, {400, false}, {401, false}, {403, false}, {404, false}, {413, false},
		{408, true}, {420, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true},
	}
	for _, tt := range tests {
		if got := Retryable(tt.status); got != tt.want {
			t.Errorf("Retryable(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.header, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestBackOffIsCappedFullJitter(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	b := p.NewBackOff()
	ceiling := p.Initial
	for i := 0; i < 20; i++ {
		d := b.NextBackOff()
		if d <= 0 || d > ceiling {
			t.Fatalf("attempt %d: wait %v outside (0, %v]", i, d, ceiling)
		}
		ceiling = min(time.Duration(float64(ceiling)*2), p.Max)
	}
}

func TestBackOffJittersAcrossTheRange(t *testing.T) {
	p := Policy{Initial: time.Second, Max: time.Second, Multiplier: 2}
	b := p.NewBackOff()
	var low, high bool
	for i := 0; i < 1000; i++ {
		d := b.NextBackOff()
		low = low || d < 250*time.Millisecond
		high = high || d > 750*time.Millisecond
	}
	if !low || !high {
		t.Fatalf("1000 draws never reached both quarters of [0, 1s): low=%v high=%v", low, high)
	}
}

func TestWaitHonoursRetryAfterAndStops(t *testing.T) {
	p := Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2}
	d, ok := Wait(p.NewBackOff(), 5*time.Second)
	if !ok || d != 5*time.Second {
		t.Fatalf("Wait with Retry-After 5s = %v, %v", d, ok)
	}
	if _, ok := Wait(&backoff.StopBackOff{}, 0); ok {
		t.Fatal("Wait did not stop when the policy's time was up")
	}
}
