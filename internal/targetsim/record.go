package targetsim

import (
	"encoding/json"
	"maps"
	"net/url"
	"time"
)

// Received is one acknowledged notification, keyed by its id.
type Received struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	SessionID    string    `json:"sessionId"`
	Client       string    `json:"client"`
	Route        string    `json:"route"`
	VisitorID    string    `json:"visitorId"`
	ImpressionID string    `json:"impressionId,omitempty"`
	Tokens       []string  `json:"tokens"`
	Timestamp    int64     `json:"timestamp"` // the notification's timestamp (ms)
	Count        int       `json:"count"`     // times acknowledged (>1 = duplicate delivery)
	FirstAck     time.Time `json:"firstAck"`
	// FirstArrival is when the request of the first acknowledgement arrived: FirstAck minus
	// it is the simulator's part of the delay (its latency, and waiting for a CPU).
	FirstArrival time.Time       `json:"firstArrival"`
	Notification json.RawMessage `json:"notification"`      // the notification object as received (first time)
	Request      json.RawMessage `json:"request,omitempty"` // the request without notifications; nil unless RecordRequests
}

// Request is one answered request to the delivery endpoint (or to a path the
// simulator does not serve), accepted or rejected.
type Request struct {
	Route     string          `json:"route"` // the URL path prefix before /rest/v1/delivery, e.g. "/c/acme" or "/e/21" (for a 404, the whole path)
	Query     url.Values      `json:"query"`
	SessionID string          `json:"sessionId"`
	Status    int             `json:"status"` // 499: the client gave up first (nothing was sent)
	IDs       []string        `json:"ids"`    // notification ids in the request
	Acked     []string        `json:"acked"`  // ids acknowledged in the response
	Message   string          `json:"message,omitempty"`
	Body      json.RawMessage `json:"body"` // a body that is not JSON is kept as a JSON string
	At        time.Time       `json:"at"`   // arrival
}

// Stats are the simulator's counters. Requests counts answered requests, so
// Requests is the sum of Status at every snapshot.
type Stats struct {
	Requests      int64         `json:"requests"`
	Accepted      int64         `json:"accepted"`
	Status        map[int]int64 `json:"status"`        // count per HTTP status returned (499: client gave up)
	Notifications int64         `json:"notifications"` // acknowledged notifications, duplicates included
	Unique        int64         `json:"unique"`        // distinct ids acknowledged
	Duplicates    int64         `json:"duplicates"`    // acknowledgements of an id already acknowledged
	MaxPerRequest int           `json:"maxPerRequest"` // most notifications seen in one accepted request
	InFlight      int64         `json:"inFlight"`      // requests currently being handled
	SessionBusy   int64         `json:"sessionBusy"`   // of those, the ones counted against their session (past the 420 check)
}

// exchange tracks one request from arrival to answer.
type exchange struct {
	gen     uint64
	at      time.Time
	route   string
	query   url.Values
	session string // non-empty once counted in Sim.sessions
	body    []byte
	rec     *Request // nil unless RecordRequests
}

// begin counts the request in flight and, when recording, reserves its place
// in arrival order.
func (s *Sim) begin(route string, q url.Values) *exchange {
	ex := &exchange{at: time.Now(), route: route, query: q}
	s.mu.Lock()
	defer s.mu.Unlock()
	ex.gen = s.gen
	s.stats.InFlight++
	if s.cfg.RecordRequests {
		ex.rec = &Request{}
		s.requests = append(s.requests, ex.rec)
	}
	s.notifyLocked()
	return ex
}

// enterSession counts the request against its session unless the session
// already has limit requests in flight (limit 0: no limit).
func (s *Sim) enterSession(ex *exchange, sid string, limit int) bool {
	if sid == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && s.sessions[sid] >= limit {
		return false
	}
	s.sessions[sid]++
	ex.session = sid
	s.stats.SessionBusy++
	s.notifyLocked()
	return true
}

// finish records the answer. It runs before the response is written, so a
// client that has its answer always finds it in Stats, and a session's next
// request never races the previous one's exit (a spurious 420).
func (s *Sim) finish(ex *exchange, rep reply, d *delivery) {
	var envelope json.RawMessage
	var ids []string
	if s.cfg.RecordRequests {
		envelope, ids = recordShape(d, ex.body)
	}
	client := clientOf(ex.route, ex.query)

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	s.stats.InFlight--
	if ex.session != "" {
		s.stats.SessionBusy--
		if s.sessions[ex.session]--; s.sessions[ex.session] <= 0 {
			delete(s.sessions, ex.session)
		}
	}
	if ex.gen != s.gen {
		return
	}
	s.stats.Requests++
	s.stats.Status[rep.status]++
	if ex.rec != nil {
		*ex.rec = Request{
			Route: ex.route, Query: ex.query, Status: rep.status, IDs: ids, Acked: rep.acked,
			Message: rep.message, Body: asRawJSON(ex.body), At: ex.at,
		}
		if d != nil {
			ex.rec.SessionID = d.sessionID
		} else {
			ex.rec.SessionID = ex.query.Get("sessionId")
		}
	}
	if d == nil {
		return
	}
	s.stats.Accepted++
	s.stats.MaxPerRequest = max(s.stats.MaxPerRequest, len(d.notes))
	byID := make(map[string]*note, len(d.notes))
	for i := range d.notes {
		byID[d.notes[i].id] = &d.notes[i]
	}
	now := time.Now()
	for _, id := range rep.acked {
		s.stats.Notifications++
		if r, ok := s.received[id]; ok {
			r.Count++
			s.stats.Duplicates++
			continue
		}
		n := byID[id]
		s.stats.Unique++
		s.received[id] = &Received{
			ID: id, Type: n.typ, SessionID: d.sessionID, Client: client, Route: ex.route,
			VisitorID: d.visitor, ImpressionID: n.impressionID, Tokens: n.tokens, Timestamp: n.timestamp,
			Count: 1, FirstAck: now, FirstArrival: ex.at,
			// A copy: the raw slice would pin the whole request body.
			Notification: append(json.RawMessage(nil), n.raw...),
			Request:      envelope,
		}
	}
}

// recordShape gives the request envelope without notifications (for Received)
// and the notification ids, best effort for requests that failed validation.
func recordShape(d *delivery, body []byte) (json.RawMessage, []string) {
	if d != nil {
		env := maps.Clone(d.top.m)
		delete(env, "notifications")
		b, _ := json.Marshal(env)
		ids := make([]string, len(d.notes))
		for i, n := range d.notes {
			ids[i] = n.id
		}
		return b, ids
	}
	var partial struct {
		Notifications []struct {
			ID any `json:"id"`
		} `json:"notifications"`
	}
	if json.Unmarshal(body, &partial) != nil {
		return nil, nil
	}
	var ids []string
	for _, n := range partial.Notifications {
		if id, ok := n.ID.(string); ok {
			ids = append(ids, id)
		}
	}
	return nil, ids
}

// asRawJSON keeps a body for the request log; one that is not JSON becomes a
// JSON string so the log itself stays valid JSON.
func asRawJSON(body []byte) json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	if json.Valid(body) {
		return body
	}
	b, _ := json.Marshal(string(body))
	return b
}
