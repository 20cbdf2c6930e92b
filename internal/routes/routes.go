// Package routes keeps the edge routes the daemon learns (visitor key -> Target edge hint,
// with when it was learned) in a compacted Kafka topic, kafka.routesTopic, and reads them
// back, so a restarted member, or one a rebalance hands partitions to, sends each visitor to
// the edge Target named instead of the client host. It owns the record, the topic's
// creation, the writer and the reader. A route is a hint: a failed write or read costs
// requests to the client host, never an event, so nothing here blocks or fails delivery.
package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// MaxAge is Target's session: a route learned longer ago than this is not loaded.
const MaxAge = 30 * time.Minute

// Record is a message's value; its key is the visitor key (`tnt:<tntId>`, `3p:<thirdPartyId>`
// or `mcid:<marketingCloudVisitorId>`).
type Record struct {
	Hint      string `json:"hint"`      // the edge cluster: mboxedge<hint>.tt.omtrdc.net
	LearnedAt int64  `json:"learnedAt"` // ms since the epoch
}

// appendRecord encodes r as Record's JSON without reflection: hints are [0-9a-z]+
// (delivery.HintFromEdgeHost), so they need no escaping.
func appendRecord(b []byte, hint string, at int64) []byte {
	b = append(b, `{"hint":"`...)
	b = append(b, hint...)
	b = append(b, `","learnedAt":`...)
	b = strconv.AppendInt(b, at, 10)
	return append(b, '}')
}

// decodeRecord reads a value written by appendRecord, or any JSON of Record's shape. The
// exact form appendRecord writes is read without encoding/json: a catch-up after a deploy
// reads every route of the topic, and json.Unmarshal was most of its allocations.
func decodeRecord(v []byte) (Record, error) {
	if r, ok := decodeOwn(v); ok {
		return r, nil
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return r, err
	}
	if r.Hint == "" || r.LearnedAt <= 0 {
		return r, errors.New("hint or learnedAt missing")
	}
	return r, nil
}

// decodeOwn reads exactly `{"hint":"<[0-9a-z]+>","learnedAt":<digits>}`.
func decodeOwn(v []byte) (Record, bool) {
	rest, ok := bytes.CutPrefix(v, []byte(`{"hint":"`))
	if !ok {
		return Record{}, false
	}
	hint, rest, ok := bytes.Cut(rest, []byte(`","learnedAt":`))
	if !ok || len(hint) == 0 || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return Record{}, false
	}
	for _, c := range hint {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return Record{}, false
		}
	}
	var at int64
	for _, c := range rest[:len(rest)-1] {
		if c < '0' || c > '9' || at > (1<<62)/10 {
			return Record{}, false
		}
		at = at*10 + int64(c-'0')
	}
	if at <= 0 {
		return Record{}, false
	}
	return Record{Hint: string(hint), LearnedAt: at}, true
}

// Metrics are the routes' counters, registered on the daemon's registry.
type Metrics struct {
	Written     prometheus.Counter
	WriteErrors prometheus.Counter
	Dropped     prometheus.Counter
	Loaded      prometheus.Counter
	Skipped     *prometheus.CounterVec
}

// NewMetrics registers the counters on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notifierd_routes_written_total", Help: "Edge routes written to kafka.routesTopic."}),
		WriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notifierd_routes_write_errors_total", Help: "Edge routes whose write to kafka.routesTopic failed (retried while newer than Target's session)."}),
		Dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notifierd_routes_dropped_total", Help: "Edge routes not written because too many were waiting for a failing routes topic."}),
		Loaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notifierd_routes_loaded_total", Help: "Edge routes read from kafka.routesTopic and taken by the router."}),
		Skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_routes_skipped_total", Help: "Edge routes read from kafka.routesTopic and not taken, by reason: expired (older than Target's 30-minute session), superseded (a later route was known), invalid."}, []string{"reason"}),
	}
	reg.MustRegister(m.Written, m.WriteErrors, m.Dropped, m.Loaded, m.Skipped)
	for _, r := range []string{"expired", "superseded", "invalid"} {
		m.Skipped.WithLabelValues(r)
	}
	return m
}

// EnsureTopic creates topic compacted (cleanup.policy=compact), with the broker's default
// partitions and replication factor, unless it exists; an existing topic is left as it is.
func EnsureTopic(ctx context.Context, client *kafka.Client, topic string) error {
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: -1, ReplicationFactor: -1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("creating the routes topic %s: %w", topic, err)
	}
	return nil
}
