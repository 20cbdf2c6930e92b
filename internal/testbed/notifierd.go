package testbed

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/notifierd/notifierd/internal/config"
)

// BuildBinary builds the command pkg (./cmd/notifierd, ./cmd/targetsim) into out.
func BuildBinary(ctx context.Context, repoRoot, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// Notifierd is a notifierd process started on a configuration file the test bed wrote.
type Notifierd struct {
	*Proc
	Config config.Config
	Admin  string // host:port of /metrics, /readyz, once WaitAdmin found it

	HTTP *http.Client // for the admin endpoint: a 5 s timeout
	mu   sync.Mutex
	peak Memory // highest VmHWM and VmRSS seen
}

var adminListening = regexp.MustCompile(`"msg":"admin endpoint listening","addr":"([0-9.:]+)"`)

// StartNotifierd validates cfg, writes it to dir/name.yaml and starts bin --config on it
// through ps, its log in dir/name.log and env added to its environment. Its memory is
// sampled every 100 ms until it exits, so PeakRSS outlives /proc/<pid>.
func (ps *ProcSet) StartNotifierd(bin, dir, name string, cfg config.Config, env []string) (*Notifierd, error) {
	if err := cfg.ValidateDaemon(); err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", name, err)
	}
	yaml, err := cfg.Redacted() // nothing secret in it: the same YAML the daemon reads
	if err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfgPath, yaml, 0o644); err != nil {
		return nil, err
	}
	p, err := ps.Start(name, filepath.Join(dir, name+".log"), bin, []string{"--config", cfgPath}, env)
	if err != nil {
		return nil, err
	}
	n := &Notifierd{Proc: p, Config: cfg, HTTP: &http.Client{Timeout: 5 * time.Second}}
	go n.sample()
	return n, nil
}

func (n *Notifierd) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if m, err := ProcMem(n.PID()); err == nil {
			n.mu.Lock()
			n.peak.HWM = max(n.peak.HWM, m.HWM)
			n.peak.RSS = max(n.peak.RSS, m.RSS)
			n.mu.Unlock()
		}
		select {
		case <-n.Done():
			return
		case <-t.C:
		}
	}
}

// PeakRSS is the highest resident size seen: the kernel's own peak (VmHWM) as last sampled.
func (n *Notifierd) PeakRSS() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return max(n.peak.HWM, n.peak.RSS)
}

// Mem is the process's RSS and peak RSS now, in bytes (0 once it has exited).
func (n *Notifierd) Mem() (rss, hwm int64) {
	m, _ := ProcMem(n.PID())
	return m.RSS, m.HWM
}

// CPU is the process's user and system CPU time so far.
func (n *Notifierd) CPU() (user, sys time.Duration) {
	u, s, _ := ProcCPU(n.PID())
	return u, s
}

// WaitAdmin waits until notifierd has logged the address its admin endpoint listens on
// (the configuration may ask for port 0).
func (n *Notifierd) WaitAdmin(ctx context.Context) error {
	if n.Admin != "" {
		return nil
	}
	m, err := n.WaitLog(ctx, adminListening)
	if err != nil {
		return err
	}
	n.Admin = m[1]
	return nil
}

// WaitReady waits until /readyz answers 200: the member has joined its group.
func (n *Notifierd) WaitReady(ctx context.Context) error {
	if err := n.WaitAdmin(ctx); err != nil {
		return err
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Admin+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := n.HTTP.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select { // /readyz is polled: the daemon has no other readiness signal
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (joined the group): %w", n.Name, ctx.Err())
		case <-n.Done():
			return fmt.Errorf("%s exited (%v) before it was ready; see %s%s", n.Name, n.ExitErr(), n.Log, Tail(n.LogPath, 5))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Families scrapes /metrics, with labels.
func (n *Notifierd) Families(ctx context.Context) (Families, error) {
	if n.Admin == "" {
		return nil, fmt.Errorf("%s: admin address not known yet", n.Name)
	}
	return Scrape(ctx, n.HTTP, n.Admin) // Scrape names the endpoint; callers name the process
}

// Metrics scrapes /metrics, summed over labels per metric name.
func (n *Notifierd) Metrics(ctx context.Context) (Metrics, error) {
	fams, err := n.Families(ctx)
	if err != nil {
		return nil, err
	}
	return fams.Sum(), nil
}
