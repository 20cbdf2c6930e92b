package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// Scenario: a rebalance and a restart keep routes. With kafka.routesTopic set, one member
// delivers a first part of the workload, learning each visitor's edge from Target's answers
// (the simulator names edge 35 for requests to the client host). A second member joins, so
// a rebalance moves partitions to a process that never saw those visitors, and a second part
// is delivered; then both stop gracefully and a third member delivers a third part. Every
// notification of a visitor whose edge Target named in an earlier part must go to that edge:
// it fails on any that went elsewhere (the client host, typically), and on any event lost.
var routesScenario = Scenario{
	Name: "routes", Title: "a rebalance and a restart keep routes",
	Short: 90 * time.Second, Full: 3 * time.Minute,
	DuplicatesAllowed: true, // the rebalance and the stops hand work in flight on
	Run:               runRoutes,
}

// routeNotification is what the scenario reads of the simulator's record of a notification.
type routeNotification struct {
	ID        string    `json:"id"`
	Route     string    `json:"route"` // "/c/chaos" (the client host) or "/e/<hint>"
	VisitorID string    `json:"visitorId"`
	FirstAck  time.Time `json:"firstAck"`
}

// routesOffVariable set to 1 runs the scenario with kafka.routesTopic empty, for the contrast
// figure in docs/OPERATIONS.md: it then reports the wrong-edge count instead of failing on it.
const routesOffVariable = "NOTIFIERD_CHAOS_ROUTES_OFF"

func runRoutes(ctx context.Context, b *Bed) error {
	off := os.Getenv(routesOffVariable) == "1"
	if !off {
		b.Config.Kafka.RoutesTopic = b.Topic + "-routes"
	}
	perPart := b.count(1500, 5000) // over the workload's 1,000 sessions: most visitors recur
	part := func(name string) (time.Time, error) {
		start := time.Now()
		if err := b.Produce(ctx, b.batch(perPart)); err != nil {
			return start, err
		}
		_, err := b.Settle(ctx)
		b.Logf("%s: %d events delivered", name, perPart)
		return start, err
	}
	first, err := b.StartReady(ctx)
	if err != nil {
		return err
	}
	if _, err := part("part 1 (one member)"); err != nil {
		return err
	}
	if _, err := b.StartReady(ctx); err != nil {
		return err
	}
	if err := awaitJoins(ctx, first, 2); err != nil { // the first member is in the new generation too
		return err
	}
	rebalanced, err := part("part 2 (after a second member joined)")
	if err != nil {
		return err
	}
	if err := b.StopAll(); err != nil {
		return fmt.Errorf("graceful stop: %w", err)
	}
	if _, err := b.StartReady(ctx); err != nil {
		return err
	}
	restarted, err := part("part 3 (after both stopped and a third member started)")
	if err != nil {
		return err
	}

	notes, err := readRoutes(ctx, b.Sim.URL)
	if err != nil {
		return err
	}
	wrongAfterRebalance, wrongAfterRestart, checked := wrongEdges(notes, rebalanced, restarted)
	b.Logf("wrong edge: %d after the rebalance, %d after the restart, of %d notifications of visitors whose edge Target had named (kafka.routesTopic %s)",
		wrongAfterRebalance, wrongAfterRestart, checked, map[bool]string{true: "empty", false: "set"}[off])
	switch {
	case off:
		b.Result.Note("kafka.routesTopic empty (%s=1): %d notification(s) after the rebalance and %d after the restart went to a host other than the edge Target had named, of %d checked",
			routesOffVariable, wrongAfterRebalance, wrongAfterRestart, checked)
	case wrongAfterRebalance+wrongAfterRestart > 0:
		b.Result.Fail("%d notification(s) after the rebalance and %d after the restart went to a host other than the edge Target had named for their visitor (of %d checked)",
			wrongAfterRebalance, wrongAfterRestart, checked)
	default:
		b.Result.Note("0 of %d notifications of visitors whose edge Target had named went elsewhere after the rebalance or the restart (%d events in each of 3 parts over 1,000 sessions; kafka.routesTopic set)",
			checked, perPart)
	}
	return nil
}

// awaitJoins waits until n's log shows at least joins generations joined: the rebalance a
// new member causes is over for n once it joined the next one.
func awaitJoins(ctx context.Context, n *testbed.Notifierd, joins int) error {
	for len(testbed.GrepLog(n.LogPath, joinedLine, joins)) < joins {
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("%s joined fewer than %d generations: %w", n.Name, joins, err)
		}
	}
	return nil
}

// wrongEdges counts the notifications first acknowledged after rebalanced (before restarted)
// and after restarted that went to a host other than the edge named for their visitor by an
// answer before that moment; checked is how many had a named edge.
func wrongEdges(notes []routeNotification, rebalanced, restarted time.Time) (afterRebalance, afterRestart, checked int) {
	named := func(before time.Time) map[string]string {
		out := map[string]string{}
		first := map[string]time.Time{}
		for _, n := range notes {
			if n.FirstAck.Before(before) && (first[n.VisitorID].IsZero() || n.FirstAck.Before(first[n.VisitorID])) {
				first[n.VisitorID], out[n.VisitorID] = n.FirstAck, edgeOf(n.Route)
			}
		}
		return out
	}
	atRebalance, atRestart := named(rebalanced), named(restarted)
	for _, n := range notes {
		edges, late := atRebalance, !n.FirstAck.Before(restarted)
		switch {
		case late:
			edges = atRestart
		case n.FirstAck.Before(rebalanced):
			continue
		}
		edge, ok := edges[n.VisitorID]
		if !ok {
			continue // a visitor new in this part: Target had named nothing yet
		}
		checked++
		if "/e/"+edge != n.Route {
			if late {
				afterRestart++
			} else {
				afterRebalance++
			}
		}
	}
	return afterRebalance, afterRestart, checked
}

// edgeOf is the edge the simulator names in its answer to a request on route: the edge
// itself, or its default, 35, for the client host.
func edgeOf(route string) string {
	if hint, ok := strings.CutPrefix(route, "/e/"); ok {
		return hint
	}
	return "35"
}

// readRoutes reads the simulator's record of every acknowledged notification.
func readRoutes(ctx context.Context, simURL string) ([]routeNotification, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, simURL+"/_sim/notifications", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the simulator's notifications: %w", err)
	}
	defer resp.Body.Close()
	var out []routeNotification
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("decoding the simulator's notifications: %w", err)
	}
	return out, nil
}
