package chaos

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// DaemonConfig is the part of notifierd's configuration the scenarios vary; render writes
// the YAML file notifierd reads with --config.
type DaemonConfig struct {
	Brokers, Topic, Group, DLQTopic string
	SimURL                          string

	TargetTimeout     time.Duration
	RetryInitial      time.Duration
	RetryMax          time.Duration
	MaxConcurrency    int
	Linger            time.Duration
	MaxBufferedEvents int
	MaxBufferedBytes  int64
	MaxInFlight       int // kafka.maxInFlightPerPartition
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	CommitInterval    time.Duration
	ShutdownTimeout   time.Duration
	EventsMaxBytes    int
	LogLevel          string
}

// defaultDaemonConfig is what every scenario starts from: quick group membership (the
// broker's minimum session timeout is 6 s), commits every 200 ms, retries capped at 1 s so
// recovery after a fault is measured in seconds, not in backoff, and small events.
func defaultDaemonConfig() DaemonConfig {
	return DaemonConfig{
		TargetTimeout:     2 * time.Second,
		RetryInitial:      50 * time.Millisecond,
		RetryMax:          time.Second,
		MaxConcurrency:    64,
		Linger:            50 * time.Millisecond,
		MaxBufferedEvents: 100000,
		MaxBufferedBytes:  256 << 20,
		MaxInFlight:       10000,
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: 500 * time.Millisecond,
		RebalanceTimeout:  15 * time.Second,
		CommitInterval:    200 * time.Millisecond,
		ShutdownTimeout:   10 * time.Second,
		EventsMaxBytes:    eventsMaxBytes,
		LogLevel:          "info",
	}
}

// yaml is the daemon's configuration file: config.Default with the scenario's values,
// validated here, so a wrong key or value fails the suite before a daemon starts.
func (c DaemonConfig) yaml() ([]byte, error) {
	cfg := config.Default()
	cfg.Kafka.Brokers = strings.Split(c.Brokers, ",") // one address, or a cluster's bootstrap list
	cfg.Kafka.Topic, cfg.Kafka.Group, cfg.Kafka.DLQTopic = c.Topic, c.Group, c.DLQTopic
	cfg.Kafka.StartOffset = "earliest"
	cfg.Kafka.MaxInFlight = c.MaxInFlight
	cfg.Kafka.CommitInterval, cfg.Kafka.SessionTimeout = c.CommitInterval, c.SessionTimeout
	cfg.Kafka.RebalanceTimeout, cfg.Kafka.HeartbeatInterval = c.RebalanceTimeout, c.HeartbeatInterval
	cfg.Target.Client = "chaos"
	cfg.Target.URL, cfg.Target.EdgeURL = c.SimURL+"/c/{client}", c.SimURL+"/e/{hint}"
	cfg.Target.Timeout, cfg.Target.MaxConcurrency = c.TargetTimeout, c.MaxConcurrency
	cfg.Target.Retry = config.Retry{InitialInterval: c.RetryInitial, MaxInterval: c.RetryMax, Multiplier: 2}
	cfg.Batch.Linger = c.Linger
	cfg.Batch.MaxBufferedEvents, cfg.Batch.MaxBufferedBytes = c.MaxBufferedEvents, c.MaxBufferedBytes
	cfg.Events.MaxBytes, cfg.Events.MaxAge, cfg.Events.MaxFuture = c.EventsMaxBytes, 168*time.Hour, 5*time.Minute
	cfg.Shutdown.Timeout = c.ShutdownTimeout
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Log.Level = c.LogLevel
	if err := cfg.ValidateDaemon(); err != nil {
		return nil, fmt.Errorf("chaos daemon configuration: %w", err)
	}
	return cfg.Redacted() // nothing secret in it: the YAML the daemon reads
}

// Notifierd is one notifierd process.
type Notifierd struct {
	*Proc
	Admin string // host:port of /metrics, /readyz, once known

	mu   sync.Mutex
	peak testbed.Memory // highest VmHWM/VmRSS seen
	stop chan struct{}
	http *http.Client
}

var adminListening = regexp.MustCompile(`"msg":"admin endpoint listening","addr":"([0-9.:]+)"`)

// startNotifierd starts notifierd with the configuration file at cfgPath and samples its
// memory every 100 ms until it exits.
func startNotifierd(ps *procSet, bin, name, cfgPath, logPath string, env []string) (*Notifierd, error) {
	p, err := ps.start(name, logPath, bin, []string{"--config", cfgPath}, env)
	if err != nil {
		return nil, err
	}
	n := &Notifierd{Proc: p, stop: make(chan struct{}), http: &http.Client{Timeout: 5 * time.Second}}
	go n.sample()
	return n, nil
}

func (n *Notifierd) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if m, err := testbed.ProcMem(n.PID()); err == nil {
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

// WaitAdmin waits until notifierd has logged its admin address.
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

// WaitReady waits until /readyz answers 200: the member has joined the group.
func (n *Notifierd) WaitReady(ctx context.Context) error {
	if err := n.WaitAdmin(ctx); err != nil {
		return err
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Admin+"/readyz", nil)
		if resp, err := n.http.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (joined the group): %w", n.Name, ctx.Err())
		case <-n.Done():
			return fmt.Errorf("%s exited (%v) before it was ready; see %s%s", n.Name, n.ExitErr(), n.Log, tail(n.LogPath, 5))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Metrics scrapes /metrics, summed over labels per metric name.
func (n *Notifierd) Metrics(ctx context.Context) (testbed.Metrics, error) {
	if n.Admin == "" {
		return nil, fmt.Errorf("%s: admin address not known yet", n.Name)
	}
	s, err := testbed.Scrape(ctx, n.http, n.Admin)
	if err != nil {
		return nil, err // Scrape names the endpoint; the callers name the process
	}
	return s.Sum(), nil
}
