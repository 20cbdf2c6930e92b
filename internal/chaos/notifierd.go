package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
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

func (c DaemonConfig) yaml() ([]byte, error) {
	d := func(v time.Duration) string { return v.String() }
	doc := map[string]any{
		"kafka": map[string]any{
			"brokers": []string{c.Brokers}, "topic": c.Topic, "group": c.Group, "dlqTopic": c.DLQTopic,
			"startOffset": "earliest", "maxInFlightPerPartition": c.MaxInFlight,
			"commitInterval": d(c.CommitInterval), "sessionTimeout": d(c.SessionTimeout),
			"rebalanceTimeout": d(c.RebalanceTimeout), "heartbeatInterval": d(c.HeartbeatInterval),
		},
		"target": map[string]any{
			"client": "chaos", "url": c.SimURL + "/c/{client}", "edgeUrl": c.SimURL + "/e/{hint}",
			"timeout": d(c.TargetTimeout), "maxConcurrency": c.MaxConcurrency,
			"retry": map[string]any{"initialInterval": d(c.RetryInitial), "maxInterval": d(c.RetryMax), "multiplier": 2, "maxElapsedTime": "0s"},
		},
		"batch": map[string]any{
			"linger": d(c.Linger), "maxBufferedEvents": c.MaxBufferedEvents, "maxBufferedBytes": c.MaxBufferedBytes,
		},
		"events":   map[string]any{"maxBytes": c.EventsMaxBytes, "maxAge": "168h", "maxFuture": "5m"},
		"shutdown": map[string]any{"timeout": d(c.ShutdownTimeout)},
		"admin":    map[string]any{"listen": "127.0.0.1:0"},
		"log":      map[string]any{"level": c.LogLevel},
	}
	return yaml.Marshal(doc)
}

// Notifierd is one notifierd process.
type Notifierd struct {
	*Proc
	Admin string // host:port of /metrics, /readyz, once known

	mu   sync.Mutex
	peak Memory // highest VmHWM/VmRSS seen
	stop chan struct{}
	http *http.Client
}

var adminListening = regexp.MustCompile(`"msg":"admin endpoint listening","addr":"([0-9.:]+)"`)

// startNotifierd starts notifierd with the configuration file at cfgPath and samples its
// memory every 100 ms until it exits.
func startNotifierd(ps *procSet, bin, name, cfgPath, logPath string) (*Notifierd, error) {
	p, err := ps.start(name, logPath, bin, []string{"--config", cfgPath}, nil)
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
	path := "/proc/" + strconv.Itoa(n.PID()) + "/status"
	for {
		if f, err := os.Open(path); err == nil {
			m, err := parseStatus(f)
			_ = f.Close()
			if err == nil {
				n.mu.Lock()
				n.peak.HWM = max(n.peak.HWM, m.HWM)
				n.peak.RSS = max(n.peak.RSS, m.RSS)
				n.mu.Unlock()
			}
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

// Metrics scrapes /metrics.
func (n *Notifierd) Metrics(ctx context.Context) (Metrics, error) {
	if n.Admin == "" {
		return nil, fmt.Errorf("%s: admin address not known yet", n.Name)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Admin+"/metrics", nil)
	resp, err := n.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}
