// Package metrics defines the notifierd_* Prometheus metrics in one place, registered on a
// registry the caller passes in, so tests and the demo can run several daemons side by side.
// The one exception is notifierd_routes_*: package routes registers those itself, and only
// when kafka.routesTopic is set.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the daemon's instruments.
type Metrics struct {
	EventsConsumed    prometheus.Counter
	EventsInvalid     *prometheus.CounterVec // reason
	EventsDeadLetter  *prometheus.CounterVec // reason
	Delivered         *prometheus.CounterVec // type
	Batches           *prometheus.CounterVec // trigger
	RequestSize       prometheus.Histogram
	RequestDuration   *prometheus.HistogramVec // status_class
	EventLatency      prometheus.Histogram
	Retries           *prometheus.CounterVec // reason
	BufferedEvents    prometheus.Gauge
	BufferedBytes     prometheus.Gauge
	BufferLimitEvents prometheus.Gauge
	BufferLimitBytes  prometheus.Gauge
	RequestsInFlight  prometheus.Gauge
	// Per Target edge host: the adaptive concurrency limit and the requests it has in flight.
	EdgeConcurrencyLimit *prometheus.GaugeVec // edge
	EdgeRequestsInFlight *prometheus.GaugeVec // edge
	CommittedOffset      *prometheus.GaugeVec // topic, partition
	ConsumerLag          *prometheus.GaugeVec // topic, partition
	OldestUnacked        prometheus.Gauge
	LastDelivery         prometheus.Gauge
	AssignedPartition    prometheus.Gauge
	OffsetsSkipped       *prometheus.CounterVec // topic, partition, reason
	ReceiptsWritten      *prometheus.CounterVec // outcome
	ReceiptWriteErrors   prometheus.Counter
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsConsumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notifierd_events_consumed_total", Help: "Kafka messages read from the events topic."}),
		EventsInvalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_events_invalid_total", Help: "Messages that are not valid events, by reason."}, []string{"reason"}),
		EventsDeadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_events_dead_lettered_total", Help: "Events written to the dead-letter topic, by reason."}, []string{"reason"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_notifications_delivered_total", Help: "Notifications acknowledged by Target, by type."}, []string{"type"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_batches_total", Help: "Batches closed, by what closed them (full, bytes, linger, flush)."}, []string{"trigger"}),
		RequestSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "notifierd_request_notifications", Help: "Notifications per Delivery API request.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 40, 50}}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "notifierd_request_duration_seconds", Help: "Delivery API request duration, by status class (2xx, 4xx, 5xx, error).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"status_class"}),
		EventLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "notifierd_event_latency_seconds", Help: "From an event's timestamp (its producer's clock) to Target's acknowledgement: Kafka, batch.linger and the request.",
			Buckets: []float64{0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300, 900, 3600}}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_retries_total", Help: "Delivery attempts scheduled again, by reason."}, []string{"reason"}),
		BufferedEvents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_buffered_events", Help: "Events held between fetch and outcome."}),
		BufferedBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_buffered_bytes", Help: "Memory footprint (message, rendering, bookkeeping) of the events held between fetch and outcome."}),
		BufferLimitEvents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_buffer_limit_events", Help: "batch.maxBufferedEvents: fetching pauses when notifierd_buffered_events reaches it."}),
		BufferLimitBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_buffer_limit_bytes", Help: "batch.maxBufferedBytes: fetching pauses when notifierd_buffered_bytes reaches it."}),
		RequestsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_requests_in_flight", Help: "Delivery API requests awaiting a response."}),
		EdgeConcurrencyLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "notifierd_target_concurrency_limit", Help: "Requests allowed in flight to a Target edge host now: adaptive, at most target.maxConcurrency."}, []string{"edge"}),
		EdgeRequestsInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "notifierd_target_requests_in_flight", Help: "Delivery API requests awaiting a response, per Target edge host."}, []string{"edge"}),
		CommittedOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "notifierd_committed_offset", Help: "Last offset committed, per partition."}, []string{"topic", "partition"}),
		ConsumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "notifierd_consumer_lag", Help: "Messages between the committed offset and the partition's end."}, []string{"topic", "partition"}),
		OldestUnacked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_oldest_unacknowledged_seconds", Help: "Age of the oldest event fetched and not yet acknowledged or dead-lettered."}),
		LastDelivery: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_last_delivery_timestamp_seconds", Help: "Unix time of the last notification acknowledged by Target."}),
		AssignedPartition: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifierd_assigned_partitions", Help: "Partitions this member consumes in the current generation."}),
		OffsetsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_offsets_skipped_total", Help: "Offsets never read, by reason: out_of_range counts those retention removed before the group read them."}, []string{"topic", "partition", "reason"}),
		ReceiptsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifierd_receipts_written_total", Help: "Receipts written to kafka.receiptsTopic, by outcome."}, []string{"outcome"}),
		ReceiptWriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notifierd_receipt_write_errors_total", Help: "Failed writes to kafka.receiptsTopic (retried; the events' offsets wait for them)."}),
	}
	reg.MustRegister(m.EventsConsumed, m.EventsInvalid, m.EventsDeadLetter, m.Delivered, m.Batches,
		m.RequestSize, m.RequestDuration, m.EventLatency, m.Retries, m.BufferedEvents, m.BufferedBytes, m.BufferLimitEvents, m.BufferLimitBytes, m.RequestsInFlight,
		m.EdgeConcurrencyLimit, m.EdgeRequestsInFlight,
		m.CommittedOffset, m.ConsumerLag, m.OldestUnacked, m.LastDelivery, m.AssignedPartition, m.OffsetsSkipped,
		m.ReceiptsWritten, m.ReceiptWriteErrors)
	return m
}
