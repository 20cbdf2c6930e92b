package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/limit"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/retry"
	"github.com/notifierd/notifierd/pkg/notify"
)

// DeadLetterer takes items Target will never accept: dlq.Writer. It settles an item's lease
// once the dead-letter copy is written, and returns an error only when ctx ended first.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, it *batch.Item, reason, detail string) error
}

// Receipts writes a receipt for each acknowledged item and settles its lease once the
// receipt is written (kafka.receiptsTopic): receipt.Writer. It returns an error only when
// ctx ended first; the item then stays pending. Without it, items are settled at once.
type Receipts interface {
	Acknowledged(ctx context.Context, it *batch.Item, a Answer) error
}

// Answer is what a receipt reports of the request that acknowledged an item.
type Answer struct {
	RequestID, EdgeHost, TntID string
	LocationHint               string // the visitor's edge cluster: the event's, or the one edgeHost names
	Status, Attempts           int
	At                         time.Time
}

// Config tunes the dispatcher.
type Config struct {
	MaxPerEdge       int // requests in flight at most to one edge host: the adaptive limit's cap
	MaxNotifications int // per request, when merging queued batches
	MaxBytes         int
	MaxSessions      int // sessions with queued work at most (the buffered-event bound)
	// Adaptive limits each edge host's requests in flight by what it sustains, below
	// MaxPerEdge; false holds every edge at MaxPerEdge.
	Adaptive bool
	Retry    retry.Policy
}

// Dispatcher delivers batches with at most one request in flight per session, and per edge
// host at most what that edge's limit allows. A session waiting out a backoff, or for its
// edge, holds no goroutine, so one failing session or edge never stalls the others.
type Dispatcher struct {
	cfg         Config
	send        Send
	router      *Router
	edges       *edges
	failures    *failureLog
	deadLetters DeadLetterer
	receipts    Receipts     // nil: receipts are off
	tracer      trace.Tracer // nil: tracing is off
	metrics     *metrics.Metrics
	log         *zap.Logger

	mu       sync.Mutex
	sessions map[string]*session
	ready    chan *session // sessions with a part to attempt now; each appears at most once
	now      func() time.Time
	// lastAnswer is when a request last came back, with any outcome (unix ns): a process that
	// keeps trying Target through its outage is alive.
	lastAnswer atomic.Int64

	// Children of the per-request metric vectors, so the hot path skips the label lookup.
	delivered [2]lazyChild[prometheus.Counter]           // display, click
	duration  [numClasses]lazyChild[prometheus.Observer] // by statusClass
}

// lazyChild is a metric vector's child for one label value, resolved on first use rather
// than up front: resolving it creates the series, and an unused one must not be exported.
type lazyChild[T any] struct {
	resolve func() T
	p       atomic.Pointer[T]
}

func (l *lazyChild[T]) get() T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	v := l.resolve() // racing callers get the same child from the vector
	l.p.Store(&v)
	return v
}

// session is the delivery state of one sessionId: the batch being delivered, split into
// parts after a 400, and the batches queued behind it.
type session struct {
	id      string
	queue   []*batch.Batch
	env     *event.Envelope
	parts   [][]*batch.Item // stack: the last part is attempted next
	backoff backoff.BackOff // made on the batch's first failure: most batches never need one
	started time.Time       // when the batch started, where its retry time limit counts from
	slot    *edge           // a slot on this edge, handed over while the session was parked
	// attempts counts the requests of the current batch, for receipts.
	attempts int
	// span is the current part's request span, from its first attempt to its outcome; nil
	// when tracing is off. Only the goroutine attempting the session touches it.
	span trace.Span

	// In-struct storage for the usual single queued batch and single part, so a session
	// costs one allocation.
	queue0 [1]*batch.Batch
	parts0 [1][]*batch.Item
}

// readyMargin is room in the ready queue beyond one place per session: the buffer's bound on
// sessions admits an event past it now and then, and a send here must never block.
const readyMargin = 256

