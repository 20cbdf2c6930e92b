package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Broker is the real local Apache Kafka, run by deploy/kafka/local-kafka.sh.
//
// The suite uses its own broker home and ports by default (KAFKA_HOME_DIR .cache/chaos/kafka,
// 127.0.0.1:19092/19093), not make test's 9092: the broker-restart scenario stops and starts
// the broker, which must never pull the broker from under someone else's tests, and someone
// else's `make test` stopping a shared broker must not fail a scenario. The jars are shared
// with .cache/kafka (a symlink), so nothing is fetched twice.
type Broker struct {
	Port     int
	Home     string // KAFKA_HOME_DIR
	Script   string // deploy/kafka/local-kafka.sh
	RepoRoot string
	Log      func(format string, args ...any)

	started bool // this suite started it, so it stops it
}

// Addr is the bootstrap address.
func (b *Broker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.Port) }

func (b *Broker) env() []string {
	return []string{
		"KAFKA_PORT=" + strconv.Itoa(b.Port),
		"KAFKA_CONTROLLER_PORT=" + strconv.Itoa(b.Port+1),
		"KAFKA_HOME_DIR=" + b.Home,
	}
}

// answers reports whether something accepts connections on the port.
func (b *Broker) answers() bool {
	c, err := net.DialTimeout("tcp", b.Addr(), 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// Ensure starts the broker unless something already answers on the port; only a broker it
// started is stopped by Close.
func (b *Broker) Ensure(ctx context.Context) error {
	if b.answers() {
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

// shareJars points the suite's broker home at the jar cache of make test's broker, when
// there is one and the suite's home has none yet.
func (b *Broker) shareJars() {
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
// then may the suite restart it.
func (b *Broker) Owned(ctx context.Context) bool {
	return b.script(ctx, "status") == nil
}

// Stop stops the broker (SIGTERM: a controlled shutdown).
func (b *Broker) Stop(ctx context.Context) error { return b.script(ctx, "stop") }

// Start starts it again and waits until it serves clients.
func (b *Broker) Start(ctx context.Context) error { return b.script(ctx, "start") }

// Close stops the broker if the suite started it, and deletes its data (the suite's home
// holds nothing but the suite's own topics).
func (b *Broker) Close(ctx context.Context) error {
	if !b.started {
		return nil
	}
	b.started = false
	return b.script(ctx, "wipe")
}

func (b *Broker) script(ctx context.Context, cmd string) error {
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
func (b *Broker) Version() string {
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
