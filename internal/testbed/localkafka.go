package testbed

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LocalKafka is the real local Apache Kafka, run by deploy/kafka/local-kafka.sh on
// 127.0.0.1:Port (the controller on the next port) with its data in Home (KAFKA_HOME_DIR).
// The chaos suite gives it a home and ports of its own (it restarts the broker, which must
// never pull a broker from under someone else's tests); the bench uses make test's.
type LocalKafka struct {
	Port     int
	Home     string // KAFKA_HOME_DIR
	Script   string // deploy/kafka/local-kafka.sh
	RepoRoot string
	Log      func(format string, args ...any)
	Wipe     bool // Close deletes the broker's data, not only stops it: a home of the run's own

	started bool // this run started it, so it stops it
}

// Addr is the bootstrap address.
func (b *LocalKafka) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.Port) }

func (b *LocalKafka) env() []string {
	return []string{
		"KAFKA_PORT=" + strconv.Itoa(b.Port),
		"KAFKA_CONTROLLER_PORT=" + strconv.Itoa(b.Port+1),
		"KAFKA_HOME_DIR=" + b.Home,
	}
}

// Answers reports whether something accepts connections on the port.
func (b *LocalKafka) Answers() bool {
	c, err := net.DialTimeout("tcp", b.Addr(), 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// Ensure starts the broker unless something already answers on the port; only a broker it
// started is stopped by Close.
func (b *LocalKafka) Ensure(ctx context.Context) error {
	if b.Answers() {
		b.Log("broker: using the broker already answering on %s", b.Addr())
		return nil
	}
	b.shareJars()
	if err := b.script(ctx, "start"); err != nil {
		return err
	}
	b.started = true
	return nil
}

// shareJars points a broker home of its own at the jar cache of make test's broker, when
// there is one and the home has none yet.
func (b *LocalKafka) shareJars() {
	lib := filepath.Join(b.Home, "lib")
	shared := filepath.Join(b.RepoRoot, ".cache", "kafka", "lib")
	if _, err := os.Lstat(lib); err == nil || lib == shared {
		return
	}
	if _, err := os.Stat(filepath.Join(shared, ".pom.sha256")); err != nil {
		return
	}
	if err := os.MkdirAll(b.Home, 0o755); err == nil {
		_ = os.Symlink(shared, lib)
	}
}

// Owned reports whether local-kafka.sh with this home runs the broker on the port: only
// then may a run restart it.
func (b *LocalKafka) Owned(ctx context.Context) bool {
	return b.script(ctx, "status") == nil
}

// Stop stops the broker (SIGTERM: a controlled shutdown).
func (b *LocalKafka) Stop(ctx context.Context) error { return b.script(ctx, "stop") }

// Start starts it again and waits until it serves clients.
func (b *LocalKafka) Start(ctx context.Context) error { return b.script(ctx, "start") }

// Close stops the broker if this run started it, and with Wipe deletes its data.
func (b *LocalKafka) Close(ctx context.Context) error {
	if !b.started {
		return nil
	}
	b.started = false
	if b.Wipe {
		return b.script(ctx, "wipe")
	}
	return b.script(ctx, "stop")
}

func (b *LocalKafka) script(ctx context.Context, cmd string) error {
	start := time.Now()
	c := exec.CommandContext(ctx, "bash", b.Script, cmd)
	c.Env = append(os.Environ(), b.env()...)
	out, err := c.CombinedOutput()
	if cmd != "status" {
		b.Log("broker: local-kafka.sh %s (%s) took %s", cmd, b.Addr(), time.Since(start).Round(100*time.Millisecond))
	}
	if err != nil {
		return fmt.Errorf("local-kafka.sh %s: %w\n%s", cmd, err, out)
	}
	return nil
}

// Version is the Kafka version of the jars, from the jar name, or "".
func (b *LocalKafka) Version() string {
	matches, _ := filepath.Glob(filepath.Join(b.Home, "lib", "kafka_2.13-*.jar"))
	for _, m := range matches {
		base := filepath.Base(m)
		v := base[len("kafka_2.13-") : len(base)-len(".jar")]
		if _, err := strconv.Atoi(v[:1]); err == nil {
			return v
		}
	}
	return ""
}

// PID is the broker's process (local-kafka.sh's pid file in Home), if that process is alive
// and is Kafka; 0 otherwise.
func (b *LocalKafka) PID() int {
	raw, err := os.ReadFile(filepath.Join(b.Home, "broker.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "kafka.Kafka") {
		return 0
	}
	return pid
}