// NewDispatcher wires a dispatcher; Run starts its workers.
func NewDispatcher(cfg Config, send Send, router *Router, dl DeadLetterer, m *metrics.Metrics, log *zap.Logger) *Dispatcher {
	d := &Dispatcher{
		cfg: cfg, send: send, router: router, deadLetters: dl, metrics: m, log: log,
		sessions: make(map[string]*session),
		ready:    make(chan *session, cfg.MaxSessions+readyMargin),
		now:      time.Now,
	}
	for i, typ := range [...]string{notify.TypeDisplay, notify.TypeClick} {
		d.delivered[i].resolve = func() prometheus.Counter { return m.Delivered.WithLabelValues(typ) }
	}
	limits := limit.Defaults(cfg.MaxPerEdge)
	if !cfg.Adaptive {
		limits = limit.Config{Min: cfg.MaxPerEdge, Max: cfg.MaxPerEdge, Initial: cfg.MaxPerEdge}
	}
	d.edges = newEdges(limits, func(s *session) { d.ready <- s }, m.EdgeConcurrencyLimit, m.EdgeRequestsInFlight)
	d.failures = newFailureLog(log, failureLogInterval)
	for class := range d.duration {
		label := statusClassLabel(class)
		d.duration[class].resolve = func() prometheus.Observer { return m.RequestDuration.WithLabelValues(label) }
	}
	return d
}

// Submit queues a batch behind its session's work. It never blocks.
func (d *Dispatcher) Submit(b *batch.Batch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sessions[b.Envelope.SessionID]
	if s == nil {
		s = &session{id: b.Envelope.SessionID}
		d.sessions[s.id] = s
		s.queue = append(s.queue0[:0], b)
		d.ready <- s
		return
	}
	s.queue = append(s.queue, b) // the session is busy or already ready: it picks this up
}

// Run delivers until ctx ends; work not finished by then stays unacknowledged, so its
// offsets are not committed and Kafka hands it out again. A session gets a goroutine (an idle
// worker, or a new one) only once its edge gave it a slot, rather than one of a fixed pool:
// requests hanging on one edge must not hold the workers the other edges need.
func (d *Dispatcher) Run(ctx context.Context) {
	w := newWorkers(workerIdle)
	defer d.endOpenSpans() // after the workers stopped: no attempt holds a span then
	defer w.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-d.ready:
			if url, edge, ok := d.admit(s); ok {
				w.run(func() { d.attempt(ctx, s, url, edge) })
			}
		}
	}
}

// admit readies s's next part and takes a slot on its edge, or parks s there. A part whose
// items were all revoked needs no slot (edge nil): attempt drops it at once.
func (d *Dispatcher) admit(s *session) (url string, e *edge, ok bool) {
	d.mu.Lock()
	if len(s.parts) == 0 {
		d.startNextBatchLocked(s)
	}
	part := s.parts[len(s.parts)-1]
	env := s.env
	d.mu.Unlock()
	reserved := s.slot
	s.slot = nil
	if allStale(part) {
		if reserved != nil {
			d.edges.release(reserved, d.now(), 0, limit.Ignored)
		}
		return "", nil, true
	}
	url = d.router.URL(env)
	if reserved != nil {
		if reserved.host == hostOf(url) {
			return url, reserved, true
		}
		d.edges.release(reserved, d.now(), 0, limit.Ignored) // its visitor's edge changed while it waited
	}
	if e = d.edges.acquire(url, s, d.now()); e == nil {
		return "", nil, false // parked: a request finishing on that edge hands it a slot
	}
	return url, e, true
}

// LastAnswer is when a request to Target last completed, whatever its outcome; zero before
// the first.
func (d *Dispatcher) LastAnswer() time.Time {
	if ns := d.lastAnswer.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Sessions counts the sessions with queued or in-flight work.
func (d *Dispatcher) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sessions)
}

