package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// simTLS is an HTTPS simulator's identity and the CA file the daemon trusts it by.
type simTLS struct {
	server *targetsim.TLS
	caPath string
}

// newSimTLS makes a test CA (h2 offered unless http1) and writes it under dir.
func newSimTLS(dir string, http1 bool) (*simTLS, error) {
	t, err := targetsim.NewTLS(targetsim.TLSOptions{HTTP1Only: http1})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "target-ca.pem")
	if err := os.WriteFile(path, t.CAPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("writing the simulator's CA: %w", err)
	}
	return &simTLS{server: t, caPath: path}, nil
}

func (t *simTLS) caFile() string {
	if t == nil {
		return ""
	}
	return t.caPath
}

// http1 is whether the daemon must speak HTTP/1.1: the simulator offers nothing else.
func (t *simTLS) http1() bool { return t != nil && !t.server.HTTP2() }

// Protocols the TLS runs compare.
var tlsProtocols = []struct {
	name  string
	http1 bool
}{{"HTTP/1.1", true}, {"HTTP/2", false}}

// tlsRuns measures notifierd and the bare HTTP sender over HTTPS, HTTP/1.1 and HTTP/2, at
// 0 ms: CPU per request and per event, and the connections each opened.
func (b *Bench) tlsRuns(ctx context.Context) error {
	topic, p, err := b.latencyData(ctx)
	if err != nil {
		return err
	}
	for _, proto := range tlsProtocols {
		name := "tls-h2"
		if proto.http1 {
			name = "tls-h1"
		}
		t, err := newSimTLS(filepath.Join(b.dir, name), proto.http1)
		if err != nil {
			return err
		}
		b.logf("notifierd over HTTPS, %s, 0 ms: %d events", proto.name, p.Count())
		run, err := b.runDaemon(ctx, daemonRun{name: name, topic: topic, bound: b.opt.SweepTime, produced: p, partialOK: true, tls: t})
		if err != nil {
			return err
		}
		floor, err := b.sendFloor(ctx, t)
		if err != nil {
			return err
		}
		b.res.TLS = append(b.res.TLS, TLSRun{Protocol: proto.name, Run: *run, Floor: *floor})
	}
	return nil
}
