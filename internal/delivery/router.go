package delivery

import (
	"net/url"
	"strings"
	"sync"

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

	mu      sync.RWMutex
	learned map[string]string // visitor key -> hint from the last response's edgeHost
}

// NewRouter takes the URL templates of the configuration and a bound on remembered visitors.
func NewRouter(clientURL, edgeURL, imsOrgID string, maxHints int) *Router {
	return &Router{
		clientURL: strings.Split(clientURL, "{client}"), edgeURL: strings.Split(edgeURL, "{hint}"),
		imsOrgID: imsOrgID, maxHints: maxHints, learned: make(map[string]string),
	}
}

// URL is where a request for env goes, with its query.
func (r *Router) URL(env *event.Envelope) string {
	hint := env.Hint
	if hint == "" {
		r.mu.RLock()
		hint = r.learned[env.VisitorKey()]
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
	known := r.learned[key] == hint
	r.mu.RUnlock()
	if known {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.learned[key] == hint {
		return
	}
	if len(r.learned) >= r.maxHints {
		for k := range r.learned { // evict an arbitrary visitor: cheap and good enough
			delete(r.learned, k)
			break
		}
	}
	r.learned[key] = hint
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