// attempt sends the session's current part once to url, holding a slot on edge, and
// decides what comes next.
func (d *Dispatcher) attempt(ctx context.Context, s *session, url string, edge *edge) {
	d.mu.Lock()
	part := s.parts[len(s.parts)-1]
	env := s.env
	s.attempts++
	attempts := s.attempts
	d.mu.Unlock()

	part = dropStale(part)
	if len(part) == 0 {
		if edge != nil {
			d.edges.release(edge, d.now(), 0, limit.Ignored)
		}
		endSpan(s, outcomeAbandoned, nil)
		d.finishPart(ctx, s, nil)
		return
	}
	ctx = d.requestSpan(ctx, s, env, part) // as it is when tracing is off
	resp, took, end, err := d.post(ctx, url, env, part)
	d.recordAttempt(s, url, attempts, len(part), took, resp, err)
	if err != nil && ctx.Err() != nil {
		d.edges.release(edge, end, 0, limit.Ignored)
		endSpan(s, outcomeStopped, nil)
		return // shutting down: the part stays unacknowledged and is redelivered later
	}
	d.edges.release(edge, end, took, loadOutcome(err))
	d.failures.record(edge.host, err, end)
	if err == nil { // even at the shutdown deadline: what Target acknowledged is settled
		missing := d.acknowledge(ctx, s, env, part, resp)
		if len(missing) == 0 {
			endSpan(s, outcomeAcknowledged, nil)
			d.finishPart(ctx, s, nil)
			return
		}
		d.metrics.Retries.WithLabelValues("missing_ack").Inc()
		d.retryLater(ctx, s, missing, fmt.Errorf("%d of %d notifications not acknowledged", len(missing), len(part)), 0)
		return
	}
	var tErr *Error // declared past the success path: errors.As moves it to the heap
	if !errors.As(err, &tErr) {
		d.log.Error("unexpected delivery error", zap.String("session", s.id), zap.Error(err))
		d.retryLater(ctx, s, part, err, 0)
		return
	}
	switch {
	case tErr.Retryable:
		d.metrics.Retries.WithLabelValues(tErr.Reason).Inc()
		d.retryLater(ctx, s, part, err, tErr.RetryAfter)
	case tErr.Status == 400 && len(part) > 1:
		// A 400 voids the whole request: split to find the notifications Target rejects.
		half := len(part) / 2
		endSpan(s, outcomeSplit, err)
		d.finishPart(ctx, s, [][]*batch.Item{part[half:], part[:half]})
	default:
		reason, detail := "target_rejected", tErr.Message // a 400: Target names the bad field
		if tErr.Status != 400 {
			reason, detail = "target_status_"+tErr.Reason, err.Error() // the status too: a 403's body may be empty
		}
		for _, it := range part {
			d.deadLetter(ctx, it, reason, detail) // ctx carries the span: the dead letter links to it
		}
		endSpan(s, outcomeDeadLettered, err)
		d.finishPart(ctx, s, nil)
	}
}

// deadLetter hands it to the dead-letter writer; its lease stays pending until the copy is
// written.
func (d *Dispatcher) deadLetter(ctx context.Context, it *batch.Item, reason, detail string) {
	d.log.Debug("dead-lettering", zap.String("id", it.Notification.ID), zap.String("reason", reason), zap.String("detail", detail))
	if err := d.deadLetters.DeadLetter(ctx, it, reason, detail); err != nil {
		d.log.Debug("not dead-lettered: stopping; the event is redelivered", zap.String("id", it.Notification.ID), zap.Error(err))
	}
}

// post sends part to url and returns the answer, how long it took and when it came.
func (d *Dispatcher) post(ctx context.Context, url string, env *event.Envelope, part []*batch.Item) (resp *Response, took time.Duration, end time.Time, err error) {
	d.metrics.RequestsInFlight.Inc()
	d.metrics.RequestSize.Observe(float64(len(part)))
	start := d.now()
	resp, err = d.send(ctx, url, Body(env, part))
	end = d.now()
	took = end.Sub(start)
	d.metrics.RequestsInFlight.Dec()
	d.lastAnswer.Store(end.UnixNano())
	d.duration[statusClass(err)].get().Observe(took.Seconds())
	return resp, took, end, err
}

