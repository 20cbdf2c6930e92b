// Package admin serves the operator's HTTP endpoint: /metrics for Prometheus, /healthz that
// fails when the process is stuck (work pending, nothing progressing and nothing being
// attempted; not a process retrying through a Target outage), and /readyz once the consumer
// group has been joined and the topic has partitions. A 200 from either may carry a note of
// what the pod is going through (a Target outage) after "ok".
package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Probes answer the health questions.
type Probes struct {
	Ready   func() error // nil when ready; the error says why not
	Healthy func() error // nil when healthy; the error says why not
	// Note, if set, is what a 200 adds after "ok": trouble the pod rides out alive and
	// ready, such as a Target outage. Empty: plain "ok".
	Note func() string
}

// ok answers 200 with "ok" and the note, if any.
func (p Probes) ok(w http.ResponseWriter) {
	if p.Note != nil {
		if note := p.Note(); note != "" {
			fmt.Fprintln(w, "ok:", note)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// Handler returns the admin mux; withPprof adds Go's profiler under /debug/pprof/.
func Handler(g prometheus.Gatherer, p Probes, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := p.Healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		p.ok(w)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := p.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		p.ok(w)
	})
	return mux
}

// Listen binds the admin address; the daemon does it before consuming, so a port in use
// stops it at start instead of leaving it running without probes.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener on %s (admin.listen): %w", addr, err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *zap.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("admin endpoint listening", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("admin endpoint %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("admin endpoint %s: %w", ln.Addr(), serveErr)
	}
	if err != nil {
		return fmt.Errorf("stopping the admin endpoint %s: %w", ln.Addr(), err)
	}
	return nil
}
