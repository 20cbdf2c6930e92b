package chaos

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// Sim is the Target simulator running as its own process (cmd/targetsim), steered through
// its control API.
type Sim struct {
	*testbed.Proc
	testbed.SimClient
}

var simListening = regexp.MustCompile(`targetsim listening on (http://[0-9.:]+)`)

func startSim(ctx context.Context, ps *testbed.ProcSet, bin, logPath string) (*Sim, error) {
	p, err := ps.Start("targetsim", logPath, bin, []string{"-listen", "127.0.0.1:0", "-shutdown-timeout", "1s"}, nil)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := p.WaitLog(wctx, simListening)
	if err != nil {
		return nil, err
	}
	return &Sim{Proc: p, SimClient: testbed.SimClient{URL: m[1], HTTP: &http.Client{Timeout: 60 * time.Second}}}, nil
}