// acknowledge settles the acknowledged items and returns the rest.
func (d *Dispatcher) acknowledge(ctx context.Context, s *session, env *event.Envelope, part []*batch.Item, resp *Response) []*batch.Item {
	d.router.Learn(env, resp.EdgeHost)
	var missing []*batch.Item
	acked := 0
	now := d.now()
	var answer Answer
	if d.receipts != nil {
		answer = Answer{RequestID: resp.RequestID, EdgeHost: resp.EdgeHost, TntID: resp.TntID,
			LocationHint: cmp.Or(env.Hint, HintFromEdgeHost(resp.EdgeHost)), Status: http.StatusOK, Attempts: s.attempts, At: now}
	}
	ids := acknowledged{ids: resp.Acked}
	for i, it := range part {
		if !ids.has(i, it.Notification.ID) {
			missing = append(missing, it)
			continue
		}
		acked++
		d.deliveredCounter(it.Notification.Type).Inc()
		d.metrics.EventLatency.Observe(now.Sub(time.UnixMilli(it.Notification.Timestamp)).Seconds())
		if d.receipts == nil {
			it.Settle(lease.Acknowledged)
		} else if err := d.receipts.Acknowledged(ctx, it, answer); err != nil {
			d.log.Debug("no receipt: stopping; the event is redelivered", zap.String("id", it.Notification.ID), zap.Error(err))
		}
	}
	if acked > 0 {
		d.metrics.LastDelivery.Set(float64(now.UnixNano()) / 1e9)
	}
	return missing
}

func (d *Dispatcher) deliveredCounter(typ string) prometheus.Counter {
	switch typ {
	case notify.TypeDisplay:
		return d.delivered[0].get()
	case notify.TypeClick:
		return d.delivered[1].get()
	}
	return d.metrics.Delivered.WithLabelValues(typ)
}

// retryLater keeps part as the session's current part and makes the session ready again
// after the backoff, or dead-letters the batch's remaining parts when the policy gives up.
func (d *Dispatcher) retryLater(ctx context.Context, s *session, part []*batch.Item, cause error, retryAfter time.Duration) {
	d.mu.Lock()
	s.parts[len(s.parts)-1] = part
	if s.backoff == nil {
		s.backoff = d.newBackOff(s.started)
	}
	wait, ok := retry.Wait(s.backoff, retryAfter)
	if !ok {
		parts := s.parts
		s.parts = nil
		d.mu.Unlock()
		for _, p := range parts {
			for _, it := range dropStale(p) { // a given-up partition's items are its new owner's
				d.deadLetter(ctx, it, "retries_exhausted", cause.Error())
			}
		}
		endSpan(s, outcomeDeadLettered, cause)
		d.finishPart(ctx, s, nil)
		return
	}
	d.mu.Unlock()
	d.log.Debug("retrying", zap.String("session", s.id), zap.Duration("wait", wait), zap.Error(cause))
	// A timer, not a sleeping goroutine: during an outage every session waits here at once.
	time.AfterFunc(wait, func() {
		if ctx.Err() == nil {
			d.ready <- s
		}
	})
}

// newBackOff is the backoff of a batch that started at started and failed for the first
// time now: the policy's time limit counts from the batch's start, exactly as when every
// batch made its backoff on starting.
func (d *Dispatcher) newBackOff(started time.Time) backoff.BackOff {
	p := d.cfg.Retry
	if p.MaxElapsed > 0 {
		// At least 1ns: 0 would mean no limit. A spent limit stops at the first draw.
		p.MaxElapsed = max(p.MaxElapsed-time.Since(started), time.Nanosecond)
	}
	return p.NewBackOff()
}

