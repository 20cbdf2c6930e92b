package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// simServer serves the Target simulator on a loopback port.
type simServer struct {
	url    string
	srv    *http.Server
	served chan error
}

// serveSim serves h on a free loopback port until stop.
func serveSim(ctx context.Context, h http.Handler, log *zap.Logger) (*simServer, error) {
	errLog, err := zap.NewStdLogAt(log, zap.WarnLevel)
	if err != nil {
		return nil, fmt.Errorf("logger for the Target simulator: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the Target simulator: %w", err)
	}
	s := &simServer{
		url:    "http://" + ln.Addr().String(),
		srv:    &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog},
		served: make(chan error, 1),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// stop closes the server. It runs once notifierd has stopped, so nothing is in flight that a
// graceful Shutdown would wait for; Shutdown would instead wait up to 5 s for connections the
// daemon's HTTP client dialled but never used.
func (s *simServer) stop() error {
	err := s.srv.Close()
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stopping the Target simulator: %w", err)
	}
	return nil
}
