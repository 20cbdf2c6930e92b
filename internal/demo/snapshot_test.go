package demo

import (
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/notifierd/notifierd/internal/metrics"
)

// ReadDaemon sums the daemon's own families over their labels and ignores everything else.
func TestReadDaemon(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "other_total", Help: "not the daemon's"}))
	m.EventsConsumed.Add(120)
	for _, n := range []float64{50, 10, 3, 1} {
		m.RequestSize.Observe(n)
	}
	m.Retries.WithLabelValues("503").Add(2)
	m.Retries.WithLabelValues("missing_ack").Inc()
	m.Delivered.WithLabelValues("display").Add(60)
	m.Delivered.WithLabelValues("click").Add(4)
	m.EventsDeadLetter.WithLabelValues("bad_json").Add(2)
	m.EventsDeadLetter.WithLabelValues("missing_field").Inc()
	m.BufferedEvents.Set(7)
	m.CommittedOffset.WithLabelValues("events", "0").Set(40)
	m.CommittedOffset.WithLabelValues("events", "1").Set(27)
	m.ConsumerLag.WithLabelValues("events", "0").Set(5)
	m.ConsumerLag.WithLabelValues("events", "1").Set(1)

	got, err := ReadDaemon(reg)
	if err != nil {
		t.Fatal(err)
	}
	want := DaemonNumbers{
		Consumed: 120, Requests: 4, Notifications: 64, Retries: 3, Delivered: 64, DeadLettered: 3,
		Buffered: 7, Committed: 67, Lag: 6,
	}
	reasons := got.RetryReasons
	got.RetryReasons = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if reasons["503"] != 2 || reasons["missing_ack"] != 1 || len(reasons) != 2 {
		t.Errorf("retry reasons %v", reasons)
	}
	if mean := got.MeanPerRequest(); mean != 16 {
		t.Errorf("mean per request %v, want 16", mean)
	}
}

func TestReadDaemonEmpty(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	got, err := ReadDaemon(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests != 0 || got.MeanPerRequest() != 0 || got.Committed != 0 {
		t.Errorf("a fresh registry reads %+v", got)
	}
}
