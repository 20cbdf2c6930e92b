// Command targetsim runs the Adobe Target Delivery API simulator
// (internal/targetsim) as its own process, for end-to-end runs and benchmarks
// of notifierd. Faults set by flags can be changed at runtime with
// PUT /_sim/faults; GET /_sim/stats and /_sim/notifications show what arrived.
//
// With -tls it serves HTTPS with a CA made at start and kept in memory; -tls-ca-out writes
// that CA's certificate for clients to trust (notifierd's target.tls.caFile). h2 is offered
// by ALPN unless -http1-only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/targetsim"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runWith(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// options are the parsed flags.
type options struct {
	listen          string
	debug           bool
	shutdownTimeout time.Duration
	cfg             targetsim.Config
	faults          targetsim.Faults
	tls             bool
	tlsCAOut        string // where the CA certificate is written (PEM); empty: not written
	tlsOpts         targetsim.TLSOptions
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var badTokens, tlsHosts string
	var outageFor time.Duration
	fs := flag.NewFlagSet("targetsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "address to listen on (port 0 picks one; the address is printed)")
	fs.BoolVar(&o.debug, "debug", false, "log every request")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 5*time.Second, "how long to let in-flight requests finish on shutdown")
	fs.IntVar(&o.cfg.MaxNotifications, "max-notifications", 50, "most notifications accepted in one request")
	fs.StringVar(&o.cfg.DefaultEdgeHint, "edge-hint", "35", "edgeHost hint for requests not routed to /e/{hint}")
	fs.BoolVar(&o.cfg.RecordRequests, "record", false, "keep a per-request log (GET /_sim/requests); memory grows with traffic")
	fs.DurationVar(&o.faults.LatencyMin, "latency-min", 0, "minimum added latency per request")
	fs.DurationVar(&o.faults.LatencyMax, "latency-max", 0, "maximum added latency per request")
	fs.Float64Var(&o.faults.ErrorRate, "error-rate", 0, "fraction of requests answered with -error-status")
	fs.IntVar(&o.faults.ErrorStatus, "error-status", 503, "5xx status for -error-rate")
	fs.Float64Var(&o.faults.ThrottleRate, "throttle-rate", 0, "fraction of requests answered 429")
	fs.DurationVar(&o.faults.RetryAfter, "retry-after", time.Second, "Retry-After of 429s")
	fs.StringVar(&badTokens, "bad-tokens", "", "comma-separated tokens that make a request 400")
	fs.Float64Var(&o.faults.DropAckRate, "drop-ack-rate", 0, "fraction of notification ids left out of 200 acknowledgements")
	fs.Float64Var(&o.faults.HangRate, "hang-rate", 0, "fraction of requests that never get an answer")
	fs.DurationVar(&outageFor, "outage-for", 0, "answer every request 503 for this long after start")
	fs.IntVar(&o.faults.MaxInFlightPerSession, "max-inflight-per-session", 0, "420 beyond this many concurrent requests per sessionId (Target: 100; 0: no limit)")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS with a test CA made at start (ECDSA P-256; the leaf covers 127.0.0.1, ::1, localhost and -tls-hosts)")
	fs.StringVar(&o.tlsCAOut, "tls-ca-out", "", "with -tls, write the CA certificate (PEM) to this file for clients to trust")
	fs.StringVar(&tlsHosts, "tls-hosts", "", "with -tls, comma-separated extra host names or IPs the certificate covers")
	fs.BoolVar(&o.tlsOpts.HTTP1Only, "http1-only", false, "with -tls, offer only HTTP/1.1 by ALPN (default offers h2 first)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if badTokens != "" {
		o.faults.BadTokens = strings.Split(badTokens, ",")
	}
	if tlsHosts != "" {
		o.tlsOpts.Hosts = strings.Split(tlsHosts, ",")
	}
	if !o.tls && (o.tlsCAOut != "" || tlsHosts != "" || o.tlsOpts.HTTP1Only) {
		return o, errors.New("-tls-ca-out, -tls-hosts and -http1-only need -tls")
	}
	if outageFor > 0 {
		o.faults.OutageUntil = time.Now().Add(outageFor)
	}
	return o, o.faults.Validate()
}

func newLogger(debug bool) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	if debug {
		cfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	return cfg.Build()
}

// runWith serves until ctx is done, then shuts down gracefully; it returns
// the exit code (2 for bad flags).
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "targetsim:", err)
		return 2
	}
	log, err := newLogger(o.debug)
	if err != nil {
		fmt.Fprintln(stderr, "targetsim: logger:", err)
		return 1
	}
	defer func() { _ = log.Sync() }()
	o.cfg.Logger = log
	return serve(ctx, o, log, stdout)
}

func serve(ctx context.Context, o options, log *zap.Logger, stdout io.Writer) int {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.listen)
	if err != nil {
		log.Error("listen", zap.Error(err))
		return 1
	}
	scheme := "http"
	if o.tls {
		if ln, err = listenTLS(ln, o); err != nil {
			log.Error("tls", zap.Error(err))
			return 1
		}
		scheme = "https"
	}
	srv := &http.Server{
		Handler:           targetsim.New(o.cfg, o.faults),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "targetsim listening on %s://%s\n", scheme, ln.Addr())
	log.Info("targetsim listening", zap.String("scheme", scheme), zap.Stringer("addr", ln.Addr()))

	select {
	case err := <-served:
		log.Error("serve", zap.Error(err))
		return 1
	case <-ctx.Done():
	}
	// Hung requests (-hang-rate) never finish on their own: after the grace
	// period Close cuts them off, which ends their handlers.
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("graceful shutdown incomplete, closing", zap.Error(err))
		_ = srv.Close()
	}
	<-served
	log.Info("targetsim stopped")
	return 0
}

// listenTLS wraps ln in HTTPS with a fresh test CA, written to -tls-ca-out before anything
// is served, so a client that waits for the "listening" line finds the file.
func listenTLS(ln net.Listener, o options) (net.Listener, error) {
	tl, err := targetsim.NewTLS(o.tlsOpts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if o.tlsCAOut != "" {
		if err := os.WriteFile(o.tlsCAOut, tl.CAPEM(), 0o644); err != nil {
			ln.Close()
			return nil, fmt.Errorf("writing the CA certificate (-tls-ca-out): %w", err)
		}
	}
	return tl.Listener(ln), nil
}
