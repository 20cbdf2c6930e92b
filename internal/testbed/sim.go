package testbed

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// SimOptions shape a Target simulator served in the test bed's own process.
type SimOptions struct {
	Config   targetsim.Config
	Faults   targetsim.Faults // latency, errors, throttling, dropped acknowledgements
	ErrorLog *log.Logger      // the HTTP server's own errors; nil: the standard logger
	// TLS serves HTTPS with the simulator's test CA (h2 offered unless it says HTTP/1.1
	// only); nil serves plain HTTP.
	TLS *targetsim.TLS
}

// SimServer is the Target simulator on a loopback port of the test bed's process, so its
// records are read directly (cmd/targetsim is the same simulator as a process of its own).
type SimServer struct {
	*targetsim.Sim
	URL    string // http://127.0.0.1:PORT, or https:// with SimOptions.TLS
	srv    *http.Server
	served chan error
	conns  atomic.Int64
}

// Conns is the number of connections the simulator accepted.
func (s *SimServer) Conns() int64 { return s.conns.Load() }

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// ServeSim serves a fresh simulator until Close.
func ServeSim(ctx context.Context, o SimOptions) (*SimServer, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the Target simulator: %w", err)
	}
	sim := targetsim.New(o.Config, o.Faults)
	s := &SimServer{
		Sim: sim, URL: "http://" + ln.Addr().String(), served: make(chan error, 1),
		srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ErrorLog: o.ErrorLog},
	}
	ln = countingListener{ln, &s.conns}
	if o.TLS != nil {
		ln = o.TLS.Listener(ln)
		s.URL = "https://" + strings.TrimPrefix(s.URL, "http://") // Serve speaks h2 where ALPN chose it
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops serving and drops open connections. Callers close it once notifierd has
// stopped, so nothing is in flight that a graceful Shutdown would wait for; Shutdown would
// instead wait for connections the daemon's HTTP client dialled but never used.
func (s *SimServer) Close() error {
	err := s.srv.Close()
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stopping the Target simulator: %w", err)
	}
	return nil
}
