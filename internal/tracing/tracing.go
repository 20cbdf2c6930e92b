// Package tracing owns notifierd's OpenTelemetry tracing: the tracer provider built from the
// standard OTEL_* environment variables (off unless an exporter is named) and the attribute
// names the spans share. The W3C trace context carried in Kafka record headers lives in
// kafkaheaders, so that this package, which delivery imports, stays free of Kafka.
// Nothing here sets OpenTelemetry's globals: main wires the provider it gets from Setup.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ExporterEnv names the exporter; unset, empty or "none" leaves tracing off.
const ExporterEnv = "OTEL_TRACES_EXPORTER"

// ScopeName is the instrumentation scope of notifierd's own spans.
const ScopeName = "github.com/notifierd/notifierd"

// Provider is the tracer provider the daemon runs with and how to stop it.
type Provider struct {
	trace.TracerProvider
	// Enabled is false for the no-op provider: callers skip building spans, links and
	// wrappers altogether, so tracing off costs nothing.
	Enabled bool
	sdk     *sdktrace.TracerProvider
}

// Off is the no-op provider: no SDK, no exporter, nothing recorded.
func Off() *Provider { return &Provider{TracerProvider: noop.NewTracerProvider()} }

// Scope is the tracer of notifierd's own spans (ScopeName), nil when tracing is off.
func (p *Provider) Scope() trace.Tracer {
	if p == nil || !p.Enabled {
		return nil
	}
	return p.TracerProvider.Tracer(ScopeName)
}

// Setup builds the provider the environment asks for. With OTEL_TRACES_EXPORTER unset, empty
// or "none" it is Off (the SDK's own default would be OTLP: the issue wants tracing opt-in).
// Otherwise the exporter comes from autoexport (otlp over http/protobuf or grpc, as
// OTEL_EXPORTER_OTLP_PROTOCOL says, or console), the sampler from OTEL_TRACES_SAMPLER
// (parentbased_always_on by default), the batch processor's queue from OTEL_BSP_*, and the
// resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over service.name=notifierd.
// The batch processor drops spans when its queue is full: a slow or missing collector loses
// spans, never delays delivery.
func Setup(ctx context.Context, version string, lookup func(string) (string, bool)) (*Provider, error) {
	name, _ := lookup(ExporterEnv)
	if name = strings.TrimSpace(name); name == "" || name == "none" {
		return Off(), nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %s=%s: %w", ExporterEnv, name, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "notifierd"), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource from OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// No WithSampler: the SDK reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG itself.
	// No WithBlocking: a full queue drops the span instead of waiting.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: tp, Enabled: true, sdk: tp}, nil
}

// FlushTimeout bounds the flush of spans still queued when the daemon stops.
const FlushTimeout = 5 * time.Second

// Shutdown flushes what is queued, within FlushTimeout (or ctx), and stops the exporter.
// Spans not exported by then are lost: a collector that is down must not hold the exit.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
	defer cancel()
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flushing spans at shutdown: %w", err)
	}
	return nil
}
