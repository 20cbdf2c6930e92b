package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// BuildDaemon builds the real notifierd binary into out.
func BuildDaemon(ctx context.Context, repoRoot, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/notifierd")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/notifierd: %w\n%s", err, b)
	}
	return nil
}

// ShutdownTimeout is the daemons' shutdown.timeout (default 20s): the bench stops a daemon
// after every run, and a run cut by its time bound should not wait long for work in flight.
// It also bounds how long a revoked partition waits for its work.
const ShutdownTimeout = 5 * time.Second

// DaemonSpec is what changes between the bench's daemon runs; everything else is the
// daemon's default.
type DaemonSpec struct {
	Broker, Topic, Group, DLQTopic string
	SimURL                         string
	Linger                         time.Duration
	MaxNotifications               int   // 0: default
	MaxBufferedEvents              int   // 0: default
	MaxBufferedBytes               int64 // 0: default
	MaxInFlightPerPartition        int   // 0: default
	Pprof                          bool  // admin.pprof, for a CPU profile of the run
}

// Config is the daemon's configuration for the spec, validated, with the admin endpoint
// on adminAddr.
func (s DaemonSpec) Config(adminAddr string) (config.Config, error) {
	c := config.Default()
	c.Kafka.Brokers = []string{s.Broker}
	c.Kafka.Topic, c.Kafka.Group, c.Kafka.DLQTopic = s.Topic, s.Group, s.DLQTopic
	c.Kafka.StartOffset = "earliest"
	c.Target.Client = "benchclient"
	c.Target.URL = s.SimURL + "/c/{client}"
	c.Target.EdgeURL = s.SimURL + "/e/{hint}"
	c.Batch.Linger = s.Linger
	if s.MaxNotifications > 0 {
		c.Batch.MaxNotifications = s.MaxNotifications
	}
	if s.MaxBufferedEvents > 0 {
		c.Batch.MaxBufferedEvents = s.MaxBufferedEvents
	}
	if s.MaxBufferedBytes > 0 {
		c.Batch.MaxBufferedBytes = s.MaxBufferedBytes
	}
	if s.MaxInFlightPerPartition > 0 {
		c.Kafka.MaxInFlight = s.MaxInFlightPerPartition
	}
	c.Shutdown.Timeout = ShutdownTimeout
	c.Admin.Listen = adminAddr
	c.Admin.Pprof = s.Pprof
	return c, c.ValidateDaemon()
}

// Daemon is a running notifierd process.
type Daemon struct {
	cmd     *exec.Cmd
	Pid     int
	Admin   string // host:port of /metrics, /readyz
	Config  config.Config
	done    chan struct{}
	err     error  // the process's exit, once done is closed
	logPath string // its stdout and stderr
}

// StartDaemon writes the spec's configuration into dir and starts bin --config on it, its
// log in dir/notifierd.log. The process gets SIGKILL if the bench dies.
func StartDaemon(bin, dir string, spec DaemonSpec) (*Daemon, error) {
	admin, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg, err := spec.Config(admin)
	if err != nil {
		return nil, fmt.Errorf("daemon configuration: %w", err)
	}
	yaml, err := cfg.Redacted() // nothing secret in it; the same YAML the daemon reads
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "notifierd.yaml")
	if err := os.WriteFile(cfgPath, yaml, 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "notifierd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = withoutNotifierdEnv(os.Environ()) // the file alone decides
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	d := &Daemon{cmd: cmd, Pid: cmd.Process.Pid, Admin: admin, Config: cfg, done: make(chan struct{}), logPath: logPath}
	go func() {
		d.err = cmd.Wait()
		logFile.Close()
		close(d.done)
	}()
	return d, nil
}

func withoutNotifierdEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if len(e) < 10 || e[:10] != "NOTIFIERD_" {
			out = append(out, e)
		}
	}
	return out
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// WaitReady polls /readyz until the daemon has joined its group (200), it exits, or ctx ends.
func (d *Daemon) WaitReady(ctx context.Context) error {
	for {
		select {
		case <-d.done:
			return fmt.Errorf("notifierd exited before joining its group: %v (log in %s)", d.err, d.logPath)
		case <-ctx.Done():
			return fmt.Errorf("notifierd not ready: %w", ctx.Err())
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.Admin+"/readyz", nil)
		if err != nil {
			return err
		}
		if res, err := httpClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select { // /readyz is polled: the daemon has no other readiness signal
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Exited reports whether the process has ended.
func (d *Daemon) Exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// CPU is the process's user and system CPU time so far.
func (d *Daemon) CPU() (user, sys time.Duration) {
	u, s, _ := testbed.ProcCPU(d.Pid)
	return u, s
}

// Mem is the process's RSS and peak RSS in bytes.
func (d *Daemon) Mem() (rss, hwm int64) {
	m, _ := testbed.ProcMem(d.Pid)
	return m.RSS, m.HWM
}

// Metrics scrapes /metrics: one value per series.
func (d *Daemon) Metrics(ctx context.Context) (testbed.Series, error) {
	return testbed.Scrape(ctx, httpClient, d.Admin)
}

// Stop sends SIGTERM (a graceful stop) and waits up to grace, then kills the process.
func (d *Daemon) Stop(grace time.Duration) error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(grace):
		d.Kill()
		return fmt.Errorf("notifierd did not stop within %s of SIGTERM; killed (log in %s)", grace, d.logPath)
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return fmt.Errorf("notifierd exited with %v", ee)
	}
	return nil
}

// Kill ends the process at once and waits for it.
func (d *Daemon) Kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}
