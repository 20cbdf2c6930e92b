// Package daemon wires notifierd's pipeline from a configuration: consumer -> decode ->
// batch -> delivery (with retry) -> acknowledgements -> receipts (when on) -> offset
// watermark -> commit, with the dead-letter topic beside it and the routes topic (when on)
// behind the router, and runs it until its context ends.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/admin"
	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/consumer"
	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/kafkaconn"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/receipt"
	"github.com/notifierd/notifierd/internal/retry"
	"github.com/notifierd/notifierd/internal/routes"
	"github.com/notifierd/notifierd/internal/tracing"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Registry is what the daemon needs of a Prometheus registry: to register and to be scraped.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Daemon is one notifierd instance.
type Daemon struct {
	cfg     config.Config
	log     *zap.Logger
	reg     Registry
	metrics *metrics.Metrics

	intake     *intake
	batcher    *batch.Batcher
	dispatcher *delivery.Dispatcher
	dlqWriter  *dlq.Writer
	dlqKafka   *kafka.Writer
	// receipts writes kafka.receiptsTopic; nil when it is off.
	receipts      *receipt.Writer
	receiptsKafka *kafka.Writer
	transport     *kafka.Transport
	// consumerTransport carries fetches and commits, with metadata that follows leaders closely.
	consumerTransport *kafka.Transport
	// httpTransport pools the Target connections; closed at the end of Run.
	httpTransport *delivery.Transport
	consumer      *consumer.Consumer
	live          *liveness
	// routes keeps learned edge routes in kafka.routesTopic; nil when the key is empty.
	routes      *routes.Store
	routesKafka *kafka.Writer

	// AdminAddr receives the admin listener's address once it is bound (tests use :0).
	AdminAddr func(net.Addr)
}

// Option adjusts what New wires.
type Option func(*options)

type options struct{ tracing *tracing.Provider }

// WithTracing records spans with p (tracing.Setup's); without it tracing is off. The
// caller owns p and shuts it down after Run.
func WithTracing(p *tracing.Provider) Option { return func(o *options) { o.tracing = p } }

