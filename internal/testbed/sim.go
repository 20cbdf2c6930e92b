package testbed

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// SimOptions shape a Target simulator served in the test bed's own process.
type SimOptions struct {
	Config   targetsim.Config
	Faults   targetsim.Faults // latency, errors, throttling, dropped acknowledgements
	ErrorLog *log.Logger      // the HTTP server's own errors; nil: the standard logger
}

// SimServer is the Target simulator on a loopback port of the test bed's process, so its
// records are read directly (cmd/targetsim is the same simulator as a process of its own).
type SimServer struct {
	*targetsim.Sim
	URL    string // http://127.0.0.1:PORT
	srv    *http.Server
	served chan error
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
