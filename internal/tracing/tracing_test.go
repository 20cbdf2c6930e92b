package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Tracing is off unless OTEL_TRACES_EXPORTER names an exporter: the SDK's own default
// (otlp) is not taken.
func TestSetupIsOffUnlessAnExporterIsNamed(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		on   bool
	}{
		{"unset", nil, false},
		{"empty", map[string]string{ExporterEnv: ""}, false},
		{"none", map[string]string{ExporterEnv: "none"}, false},
		{"endpoint alone", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false},
		{"otlp", map[string]string{ExporterEnv: "otlp"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // nothing listens: never reached here
			p, err := Setup(context.Background(), "test", envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			if p.Enabled != tt.on || (p.Scope() != nil) != tt.on {
				t.Errorf("enabled %v, tracer %v; want on %v", p.Enabled, p.Scope(), tt.on)
			}
		})
	}
}

func TestSetupRefusesAnUnknownExporterOrProtocol(t *testing.T) {
	for _, env := range []map[string]string{{ExporterEnv: "zipkin"}, {ExporterEnv: "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}} {
		for k, v := range env {
			t.Setenv(k, v) // autoexport reads the process environment
		}
		if _, err := Setup(context.Background(), "test", envOf(env)); err == nil {
			t.Errorf("%v: no error", env)
		}
	}
}

// A collector that accepts connections and never answers costs spans, not time: ending
// spans never waits, and shutting down gives up after FlushTimeout.
func TestAHangingCollectorNeitherBlocksSpansNorTheExit(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	env := map[string]string{ExporterEnv: "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_BSP_MAX_QUEUE_SIZE": "64", "OTEL_BSP_SCHEDULE_DELAY": "1"}
	for k, v := range env {
		t.Setenv(k, v)
	}
	p, err := Setup(context.Background(), "test", envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	tracer := p.Scope()
	start := time.Now()
	for range 100_000 { // far more than the queue holds while the export hangs
		_, s := tracer.Start(context.Background(), "x")
		s.End()
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("ending 100,000 spans took %s with the collector hanging", took)
	}
	start = time.Now()
	_ = p.Shutdown(context.Background())
	if took := time.Since(start); took > FlushTimeout+2*time.Second {
		t.Errorf("shutdown took %s, want at most about %s", took, FlushTimeout)
	}
}
