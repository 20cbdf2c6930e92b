package delivery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClientClassifiesResponses(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		retryable  bool
		retryAfter time.Duration
		message    string
		acked      int
	}{
		{"200 with acks", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"status":200,"edgeHost":"mboxedge31.tt.omtrdc.net","notifications":[{"id":"a"},{"id":"b"}]}`))
		}, 0, false, 0, "", 2},
		{"400 carries Target's message", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(400)
			w.Write([]byte(`{"status":400,"message":"Invalid token"}`))
		}, 400, false, 0, "Invalid token", 0},
		{"429 with Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, 429, true, 7 * time.Second, "", 0},
		{"420 is retryable", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(420) }, 420, true, 0, "", 0},
		{"503 is retryable", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, 503, true, 0, "", 0},
		{"404 is permanent", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) }, 404, false, 0, "", 0},
		{"unreadable 200 is retried", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`<html>`)) }, 200, true, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c := &Client{HTTP: srv.Client(), Timeout: time.Second}
			resp, err := c.Send(context.Background(), srv.URL, []byte(`{}`))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Acked) != tt.acked || resp.EdgeHost != "mboxedge31.tt.omtrdc.net" {
					t.Fatalf("response = %+v", resp)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Status != tt.wantStatus || e.Retryable != tt.retryable || e.RetryAfter != tt.retryAfter || (tt.message != "" && e.Message != tt.message) {
				t.Fatalf("got %+v", e)
			}
		})
	}
}

func TestClientTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &Client{HTTP: srv.Client(), Timeout: 50 * time.Millisecond}
	_, err := c.Send(context.Background(), srv.URL, []byte(`{}`))
	var e *Error
	if !errors.As(err, &e) || !e.Retryable || e.Reason != "timeout" {
		t.Fatalf("err = %#v, want a retryable timeout", err)
	}
}

func TestHintFromEdgeHost(t *testing.T) {
	for host, want := range map[string]string{
		"mboxedge21.tt.omtrdc.net": "21", "mboxedge35.tt.omtrdc.net": "35", "acme.tt.omtrdc.net": "", "": "", "mboxedge.tt.omtrdc.net": "",
	} {
		if got := HintFromEdgeHost(host); got != want {
			t.Errorf("HintFromEdgeHost(%q) = %q, want %q", host, got, want)
		}
	}
}
