package targetsim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
)

// serveControl is the runtime control API, so a simulator running as its own
// process (cmd/targetsim) can be steered and inspected by benchmarks:
//
//	GET  /_sim/stats          Stats
//	GET  /_sim/notifications  []Received sorted by id
//	GET  /_sim/requests       []Request (empty unless RecordRequests)
//	GET  /_sim/faults         Faults
//	PUT  /_sim/faults         Faults (replaces them all; outageFor: "30s" sets OutageUntil relative to now)
//	POST /_sim/reset          clears records and counters, keeps faults
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, controlPrefix)
	switch r.Method + " " + name {
	case "GET stats":
		writeJSON(w, s.Stats())
	case "GET notifications":
		recv := s.Received()
		out := make([]Received, 0, len(recv))
		for _, rc := range recv {
			out = append(out, rc)
		}
		slices.SortFunc(out, func(a, b Received) int { return strings.Compare(a.ID, b.ID) })
		writeJSON(w, out)
	case "GET requests":
		writeJSON(w, s.Requests())
	case "GET faults":
		writeJSON(w, s.Faults())
	case "PUT faults":
		if s.putFaults(w, r) {
			writeJSON(w, s.Faults())
		}
	case "POST reset":
		s.Reset()
		writeJSON(w, s.Stats())
	default:
		allow := map[string]string{"stats": "GET", "notifications": "GET", "requests": "GET", "faults": "GET, PUT", "reset": "POST"}[name]
		if allow == "" {
			errorReply(http.StatusNotFound, "no control endpoint "+r.URL.Path).write(w)
			return
		}
		rep := errorReply(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed, use "+allow)
		rep.header = http.Header{"Allow": {allow}}
		rep.write(w)
	}
}

func (s *Sim) putFaults(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		errorReply(http.StatusBadRequest, "faults: cannot read body: "+err.Error()).write(w)
		return false
	}
	var f Faults
	if err := json.Unmarshal(body, &f); err != nil {
		errorReply(http.StatusBadRequest, "faults: "+err.Error()).write(w)
		return false
	}
	if err := f.Validate(); err != nil {
		errorReply(http.StatusBadRequest, "faults: "+err.Error()).write(w)
		return false
	}
	s.SetFaults(f)
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		errorReply(http.StatusInternalServerError, "encoding: "+err.Error()).write(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
