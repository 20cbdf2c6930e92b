package delivery

// Tests of the per-request shortcuts against the plain code they replace.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/retry"
)

// referenceURL is Router.URL as it was written before it built the string by hand.
func referenceURL(clientURL, edgeURL, imsOrgID string, env *event.Envelope, hint string) string {
	var base string
	if hint != "" {
		base = strings.ReplaceAll(edgeURL, "{hint}", hint)
	} else {
		base = strings.ReplaceAll(clientURL, "{client}", env.Client)
	}
	q := url.Values{"client": {env.Client}, "sessionId": {env.SessionID}}
	if imsOrgID != "" {
		q.Set("imsOrgId", imsOrgID)
	}
	return strings.TrimSuffix(base, "/") + "/rest/v1/delivery?" + q.Encode()
}

func TestRouterURLMatchesValuesEncode(t *testing.T) {
	templates := []struct{ client, edge string }{
		{"https://{client}.tt.omtrdc.net", "https://mboxedge{hint}.tt.omtrdc.net"},
		{"https://{client}.tt.omtrdc.net/", "https://mboxedge{hint}.tt.omtrdc.net/"},
		{"http://127.0.0.1:8080/c/{client}/", "http://127.0.0.1:8080/e/{hint}//"},
		{"http://sim/{client}/{client}", "http://sim/{hint}-{hint}"},
		{"http://fixed", "http://fixed-edge"},
		{"{client}", "{hint}"},
	}
	envs := []*event.Envelope{
		{Client: "acme", SessionID: "s-1"},
		{Client: "acme", SessionID: "a b&c=d?e#f/é+%", Hint: "35"},
		{Client: "", SessionID: ""},
		{Client: "ac me/x", SessionID: "s", TntID: "t1"},
	}
	for _, tpl := range templates {
		for _, org := range []string{"", "ABC@AdobeOrg", "a&b"} {
			for _, env := range envs {
				r := NewRouter(tpl.client, tpl.edge, org, 10)
				if got, want := r.URL(env), referenceURL(tpl.client, tpl.edge, org, env, env.Hint); got != want {
					t.Errorf("URL(%+v) with %v, org %q = %q, want %q", env, tpl, org, got, want)
				}
				if env.TntID != "" {
					r.Learn(env, "mboxedge21.tt.omtrdc.net")
					if got, want := r.URL(env), referenceURL(tpl.client, tpl.edge, org, env, "21"); got != want {
						t.Errorf("learned URL = %q, want %q", got, want)
					}
				}
			}
		}
	}
}

func TestWriteStringMatchesMarshal(t *testing.T) {
	for _, s := range []string{"", "abc", "v-1f0e.35_0", `a"b`, `a\b`, "<script>&", "tab\there", "\x00\x1f\x7f", "é✓", "\u2028\u2029", "\xff\xfe", strings.Repeat("x", 1000)} {
		var b bytes.Buffer
		writeString(&b, s)
		want, _ := json.Marshal(s)
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("writeString(%q) = %s, want %s", s, b.Bytes(), want)
		}
	}
}

func TestReadBodyMatchesReadAll(t *testing.T) {
	long := strings.Repeat("0123456789", 20000) // beyond the presized buffer
	for _, tt := range []struct {
		name          string
		body          string
		contentLength int64
		limit         int64
	}{
		{"length known", `{"notifications":[]}`, 20, 1 << 20},
		{"length unknown", `{"notifications":[]}`, -1, 1 << 20},
		{"empty", ``, 0, 1 << 20},
		{"long, length known", long, int64(len(long)), 1 << 20},
		{"long, length unknown", long, -1, 1 << 20},
		{"length understated", long, 10, 1 << 20},
		{"length overstated", `{}`, 1000, 1 << 20},
		{"at the limit", long, int64(len(long)), int64(len(long))},
		{"over the limit", long, int64(len(long)), 1000},
		{"over the limit, length unknown", long, -1, 513},
		{"limit zero", long, -1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]func() io.Reader{
				"whole":    func() io.Reader { return strings.NewReader(tt.body) },
				"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(tt.body)) },
				"data+EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(tt.body)) },
			}
			for name, r := range readers {
				got, err := readBody(r(), tt.contentLength, tt.limit)
				want, wantErr := io.ReadAll(io.LimitReader(r(), tt.limit))
				if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
					t.Errorf("%s: %d bytes, %v; ReadAll %d bytes, %v", name, len(got), err, len(want), wantErr)
				}
			}
		})
	}
	boom := errors.New("boom")
	if _, err := readBody(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("abc"))), 3, 100); err == nil {
		t.Error("a read error was lost")
	}
	if _, err := readBody(iotest.ErrReader(boom), -1, 100); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