// finishPart drops the current part (replacing it with split, if any) and makes the session
// ready again if it has anything left, or forgets it.
func (d *Dispatcher) finishPart(ctx context.Context, s *session, split [][]*batch.Item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(s.parts) > 0 {
		s.parts = s.parts[:len(s.parts)-1]
	}
	s.parts = append(s.parts, split...)
	if len(s.parts) == 0 && len(s.queue) == 0 {
		delete(d.sessions, s.id)
		return
	}
	if ctx.Err() == nil {
		d.ready <- s
	}
}

// startNextBatchLocked takes the next queued batch and merges into it the queued batches of
// the same envelope that fit: events that arrived while a request was in flight share the
// next request instead of waiting for their own.
func (d *Dispatcher) startNextBatchLocked(s *session) {
	first := s.queue[0]
	items := append([]*batch.Item(nil), first.Items...)
	bytes := first.Bytes
	rest := s.queue[:0]
	for _, b := range s.queue[1:] {
		fits := len(items)+len(b.Items) <= d.cfg.MaxNotifications && (d.cfg.MaxBytes <= 0 || bytes+b.Bytes <= d.cfg.MaxBytes)
		if b.Envelope.Key() == first.Envelope.Key() && fits {
			items = append(items, b.Items...)
			bytes += b.Bytes
			continue
		}
		rest = append(rest, b)
	}
	clear(s.queue[len(rest):])
	s.queue = rest
	s.env = first.Envelope
	s.parts = append(s.parts0[:0], items)
	s.backoff = nil
	s.attempts = 0
	s.started = time.Now() // the backoff's clock, not d.now
}

// allStale reports whether every item of part belongs to a partition given up.
func allStale(part []*batch.Item) bool {
	for _, it := range part {
		if !it.Stale() {
			return false
		}
	}
	return true
}

// dropStale returns part without its stale items, settling them as abandoned. Part itself is returned
// when nothing is stale (the usual case): parts are never written in place.
func dropStale(part []*batch.Item) []*batch.Item {
	first := -1
	for i, it := range part {
		if it.Stale() {
			first = i
			break
		}
	}
	if first < 0 {
		return part
	}
	live := make([]*batch.Item, first, len(part)-1)
	copy(live, part)
	part[first].Settle(lease.Abandoned) // its partition moved on: the next owner delivers it
	for _, it := range part[first+1:] {
		if it.Stale() {
			it.Settle(lease.Abandoned) // its partition moved on: the next owner delivers it
			continue
		}
		live = append(live, it)
	}
	return live
}

// loadOutcome is what a request's result says about its edge's load: retryable failures
// (throttling, 5xx, timeouts, connections refused) push back; answers about the request
// itself do not.
func loadOutcome(err error) limit.Outcome {
	var tErr *Error
	if err != nil && (!errors.As(err, &tErr) || tErr.Retryable) {
		return limit.PushedBack
	}
	return limit.Accepted
}

// The status classes of RequestDuration, as indexes of Dispatcher.duration.
const (
	class2xx = iota
	class5xx
	class4xx
	classError
	numClasses
)

func statusClass(err error) int {
	if err == nil {
		return class2xx
	}
	var tErr *Error
	switch {
	case errors.As(err, &tErr) && tErr.Status >= 500:
		return class5xx
	case errors.As(err, &tErr) && tErr.Status >= 400:
		return class4xx
	default:
		return classError
	}
}

// statusClassLabel is the status_class label of a class.
func statusClassLabel(class int) string {
	return [numClasses]string{class2xx: "2xx", class5xx: "5xx", class4xx: "4xx", classError: "error"}[class]
}

// SendReceipts makes the dispatcher hand acknowledged items to r, which settles them once
// their receipts are written. Call it before Run.
func (d *Dispatcher) SendReceipts(r Receipts) { d.receipts = r }
