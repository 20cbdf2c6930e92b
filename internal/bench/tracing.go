package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TracingRun is a 0 ms drain of the traced data set (every event with a traceparent header
// of its own) with tracing off (OTEL_TRACES_EXPORTER=none) or on, sampling every span and
// exporting OTLP/HTTP to a sink in the bench process.
type TracingRun struct {
	On    bool
	Run   DaemonRun
	Spans int64 // spans the sink received
	Links int64 // links on them: one per event delivered, one per event dead-lettered
}

// tracingRuns measures what tracing costs: the same drain off, then on, back to back.
func (b *Bench) tracingRuns(ctx context.Context) error {
	topic, p, err := b.tracedData(ctx)
	if err != nil {
		return err
	}
	sink := &otlpSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	for _, on := range []bool{false, true} {
		name, env := "tracing-off", []string{"OTEL_TRACES_EXPORTER=none"} // none even if the bench's environment names one
		if on {
			name, env = "tracing-on", []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
				"OTEL_EXPORTER_OTLP_ENDPOINT=" + srv.URL, "OTEL_TRACES_SAMPLER=always_on"}
		}
		b.logf("notifierd, 0 ms, tracing %s: %d events", map[bool]string{false: "off", true: "on, 100 % sampled"}[on], p.Count())
		spans0, links0 := sink.spans.Load(), sink.links.Load()
		run, err := b.runDaemon(ctx, daemonRun{name: name, topic: topic, bound: b.opt.SweepTime, produced: p, partialOK: true, env: env})
		if err != nil {
			return err
		}
		// runDaemon has stopped the daemon, which flushed its spans before exiting.
		b.res.Tracing = append(b.res.Tracing, TracingRun{On: on, Run: *run, Spans: sink.spans.Load() - spans0, Links: sink.links.Load() - links0})
	}
	return nil
}

// tracedData produces the latency data set's size of page views, each event with a W3C
// traceparent header naming a span of a trace of its own, as a traced producer writes them.
func (b *Bench) tracedData(ctx context.Context) (string, *Produced, error) {
	topic, err := b.topic(ctx, "traced", b.opt.Partitions)
	if err != nil {
		return "", nil, err
	}
	w := NewWorkload(b.opt.Sessions, b.opt.Seed+11, "t")
	rng := rand.New(rand.NewPCG(b.opt.Seed, 16))
	prod := b.k.producer(topic, 5*time.Millisecond)
	defer prod.Close()
	out := &Produced{}
	start := time.Now()
	for out.Count() < b.opt.LatencyEvents {
		var batch []Message
		for len(batch) < 4000 && out.Count()+int64(len(batch)) < b.opt.LatencyEvents {
			batch = append(batch, w.PageView(time.Now().UnixMilli())...)
		}
		batch = batch[:min(int64(len(batch)), b.opt.LatencyEvents-out.Count())]
		msgs := toKafka(batch)
		for i := range msgs {
			tp := fmt.Sprintf("00-%016x%016x-%016x-01", rng.Uint64(), rng.Uint64(), rng.Uint64()|1)
			msgs[i].Headers = []kafka.Header{{Key: "traceparent", Value: []byte(tp)}}
		}
		if err := prod.Write(ctx, msgs...); err != nil {
			return "", nil, fmt.Errorf("producing the traced data set: %w", err)
		}
		out.add(batch)
	}
	out.Elapsed = time.Since(start)
	return topic, out, nil
}

// otlpSink is the collector of the tracing runs: it decodes OTLP/HTTP protobuf trace exports
// and counts their spans and links.
type otlpSink struct{ spans, links atomic.Int64 }

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			s.spans.Add(int64(len(ss.Spans)))
			for _, sp := range ss.Spans {
				s.links.Add(int64(len(sp.Links)))
			}
		}
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}