// New builds a daemon from cfg.
func New(cfg config.Config, log *zap.Logger, reg Registry, opts ...Option) (*Daemon, error) {
	o := options{tracing: tracing.Off()}
	for _, opt := range opts {
		opt(&o)
	}
	d := &Daemon{cfg: cfg, log: log, reg: reg, metrics: metrics.New(reg)}
	// First: a CA file that cannot be used stops the daemon before anything else is made.
	httpTransport, err := delivery.NewTransportWith(delivery.TransportConfig{
		MaxConnsPerHost: cfg.Target.MaxConnsPerHost,
		CAFile:          cfg.Target.TLS.CAFile,
		HTTP2:           cfg.Target.HTTP2,
	})
	if err != nil {
		return nil, fmt.Errorf("config key target.tls.caFile (%s): %w", config.EnvName("target.tls.caFile"), err)
	}
	d.httpTransport = httpTransport
	dialer, err := kafkaconn.Dialer(cfg.Kafka, "notifierd")
	if err != nil {
		return nil, err
	}
	transport, err := kafkaconn.DeadLetterTransport(cfg.Kafka, "notifierd")
	if err != nil {
		return nil, err
	}
	d.transport = transport
	if d.consumerTransport, err = kafkaconn.ConsumerTransport(cfg.Kafka, "notifierd"); err != nil {
		return nil, err
	}
	d.dlqKafka = kafkaconn.DeadLetterWriter(cfg.Kafka, transport)
	d.dlqWriter = dlq.NewWriter(d.dlqKafka.WriteMessages, d.metrics, log)
	d.dlqWriter.Trace(o.tracing.Scope(), cfg.Kafka.DLQTopic)
	if cfg.Kafka.ReceiptsTopic != "" {
		d.receiptsKafka = kafkaconn.ReceiptsWriter(cfg.Kafka, transport)
		d.receipts = receipt.NewWriter(d.receiptsKafka.WriteMessages, d.metrics, log)
		d.dlqWriter.SendReceipts(d.receipts)
	}
	budget := batch.NewBudget(cfg.Batch.MaxBufferedEvents, cfg.Batch.MaxBufferedBytes)
	d.metrics.BufferLimitEvents.Set(float64(cfg.Batch.MaxBufferedEvents))
	d.metrics.BufferLimitBytes.Set(float64(cfg.Batch.MaxBufferedBytes))
	var rt http.RoundTripper = d.httpTransport
	if o.tracing.Enabled { // off, the bare transport: no wrapper on the hot path
		rt = delivery.Traced(rt, o.tracing, cfg.Target.PropagateTrace)
	}
	client := &delivery.Client{HTTP: &http.Client{Transport: rt}, Timeout: cfg.Target.Timeout}
	router := delivery.NewRouter(cfg.Target.URL, cfg.Target.EdgeURL, cfg.Target.IMSOrgID, cfg.Target.EdgeCacheSize)
	var hooks consumer.GenerationHooks // stays a nil interface when routes are off
	if cfg.Kafka.RoutesTopic != "" {
		d.routesKafka = routes.KafkaWriter(cfg.Kafka.Brokers, cfg.Kafka.RoutesTopic, transport)
		routesClient := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Transport: transport, Timeout: cfg.Kafka.RequestTimeout}
		d.routes = routes.NewStore(cfg.Kafka.RoutesTopic, routesClient, d.routesKafka.WriteMessages, router.Load, reg, log)
		router.OnLearn(d.routes.Writer.Learned)
		hooks = d.routes
	}
	told := &toldWait{now: time.Now}
	d.dispatcher = delivery.NewDispatcher(delivery.Config{
		MaxPerEdge:       cfg.Target.MaxConcurrency,
		MaxNotifications: cfg.Batch.MaxNotifications,
		MaxBytes:         cfg.Batch.MaxBytes,
		MaxSessions:      cfg.Batch.MaxBufferedEvents,
		Adaptive:         cfg.Target.AdaptiveConcurrency,
		Retry: retry.Policy{
			Initial:    cfg.Target.Retry.InitialInterval,
			Max:        cfg.Target.Retry.MaxInterval,
			Multiplier: cfg.Target.Retry.Multiplier,
			MaxElapsed: cfg.Target.Retry.MaxElapsedTime,
		},
	}, told.observe(client.Send), router, d.dlqWriter, d.metrics, log)
	if d.receipts != nil {
		d.dispatcher.SendReceipts(d.receipts)
	}
	d.dispatcher.Trace(o.tracing.Scope())
	d.batcher = batch.New(batch.Config{
		MaxNotifications: cfg.Batch.MaxNotifications,
		MaxBytes:         cfg.Batch.MaxBytes,
		Linger:           cfg.Batch.Linger,
	}, func(b *batch.Batch) {
		d.metrics.Batches.WithLabelValues(b.Trigger).Inc()
		d.dispatcher.Submit(b)
	})
	d.intake = &intake{
		decoder: &event.Decoder{
			Client:   cfg.Target.Client,
			Channel:  cfg.Target.Channel,
			MaxBytes: cfg.Events.MaxBytes,
			Limits:   notify.Limits{MaxAge: cfg.Events.MaxAge, MaxFuture: cfg.Events.MaxFuture},
			Now:      time.Now,
		},
		budget: budget, batcher: d.batcher, deadLetters: d.dlqWriter, metrics: d.metrics, log: log,
		traces: o.tracing.Enabled,
	}
	d.intake.markProgress()
	d.live = &liveness{
		stall: cfg.Admin.StallTimeout, maxWait: cfg.Target.Retry.MaxInterval, now: time.Now,
		pending: func() int {
			events, _ := d.intake.budget.Used()
			return max(events, d.consumer.Pending()) // buffered events are pending offsets too: no sum
		},
		progress: func() time.Time {
			return latest(time.Unix(0, d.intake.lastProgress.Load()), d.consumer.LastCommitProgress())
		},
		answer: d.dispatcher.LastAnswer,
		told:   told.end,
	}
	startOffset := kafka.FirstOffset
	if cfg.Kafka.StartOffset == "latest" {
		startOffset = kafka.LastOffset
	}
	d.consumer = consumer.New(consumer.Config{
		Brokers:           cfg.Kafka.Brokers,
		Topic:             cfg.Kafka.Topic,
		Group:             cfg.Kafka.Group,
		Dialer:            dialer,
		Transport:         d.consumerTransport,
		Isolation:         kafkaconn.IsolationLevel(cfg.Kafka),
		StartOffset:       startOffset,
		MaxInFlight:       cfg.Kafka.MaxInFlight,
		CommitInterval:    cfg.Kafka.CommitInterval,
		DrainTimeout:      cfg.Shutdown.Timeout,
		SessionTimeout:    cfg.Kafka.SessionTimeout,
		RebalanceTimeout:  cfg.Kafka.RebalanceTimeout,
		HeartbeatInterval: cfg.Kafka.HeartbeatInterval,
		RequestTimeout:    cfg.Kafka.RequestTimeout,
		MaxFetchBytes:     cfg.Kafka.MaxFetchBytes,
		FetchMemory:       cfg.Batch.MaxBufferedBytes, // fetched results never outweigh the buffer
		Hooks:             hooks,
	}, d.intake, d.metrics, log)
	return d, nil
}

