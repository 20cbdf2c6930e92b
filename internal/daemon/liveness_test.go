package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/delivery"
)

// at is a fake clock's reading, ago before now; 0 stands for "never".
type at time.Duration

func TestLiveness(t *testing.T) {
	const stall, maxWait = 10 * time.Minute, 30 * time.Second
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ago := func(a at) time.Time {
		if a == 0 {
			return time.Time{}
		}
		return now.Add(-time.Duration(a))
	}
	tests := []struct {
		name     string
		pending  int
		idle     at // a check found nothing pending then
		progress at
		answer   at
		told     time.Duration // Retry-After end relative to now (negative: past); 0: none
		wantErr  string        // "" alive
		wantNote string
	}{
		{name: "nothing pending", pending: 0, progress: at(time.Hour)},
		{name: "progressing", pending: 5, progress: at(time.Minute), answer: at(time.Second)},
		{name: "Target failing, answers keep coming", pending: 5, progress: at(11 * time.Minute), answer: at(2 * time.Second),
			wantNote: "Target failing: nothing acknowledged for 11m0s with 5 events pending; retrying, last answer 2s ago"},
		{name: "a lone session in its longest backoff", pending: 1, progress: at(time.Hour), answer: at(stall + maxWait - time.Second),
			wantNote: "Target failing"},
		{name: "waiting out a Retry-After longer than the stall timeout", pending: 3, progress: at(time.Hour), answer: at(25 * time.Minute),
			told: 5 * time.Minute, wantNote: "last answer 25m0s ago"},
		{name: "a Retry-After ended within the stall timeout", pending: 3, progress: at(time.Hour), answer: at(25 * time.Minute),
			told: -9 * time.Minute, wantNote: "Target failing"},
		{name: "nothing answered past the backoff", pending: 3, progress: at(time.Hour), answer: at(stall + maxWait + time.Second),
			wantErr: "stuck: no progress for 1h0m0s with 3 events pending, and no Target request answered for 10m31s"},
		{name: "a Retry-After that ended long ago", pending: 3, progress: at(time.Hour), answer: at(40 * time.Minute),
			told: -11 * time.Minute, wantErr: "no Target request answered for 40m0s"},
		{name: "never answered", pending: 3, progress: at(11 * time.Minute),
			wantErr: "no progress for 11m0s with 3 events pending, and no Target request answered since start"},
		{name: "work arriving after a quiet hour is timed from the quiet", pending: 3, idle: at(time.Minute), progress: at(time.Hour)},
		{name: "and is caught once stuck", pending: 3, idle: at(stall + time.Second), progress: at(time.Hour),
			wantErr: "no progress for 10m1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := ago(tt.idle)
			pending := 0
			l := &liveness{
				stall: stall, maxWait: maxWait, now: func() time.Time { return clock },
				pending:  func() int { return pending },
				progress: func() time.Time { return ago(tt.progress) },
				answer:   func() time.Time { return ago(tt.answer) },
				told: func() time.Time {
					if tt.told == 0 {
						return time.Time{}
					}
					return now.Add(tt.told)
				},
			}
			if tt.idle != 0 {
				if note, err := l.check(); note != "" || err != nil {
					t.Fatalf("idle check: %q, %v", note, err)
				}
			}
			clock, pending = now, tt.pending
			note, err := l.check()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("stuck: %v, want alive", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr != "" && note != "":
				t.Errorf("note %q on a stuck process", note)
			}
			if !strings.Contains(note, tt.wantNote) || (tt.wantNote == "") != (note == "") {
				t.Errorf("note %q, want %q", note, tt.wantNote)
			}
		})
	}
}

// toldWait keeps the latest end of the waits Target asked for, and nothing else.
func TestToldWait(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	w := &toldWait{now: func() time.Time { return now }}
	answers := []error{
		&delivery.Error{Status: 429, Retryable: true, RetryAfter: 20 * time.Minute},
		&delivery.Error{Status: 503, Retryable: true, RetryAfter: time.Minute}, // shorter: the longer one stands
		&delivery.Error{Status: 503, Retryable: true},
		errors.New("not a delivery error"),
		nil,
	}
	for _, answer := range answers {
		send := w.observe(func(context.Context, string, []byte) (*delivery.Response, error) { return nil, answer })
		if _, err := send(context.Background(), "u", nil); err != answer {
			t.Fatalf("observe changed the answer: %v, want %v", err, answer)
		}
	}
	if got, want := w.end(), now.Add(20*time.Minute); !got.Equal(want) {
		t.Errorf("end %v, want %v", got, want)
	}
	if !(&toldWait{}).end().IsZero() {
		t.Error("end before any Retry-After is not zero")
	}
}
