package delivery

import (
	"testing"
	"time"

	"github.com/notifierd/notifierd/internal/event"
)

type learnedRoute struct {
	key, hint string
	at        int64
}

func testRouter(max int, clock *time.Time) (*Router, *[]learnedRoute) {
	r := NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", max)
	r.now = func() time.Time { return *clock }
	var heard []learnedRoute
	r.OnLearn(func(key, hint string, at int64) { heard = append(heard, learnedRoute{key, hint, at}) })
	return r, &heard
}

func visitor(tnt string) *event.Envelope {
	return &event.Envelope{Client: "acme", SessionID: "s-" + tnt, TntID: tnt}
}

// OnLearn hears a hint when it is new or changed, and again once it is RouteRefresh old, so
// a stored route never ages out while its visitor is being served.
func TestLearnReportsNewChangedAndRefreshedHints(t *testing.T) {
	clock := time.UnixMilli(1_000_000)
	r, heard := testRouter(10, &clock)
	steps := []struct {
		name    string
		advance time.Duration
		tnt     string
		edge    string
		want    string // hint OnLearn hears, "" for none
	}{
		{"first answer", 0, "a", "mboxedge35.tt.omtrdc.net", "35"},
		{"same edge again", time.Second, "a", "mboxedge35.tt.omtrdc.net", ""},
		{"another visitor", 0, "b", "mboxedge31.tt.omtrdc.net", "31"},
		{"edge changed", time.Second, "a", "mboxedge21.tt.omtrdc.net", "21"},
		{"not an edge host", 0, "a", "example.com", ""},
		{"same edge before the refresh", RouteRefresh - 2*time.Second, "a", "mboxedge21.tt.omtrdc.net", ""},
		{"same edge at the refresh", 2 * time.Second, "a", "mboxedge21.tt.omtrdc.net", "21"},
	}
	for _, st := range steps {
		clock = clock.Add(st.advance)
		before := len(*heard)
		r.Learn(visitor(st.tnt), st.edge)
		got := ""
		if len(*heard) > before {
			last := (*heard)[len(*heard)-1]
			got = last.hint
			if last.key != "tnt:"+st.tnt || last.at != clock.UnixMilli() {
				t.Errorf("%s: heard %+v, want key tnt:%s at %d", st.name, last, st.tnt, clock.UnixMilli())
			}
		}
		if got != st.want {
			t.Errorf("%s: OnLearn heard %q, want %q", st.name, got, st.want)
		}
	}
}

// An envelope carrying its own hint is routed by it; nothing is learned for it.
func TestLearnIgnoresEnvelopesWithTheirOwnHint(t *testing.T) {
	clock := time.UnixMilli(1_000_000)
	r, heard := testRouter(10, &clock)
	env := visitor("a")
	env.Hint = "34"
	r.Learn(env, "mboxedge35.tt.omtrdc.net")
	if len(*heard) != 0 {
		t.Fatalf("heard %+v", *heard)
	}
}

// Load keeps whichever route was learned last, whether by this process or by the one that
// stored it.
func TestLoadKeepsTheLatestRoute(t *testing.T) {
	clock := time.UnixMilli(1_000_000)
	for _, tc := range []struct {
		name      string
		learnedAt int64 // 0: nothing learned here
		storedAt  int64
		wantHint  string
		wantTaken bool
	}{
		{"nothing known", 0, 900_000, "stored", true},
		{"stored is older", 1_000_000, 900_000, "35", false},
		{"stored at the same time", 1_000_000, 1_000_000, "35", false},
		{"stored is newer", 1_000_000, 1_100_000, "stored", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := testRouter(10, &clock)
			if tc.learnedAt != 0 {
				clock = time.UnixMilli(tc.learnedAt)
				r.Learn(visitor("a"), "mboxedge35.tt.omtrdc.net")
			}
			if taken := r.Load("tnt:a", "stored", tc.storedAt); taken != tc.wantTaken {
				t.Errorf("Load taken = %v, want %v", taken, tc.wantTaken)
			}
			if hint, _ := r.Known("tnt:a"); hint != tc.wantHint {
				t.Errorf("hint %q, want %q", hint, tc.wantHint)
			}
			if got := r.URL(visitor("a")); got != "http://target/e/"+tc.wantHint+"/rest/v1/delivery?client=acme&sessionId=s-a" {
				t.Errorf("URL %s", got)
			}
		})
	}
}

// Loading never holds more visitors than the cache size.
func TestLoadIsBoundedByTheCacheSize(t *testing.T) {
	clock := time.UnixMilli(1_000_000)
	r, _ := testRouter(3, &clock)
	for i := range 10 {
		r.Load(string(rune('a'+i)), "35", int64(i+1))
	}
	if n := len(r.learned); n != 3 {
		t.Fatalf("%d visitors remembered, want 3", n)
	}
}
