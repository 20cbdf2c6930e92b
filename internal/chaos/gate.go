package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Gate is a TCP forwarder in front of the simulator that can be shut, so that Target is
// unreachable (connections refused, open ones reset) and opened again on the same port.
type Gate struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// OpenGate listens on a free loopback port and forwards to target (host:port).
func OpenGate(ctx context.Context, target string) (*Gate, error) {
	g := &Gate{target: target, conns: map[net.Conn]bool{}}
	if err := g.listen(ctx, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	g.addr = g.ln.Addr().String()
	return g, nil
}

// Addr is the gate's host:port, what the daemon is configured with.
func (g *Gate) Addr() string { return g.addr }

func (g *Gate) listen(ctx context.Context, addr string) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("gate in front of the simulator: %w", err)
	}
	g.mu.Lock()
	g.ln = ln
	g.mu.Unlock()
	g.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.wg.Go(func() { g.forward(c) })
		}
	})
	return nil
}

// forward copies between c and a new connection to the simulator until either side ends.
func (g *Gate) forward(c net.Conn) {
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		c.Close()
		return
	}
	if !g.track(c, up) {
		return
	}
	var once sync.Once
	done := func() { once.Do(func() { c.Close(); up.Close() }) }
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(up, c); done() })
	wg.Go(func() { _, _ = io.Copy(c, up); done() })
	wg.Wait()
	g.untrack(c, up)
}

func (g *Gate) track(conns ...net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln == nil { // shut between Accept and here
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		g.conns[c] = true
	}
	return true
}

func (g *Gate) untrack(conns ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range conns {
		delete(g.conns, c)
	}
}

// Shut stops listening and resets every open connection: from now on connecting is refused.
func (g *Gate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		g.ln.Close()
		g.ln = nil
	}
	for c := range g.conns {
		c.Close()
	}
}

// Reopen listens again on the same port.
func (g *Gate) Reopen(ctx context.Context) error {
	g.mu.Lock()
	open := g.ln != nil
	g.mu.Unlock()
	if open {
		return errors.New("gate already open")
	}
	return g.listen(ctx, g.addr)
}

// Close shuts the gate and waits for its goroutines.
func (g *Gate) Close() {
	g.Shut()
	g.wg.Wait()
}