// The backoff is made on a batch's first failure, but its time limit still counts from the
// batch's start.
func TestLazyBackOffCountsFromTheBatchStart(t *testing.T) {
	d := &Dispatcher{cfg: Config{Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2, MaxElapsed: time.Minute}}}
	if _, ok := retry.Wait(d.newBackOff(time.Now()), 0); !ok {
		t.Error("a batch that just started gave up")
	}
	if _, ok := retry.Wait(d.newBackOff(time.Now().Add(-time.Minute)), 0); ok {
		t.Error("a batch past the time limit was retried")
	}
	if _, ok := retry.Wait(d.newBackOff(time.Now().Add(-time.Minute+time.Second)), 0); !ok {
		t.Error("a batch a second short of the time limit gave up")
	}
	d.cfg.Retry.MaxElapsed = 0
	if _, ok := retry.Wait(d.newBackOff(time.Now().Add(-time.Hour)), 0); !ok {
		t.Error("no time limit gave up")
	}
}

// The cached metric children export exactly what WithLabelValues per item did: no series
// for a label value never used.
func TestDispatcherMetricsSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	o := newOutcome()
	var calls atomic.Int32
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		if calls.Add(1) == 1 {
			return nil, &Error{Status: 503, Retryable: true, Reason: "503"}
		}
		return ackAll(idsOf(t, body)), nil
	}
	router := NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", 100)
	d := NewDispatcher(Config{MaxPerEdge: 1, MaxNotifications: 50, MaxSessions: 10, Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2}},
		send, router, deadLetterFunc(o.deadLetter), m, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	display := o.item(t, "s", "a")
	display.Notification.Type = "display"
	d.Submit(batchOf(display, o.item(t, "s", "b"), o.item(t, "s", "c")))
	o.waitFinished(t, 3)

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	requests, delivered := map[string]uint64{}, map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "notifierd_request_duration_seconds":
				requests[s.GetLabel()[0].GetValue()] = s.GetHistogram().GetSampleCount()
			case "notifierd_notifications_delivered_total":
				delivered[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	if len(delivered) != 2 || delivered["click"] != 2 || delivered["display"] != 1 {
		t.Errorf("delivered by type = %v, want 2 clicks and 1 display", delivered)
	}
	if len(requests) != 2 || requests["5xx"] != 1 || requests["2xx"] != 1 {
		t.Errorf("request durations by class = %v, want one 5xx and one 2xx only", requests)
	}
}

func TestDropStaleKeepsOrderAndSettlesStale(t *testing.T) {
	o := newOutcome()
	var items []*batch.Item
	for i, stale := range []bool{false, true, false, true, false} {
		it := o.item(t, "s", string(rune('a'+i)))
		var h lease.Holder = releaseFunc(func(*lease.Lease, lease.Outcome) { o.finished <- "x" })
		if stale {
			h = givenUp(func(*lease.Lease, lease.Outcome) { o.finished <- "x" })
		}
		items = append(items, batch.NewItem(it.Notification, it.Source, nil, nil, lease.New(h, int64(i))))
	}
	fresh := []*batch.Item{items[0], items[2], items[4]}
	if got := dropStale(fresh); len(got) != 3 || &got[0] != &fresh[0] {
		t.Errorf("nothing stale: got %d items in a new slice, want the part itself", len(got))
	}
	got := dropStale(items)
	if len(got) != 3 || got[0] != items[0] || got[1] != items[2] || got[2] != items[4] {
		t.Fatalf("got %v", got)
	}
	o.waitFinished(t, 2) // the stale ones settled
}
