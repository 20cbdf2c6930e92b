package delivery

import (
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/notifierd/notifierd/internal/event"
)

// Router picks each request's URL: the visitor's edge when a location hint is known, the
// client's host otherwise. Hints are kept per visitor, not per process as the SDKs do,
// because one daemon serves visitors of every edge.
type Router struct {
	clientURL []string // template split at {client}
	edgeURL   []string // template split at {hint}
	imsOrgID  string
	maxHints  int

	now func() time.Time
	// onLearn hears of each hint learned anew (kafka.routesTopic's writer); nil: nobody.
	onLearn func(key, hint string, at int64)

	mu      sync.RWMutex
	learned map[string]route // visitor key -> hint from the last response's edgeHost
}

// route is a visitor's hint and when it was learned, in ms since the epoch.
type route struct {
	hint string
	at   int64
}

// RouteRefresh is how old a visitor's learned hint may get before an answer naming the same
// edge is reported to OnLearn again: a route store that ignores routes older than Target's
// session (30 minutes) then never ignores the route of a visitor still being served.
const RouteRefresh = 10 * time.Minute

// NewRouter takes the URL templates of the configuration and a bound on remembered visitors.
func NewRouter(clientURL, edgeURL, imsOrgID string, maxHints int) *Router {
	return &Router{
		clientURL: strings.Split(clientURL, "{client}"), edgeURL: strings.Split(edgeURL, "{hint}"),
		imsOrgID: imsOrgID, maxHints: maxHints, learned: make(map[string]route), now: time.Now,
	}
}

// OnLearn has fn called with each hint learned for a visitor that had none or another one
// (and with a known hint again once it is RouteRefresh old), outside the router's lock. fn
// must not block: it runs on the path of Target's answers. Set it before the router is used.
func (r *Router) OnLearn(fn func(key, hint string, at int64)) { r.onLearn = fn }

// Load takes a route learned earlier, by this process or another: hint for the visitor key
// since at (ms since the epoch). It replaces what the router knows of the visitor only when
// that was learned before at, so a hint this process learned after the stored one wins. It
// reports whether the route was taken.
func (r *Router) Load(key, hint string, at int64) bool {
	if key == "" || hint == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if known, ok := r.learned[key]; ok && known.at >= at {
		return false
	}
	r.store(key, route{hint: hint, at: at})
	return true
}

// Known returns the hint learned for a visitor key, and when; for tests and tools.
func (r *Router) Known(key string) (hint string, at int64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rt := r.learned[key]
	return rt.hint, rt.at
}

// URL is where a request for env goes, with its query.
func (r *Router) URL(env *event.Envelope) string {
	hint := env.Hint
	if hint == "" {
		r.mu.RLock()
		hint = r.learned[env.VisitorKey()].hint
		r.mu.RUnlock()
	}
	// url.Values.Encode's output (keys sorted) built in a buffer that stays on the stack
	// for usual lengths: the string returned is the only allocation here.
	b := make([]byte, 0, 256)
	if hint != "" {
		b = appendReplaced(b, r.edgeURL, hint)
	} else {
		b = appendReplaced(b, r.clientURL, env.Client)
	}
	if len(b) > 0 && b[len(b)-1] == '/' {
		b = b[:len(b)-1]
	}
	b = append(b, "/rest/v1/delivery?client="...)
	b = append(b, url.QueryEscape(env.Client)...) // allocates only when escaping
	if r.imsOrgID != "" {
		b = append(b, "&imsOrgId="...)
		b = append(b, url.QueryEscape(r.imsOrgID)...)
	}
	b = append(b, "&sessionId="...)
	b = append(b, url.QueryEscape(env.SessionID)...)
	return string(b)
}

// appendReplaced appends the template split into parts with value between the parts.
func appendReplaced(b []byte, parts []string, value string) []byte {
	for i, p := range parts {
		if i > 0 {
			b = append(b, value...)
		}
		b = append(b, p...)
	}
	return b
}

// Learn remembers the edge a response named for env's visitor.
func (r *Router) Learn(env *event.Envelope, edgeHost string) {
	hint := HintFromEdgeHost(edgeHost)
	if hint == "" || env.Hint != "" {
		return
	}
	key := env.VisitorKey()
	// Nearly every response names the edge already learned: a read lock settles that
	// without serializing the workers.
	r.mu.RLock()
	known := r.learned[key]
	r.mu.RUnlock()
	if known.hint == hint && (r.onLearn == nil || !r.stale(known)) {
		return
	}
	now := r.now().UnixMilli()
	r.mu.Lock()
	if known = r.learned[key]; known.hint == hint && (r.onLearn == nil || now-known.at < RouteRefresh.Milliseconds()) {
		r.mu.Unlock()
		return
	}
	r.store(key, route{hint: hint, at: now})
	r.mu.Unlock()
	if r.onLearn != nil {
		r.onLearn(key, hint, now)
	}
}

// stale reports whether a known route is due to be reported again.
func (r *Router) stale(known route) bool {
	return r.now().UnixMilli()-known.at >= RouteRefresh.Milliseconds()
}

// store sets key's route; the caller holds the write lock.
func (r *Router) store(key string, rt route) {
	if _, ok := r.learned[key]; !ok && len(r.learned) >= r.maxHints {
		for k := range r.learned { // evict an arbitrary visitor: cheap and good enough
			delete(r.learned, k)
			break
		}
	}
	r.learned[key] = rt
}

// HintFromEdgeHost reads the cluster number out of an edgeHost such as
// `mboxedge21.tt.omtrdc.net`.
func HintFromEdgeHost(edgeHost string) string {
	host, _, _ := strings.Cut(edgeHost, ".")
	hint, ok := strings.CutPrefix(host, "mboxedge")
	if !ok || hint == "" {
		return ""
	}
	for i := 0; i < len(hint); i++ {
		c := hint[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return ""
		}
	}
	return hint
}
