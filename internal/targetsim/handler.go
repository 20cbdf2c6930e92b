package targetsim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

const (
	deliveryPath  = "/rest/v1/delivery"
	controlPrefix = "/_sim/"
	// statusClientGone marks requests the client abandoned before the answer
	// (nginx's convention); nothing is written for them.
	statusClientGone = 499
	// statusSessionBusy is Target's answer when a session has too many
	// requests in flight.
	statusSessionBusy = 420
)

// reply is the answer to one request, decided before anything is written.
type reply struct {
	status  int
	message string // for errors
	header  http.Header
	body    []byte // nil: abort, write nothing (the client is gone)
	acked   []string
}

func errorReply(status int, message string) reply {
	b, _ := json.Marshal(struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}{status, message})
	return reply{status: status, message: message, body: b}
}

func (rep reply) write(w http.ResponseWriter) {
	if rep.body == nil {
		// The client is gone: abort rather than let the server send an
		// empty 200 on a connection that may still be alive (HTTP/2).
		panic(http.ErrAbortHandler)
	}
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// ServeHTTP serves POST <any prefix>/rest/v1/delivery and the control API
// under /_sim/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	route, isDelivery := strings.CutSuffix(r.URL.Path, deliveryPath)
	if !isDelivery {
		route = r.URL.Path
	}
	q := r.URL.Query()
	ex := s.begin(route, q)
	rep, d := s.deliver(r, ex, isDelivery)
	s.finish(ex, rep, d)
	s.log.Debug("targetsim request", zap.String("path", r.URL.Path), zap.String("sessionId", q.Get("sessionId")),
		zap.Int("status", rep.status), zap.Int("acked", len(rep.acked)), zap.String("message", rep.message))
	rep.write(w)
}

// deliver runs the checks in Target's order: outage, per-session concurrency,
// hang, latency, random 5xx/429, then validation. d is non-nil only for a 200.
func (s *Sim) deliver(r *http.Request, ex *exchange, isDelivery bool) (reply, *delivery) {
	if !isDelivery {
		return errorReply(http.StatusNotFound, fmt.Sprintf("no endpoint at %s (want POST .../rest/v1/delivery)", r.URL.Path)), nil
	}
	if r.Method != http.MethodPost {
		rep := errorReply(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed, use POST")
		rep.header = http.Header{"Allow": {http.MethodPost}}
		return rep, nil
	}
	f := s.Faults()
	// Read the whole body first so every answer, fault or not, leaves the
	// connection reusable and the request log complete.
	body, tooBig, err := readBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return errorReply(http.StatusBadRequest, "body: cannot read: "+err.Error()), nil
	}
	ex.body = body
	if time.Now().Before(f.OutageUntil) {
		return errorReply(http.StatusServiceUnavailable, "service unavailable (simulated outage)"), nil
	}
	if !s.enterSession(ex, ex.query.Get("sessionId"), f.MaxInFlightPerSession) {
		return errorReply(statusSessionBusy, "Too many requests with same session ID"), nil
	}
	ctx := r.Context()
	if roll(f.HangRate) {
		<-ctx.Done()
		return reply{status: statusClientGone, message: "client gave up on a hung request"}, nil
	}
	if err := sleep(ctx, f.latency()); err != nil {
		return reply{status: statusClientGone, message: "client gave up during latency"}, nil
	}
	if roll(f.ErrorRate) {
		return errorReply(f.ErrorStatus, "simulated server error"), nil
	}
	if roll(f.ThrottleRate) {
		rep := errorReply(http.StatusTooManyRequests, "simulated throttling")
		rep.header = http.Header{"Retry-After": {f.retryAfterHeader()}}
		return rep, nil
	}
	d, rej := validate(r, ex.query, body, tooBig, s.cfg.MaxNotifications, f)
	if rej != nil {
		return errorReply(rej.status, rej.message), nil
	}
	return s.accept(d, ex, f), d
}

// readBody reads up to limit bytes; a larger body is reported, not read, and
// answered 413 at validation time.
func readBody(r *http.Request, limit int64) (body []byte, tooBig bool, err error) {
	if r.ContentLength > limit {
		return nil, true, nil
	}
	body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	if int64(len(body)) > limit {
		return nil, true, nil
	}
	return body, false, err
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliveryResponse is Target's 200 for a notifications request.
type deliveryResponse struct {
	Status        int             `json:"status"`
	RequestID     string          `json:"requestId"`
	ID            json.RawMessage `json:"id,omitempty"`
	Client        string          `json:"client,omitempty"`
	EdgeHost      string          `json:"edgeHost"`
	Notifications []ackJSON       `json:"notifications"`
}

type ackJSON struct {
	ID string `json:"id"`
}

// accept builds the 200: every id acknowledged except those DropAckRate
// drops, in random order because Target does not promise one.
func (s *Sim) accept(d *delivery, ex *exchange, f Faults) reply {
	acked := make([]string, 0, len(d.notes))
	for _, n := range d.notes {
		if !roll(f.DropAckRate) {
			acked = append(acked, n.id)
		}
	}
	mrand.Shuffle(len(acked), func(i, j int) { acked[i], acked[j] = acked[j], acked[i] })
	resp := deliveryResponse{
		Status:        http.StatusOK,
		RequestID:     d.requestID,
		ID:            d.idRaw,
		Client:        clientOf(ex.route, ex.query),
		EdgeHost:      "mboxedge" + s.edgeHint(ex.route) + ".tt.omtrdc.net",
		Notifications: make([]ackJSON, len(acked)),
	}
	if resp.RequestID == "" {
		resp.RequestID = newUUID()
	}
	for i, id := range acked {
		resp.Notifications[i].ID = id
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return errorReply(http.StatusInternalServerError, "encoding response: "+err.Error())
	}
	return reply{status: http.StatusOK, body: b, acked: acked}
}

// routeParam finds the value after key in a route such as "/c/acme/e/21".
func routeParam(route, key string) string {
	segs := strings.Split(strings.Trim(route, "/"), "/")
	for i := 0; i+1 < len(segs); i += 2 {
		if segs[i] == key {
			return segs[i+1]
		}
	}
	return ""
}

// clientOf is the client code: the client query parameter (as in Adobe's curl
// examples) or the /c/{client} route standing in for {client}.tt.omtrdc.net.
func clientOf(route string, q url.Values) string {
	if c := q.Get("client"); c != "" {
		return c
	}
	return routeParam(route, "c")
}

// edgeHint is the /e/{hint} of a request routed to an edge, else the default.
func (s *Sim) edgeHint(route string) string {
	if h := routeParam(route, "e"); h != "" {
		return h
	}
	return s.cfg.DefaultEdgeHint
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
