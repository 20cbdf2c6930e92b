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
	clientURL string // template with {client}
	edgeURL   string // template with {hint}
	imsOrgID  string
	maxHints  int

	mu      sync.RWMutex
	learned map[string]string // visitor key -> hint from the last response's edgeHost
}

// NewRouter takes the URL templates of the configuration and a bound on remembered visitors.
func NewRouter(clientURL, edgeURL, imsOrgID string, maxHints int) *Router {
	return &Router{clientURL: clientURL, edgeURL: edgeURL, imsOrgID: imsOrgID, maxHints: maxHints, learned: make(map[string]string)}
}

// URL is where a request for env goes, with its query.
func (r *Router) URL(env *event.Envelope) string {
	hint := env.Hint
	if hint == "" {
		r.mu.RLock()
		hint = r.learned[env.VisitorKey()]
		r.mu.RUnlock()
	}
	var base string
	if hint != "" {
		base = strings.ReplaceAll(r.edgeURL, "{hint}", hint)
	} else {
		base = strings.ReplaceAll(r.clientURL, "{client}", env.Client)
	}
	q := url.Values{"client": {env.Client}, "sessionId": {env.SessionID}}
	if r.imsOrgID != "" {
		q.Set("imsOrgId", r.imsOrgID)
	}
	return strings.TrimSuffix(base, "/") + "/rest/v1/delivery?" + q.Encode()
}

// Learn remembers the edge a response named for env's visitor.
func (r *Router) Learn(env *event.Envelope, edgeHost string) {
	hint := HintFromEdgeHost(edgeHost)
	if hint == "" || env.Hint != "" {
		return
	}
	key := env.VisitorKey()
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
