package demo

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// DaemonNumbers are the daemon's own counters, read from the notifierd_* families of the
// registry it was built with and summed over their labels.
type DaemonNumbers struct {
	Consumed      int64
	Requests      int64 // Delivery API requests sent, retries included
	Notifications int64 // notifications in those requests
	Retries       int64 // attempts scheduled again, all reasons
	RetryReasons  map[string]int64
	Delivered     int64 // notifications Target acknowledged
	DeadLettered  int64
	Buffered      int64
	Committed     int64 // committed offsets, summed over partitions
	Lag           int64 // consumer lag, summed over partitions
}

// MeanPerRequest is the mean number of notifications per request sent.
func (n DaemonNumbers) MeanPerRequest() float64 {
	if n.Requests == 0 {
		return 0
	}
	return float64(n.Notifications) / float64(n.Requests)
}

// ReadDaemon gathers g and picks the numbers the demo shows.
func ReadDaemon(g prometheus.Gatherer) (DaemonNumbers, error) {
	n := DaemonNumbers{RetryReasons: map[string]int64{}}
	families, err := g.Gather()
	if err != nil {
		return n, fmt.Errorf("gathering the daemon's metrics: %w", err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			counter := int64(m.GetCounter().GetValue())
			gauge := int64(m.GetGauge().GetValue())
			switch f.GetName() {
			case "notifierd_events_consumed_total":
				n.Consumed += counter
			case "notifierd_request_notifications":
				n.Requests += int64(m.GetHistogram().GetSampleCount())
				n.Notifications += int64(m.GetHistogram().GetSampleSum())
			case "notifierd_retries_total":
				n.Retries += counter
				for _, l := range m.GetLabel() {
					if l.GetName() == "reason" {
						n.RetryReasons[l.GetValue()] += counter
					}
				}
			case "notifierd_notifications_delivered_total":
				n.Delivered += counter
			case "notifierd_events_dead_lettered_total":
				n.DeadLettered += counter
			case "notifierd_buffered_events":
				n.Buffered += gauge
			case "notifierd_committed_offset":
				n.Committed += gauge
			case "notifierd_consumer_lag":
				n.Lag += gauge
			}
		}
	}
	return n, nil
}

// Snapshot is one refresh of the progress display.
type Snapshot struct {
	Elapsed  time.Duration
	Target   int   // events the run publishes
	Produced int64 // confirmed by the broker
	Daemon   DaemonNumbers
	Sim      targetsim.Stats
}