// MemoryLimit is the Go runtime's soft memory limit for cfg: the buffer budget plus room for
// fetch buffers, connections and the runtime. Near it the garbage collector works harder
// instead of letting the heap double, so RSS follows the configured bounds.
func MemoryLimit(cfg config.Config) int64 {
	return cfg.Batch.MaxBufferedBytes + 256<<20
}

// GCPercent is the daemon's garbage-collection pacing (GOGC): the heap may grow to five
// times the live data before a collection, instead of Go's twice. MemoryLimit, not GOGC,
// is what bounds RSS; below it, collecting less often saved 10-15 % of the CPU per event in
// `make bench`, at the price of a larger heap when the buffer is nearly empty.
const GCPercent = 400

// Run consumes and delivers until ctx ends, then stops fetching, flushes, waits for work in
// flight up to shutdown.timeout, commits what is done and leaves the group.
func (d *Daemon) Run(ctx context.Context) error {
	var adminLn net.Listener
	if d.cfg.Admin.Listen != "" {
		ln, err := admin.Listen(d.cfg.Admin.Listen)
		if err != nil {
			return err
		}
		adminLn = ln
		if d.AdminAddr != nil {
			d.AdminAddr(ln.Addr())
		}
	}
	// base outlives ctx by the shutdown timeout, so in-flight work can finish and commit.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	stopDeadline := context.AfterFunc(ctx, func() {
		t := time.NewTimer(d.cfg.Shutdown.Timeout)
		defer t.Stop()
		select {
		case <-t.C:
			d.log.Warn("shutdown timeout reached; abandoning work in flight", zap.Duration("timeout", d.cfg.Shutdown.Timeout))
			cancelBase()
		case <-base.Done():
		}
	})
	defer stopDeadline()

	var wg sync.WaitGroup
	wg.Go(func() { d.dispatcher.Run(base) })
	wg.Go(func() { d.dlqWriter.Run(base) })
	if d.routes != nil {
		wg.Go(func() { d.routes.Writer.Run(base) })
		wg.Go(func() { d.routes.Start(ctx) }) // while the member joins; the first generation waits for it
	}
	if d.receipts != nil {
		wg.Go(func() { d.receipts.Run(base) })
	}
	adminErr := make(chan error, 1)
	if adminLn != nil {
		probes := admin.Probes{
			Ready:   d.consumer.Ready,
			Healthy: func() error { _, err := d.live.check(); return err },
			Note:    func() string { note, _ := d.live.check(); return note },
		}
		h := admin.Handler(d.reg, probes, d.cfg.Admin.Pprof)
		wg.Go(func() { adminErr <- admin.Serve(base, adminLn, h, d.log) })
	}

	d.log.Info("notifierd started", zap.Strings("brokers", d.cfg.Kafka.Brokers), zap.String("topic", d.cfg.Kafka.Topic), zap.String("group", d.cfg.Kafka.Group))
	consumeErr := d.consumer.Run(ctx, base)
	cancelBase()
	wg.Wait()
	closeErr := d.closeWriters(context.WithoutCancel(ctx))
	d.transport.CloseIdleConnections()
	d.consumerTransport.CloseIdleConnections()
	d.httpTransport.CloseIdleConnections()
	var serveErr error
	select {
	case serveErr = <-adminErr:
	default:
	}
	d.log.Info("notifierd stopped")
	return errors.Join(consumeErr, serveErr, closeErr)
}

// writersCloseTimeout bounds flushing the last routes and closing the writers of the
// daemon's own topics once the daemon has stopped.
const writersCloseTimeout = 2 * time.Second

// closeWriters writes the routes learned after the last generation's flush (its drain timed
// out, say) and closes the writers of the daemon's own topics, within writersCloseTimeout.
// A write the daemon stopped waiting for may still be in its one attempt against a broker
// that went silent, and Close waits for that: what such a write carried was never settled,
// so its offsets were not committed and it is redelivered; the daemon does not wait for it.
func (d *Daemon) closeWriters(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, writersCloseTimeout)
	defer cancel()
	if d.routes != nil {
		fctx, cancelFlush := context.WithTimeout(ctx, writersCloseTimeout*3/4) // leaves the closes some time
		_ = d.routes.Writer.Flush(fctx)
		cancelFlush()
	}
	var writers []*kafka.Writer
	for _, w := range []*kafka.Writer{d.dlqKafka, d.routesKafka, d.receiptsKafka} {
		if w != nil {
			writers = append(writers, w)
		}
	}
	closed := make(chan error, len(writers))
	for _, w := range writers {
		go func() { closed <- w.Close() }()
	}
	var errs []error
	for range writers {
		select {
		case err := <-closed:
			errs = append(errs, err)
		case <-ctx.Done():
			d.log.Warn("a write to Kafka was still under way at shutdown; not waiting for it (what it carried is not committed and will be redelivered)",
				zap.Duration("waited", writersCloseTimeout))
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}
