package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/notifierd/notifierd/pkg/notify"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// kafka-go's and kfake's idle-connection reapers end shortly after Close.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
	)
}

// writeFunc is a fake publish.Writer.
type writeFunc func(ctx context.Context, msgs ...kafka.Message) error

func (f writeFunc) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	return f(ctx, msgs...)
}
func (f writeFunc) Close() error { return nil }

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func display(session string) notify.Event {
	return notify.Event{
		Type:      notify.TypeDisplay,
		Timestamp: now.Add(-time.Second).UnixMilli(),
		SessionID: session,
		TntID:     "338e3c1e51f7416a8e1ccba4f81acea0.28_0",
		Mbox:      &notify.Mbox{Name: "product1", State: "J+W+ROOT"},
		Tokens:    []string{"EnW8Sfqg7JpA4TxP2dtrWGqipfsIHvVzTQxHolz2IpSCnQ9Y9OaLL2gsdrWQTvE54PwSz67rmXWmSnkXpSSS2Q=="},
	}
}

func TestPublishKeysAndEncodes(t *testing.T) {
	cookie := "session#cookie-session#" + jsonInt(now.Add(time.Hour).Unix()) + "|PC#cookie-tnt.28_0#" + jsonInt(now.Add(time.Hour).Unix())
	fromCookie := display("")
	fromCookie.TntID, fromCookie.TargetCookie = "", cookie
	explicitWins := display("explicit")
	explicitWins.TargetCookie = cookie
	withURL := display("s1")
	withURL.Address = &notify.Address{URL: "https://shop.example/p?a=1&b=<2>"}

	tests := []struct {
		name    string
		ev      notify.Event
		wantKey string
		inValue string // a fragment of the exact JSON
	}{
		{"sessionId is the key", display("s1"), "s1", `"type":"display","timestamp":` + jsonInt(now.Add(-time.Second).UnixMilli()) + `,"sessionId":"s1"`},
		{"mbox and tokens in contract names", display("s1"), "s1", `"mbox":{"name":"product1","state":"J+W+ROOT"},"tokens":["EnW8`},
		{"cookie session is the key", fromCookie, "cookie-session", `"targetCookie":"session#cookie-session#`},
		{"explicit sessionId wins over the cookie", explicitWins, "explicit", `"sessionId":"explicit"`},
		{"no HTML escaping", withURL, "s1", `"url":"https://shop.example/p?a=1&b=<2>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []kafka.Message
			p := publish.New(writeFunc(func(_ context.Context, msgs ...kafka.Message) error {
				got = append(got, msgs...)
				return nil
			}), publish.WithClock(func() time.Time { return now }))
			if err := p.Publish(context.Background(), tt.ev); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("wrote %d messages, want 1", len(got))
			}
			if string(got[0].Key) != tt.wantKey {
				t.Errorf("key %q, want %q", got[0].Key, tt.wantKey)
			}
			if !strings.Contains(string(got[0].Value), tt.inValue) {
				t.Errorf("value %s does not contain %s", got[0].Value, tt.inValue)
			}
			var back notify.Event
			dec := json.NewDecoder(strings.NewReader(string(got[0].Value)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&back); err != nil {
				t.Fatalf("value does not decode as an Event: %v", err)
			}
			want, _ := json.Marshal(tt.ev)
			again, _ := json.Marshal(back)
			if string(want) != string(again) {
				t.Errorf("round trip changed the event:\n got %s\nwant %s", again, want)
			}
		})
	}
}

func TestPublishRejectsBeforeSending(t *testing.T) {
	noTokens := display("s1")
	noTokens.Tokens = nil
	badContext := display("s1")
	badContext.Context = json.RawMessage(`{"channel":`)
	big := display("s1")
	big.Parameters = map[string]string{"p": strings.Repeat("x", 300)}
	expired := display("")
	expired.TargetCookie = "session#old#1"

	tests := []struct {
		name    string
		events  []notify.Event
		opts    []publish.Option
		field   string
		message string
	}{
		{"missing tokens", []notify.Event{noTokens}, nil, "tokens", "publish: invalid event, nothing published: tokens: at least one"},
		{"one bad among many", []notify.Event{display("a"), noTokens, display("b")}, nil, "tokens", "1 of 3 events invalid, nothing published: event 1: tokens"},
		{"malformed context", []notify.Event{badContext}, nil, "context", "context: is not valid JSON"},
		{"over the size bound", []notify.Event{big}, []publish.Option{publish.WithMaxBytes(300)}, "event", "the limit is 300"},
		{"expired cookie gives no session", []notify.Event{expired}, nil, "sessionId", "sessionId: required"},
		{"timestamp beyond the limits", []notify.Event{display("s1")}, []publish.Option{publish.WithClock(func() time.Time { return now.Add(30 * 24 * time.Hour) })}, "timestamp", "in the past"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]publish.Option{publish.WithClock(func() time.Time { return now })}, tt.opts...)
			p := publish.New(writeFunc(func(context.Context, ...kafka.Message) error {
				t.Error("an invalid batch reached the writer")
				return nil
			}), opts...)
			err := p.Publish(context.Background(), tt.events...)
			var inv *publish.InvalidError
			var ve *notify.ValidationError
			if !errors.As(err, &inv) || !errors.As(err, &ve) {
				t.Fatalf("error %v is not an *InvalidError wrapping a *ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("field %q, error %q; want field %q, mentioning %q", ve.Field, err, tt.field, tt.message)
			}
		})
	}
}

func TestPublishWriterFailureAndNothingToDo(t *testing.T) {
	calls := 0
	p := publish.New(writeFunc(func(context.Context, ...kafka.Message) error {
		calls++
		return kafka.LeaderNotAvailable
	}), publish.WithClock(func() time.Time { return now }))
	if err := p.Publish(context.Background()); err != nil || calls != 0 {
		t.Fatalf("Publish() = %v after %d writes; want nil, none", err, calls)
	}
	err := p.Publish(context.Background(), display("a"), display("b"))
	if !errors.Is(err, kafka.LeaderNotAvailable) || !strings.Contains(err.Error(), "publishing 2 events") {
		t.Fatalf("error %v should wrap the writer's and say what was being published", err)
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }
