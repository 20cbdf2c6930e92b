package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/notifierd/notifierd/internal/demo"
	"github.com/notifierd/notifierd/internal/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	)
}

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	want := demo.DefaultConfig()
	c := o.demo
	if c.Events != want.Events || c.Visitors != want.Visitors || c.Partitions != want.Partitions || c.Rate != want.Rate ||
		c.Kafka != "" || c.Faults || c.AdminListen != "127.0.0.1:0" || o.logFile != "" {
		t.Errorf("defaults %+v", o)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--events", "300", "--visitors=20", "--faults", "--kafka", "127.0.0.1:9092",
		"--rate", "0", "--admin", "", "--log", "/tmp/x.log", "--latency-max", "50ms", "--seed", "7"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	c := o.demo
	if c.Events != 300 || c.Visitors != 20 || !c.Faults || c.Kafka != "127.0.0.1:9092" || c.Rate != 0 ||
		c.AdminListen != "" || o.logFile != "/tmp/x.log" || c.LatencyMax != 50*time.Millisecond || c.Seed != 7 {
		t.Errorf("parsed %+v", o)
	}
}

func TestRunWithBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--events", "0"}, {"--invalid", "2"}, {"--latency-min", "1s", "--latency-max", "1ms"}, {"--nope"}, {"extra"}} {
		var stderr strings.Builder
		if code := runWith(context.Background(), args, &strings.Builder{}, &stderr, false); code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr %s", args, code, stderr.String())
		}
	}
}

func TestRunWithHelp(t *testing.T) {
	var stderr strings.Builder
	if code := runWith(context.Background(), []string{"-h"}, &strings.Builder{}, &stderr, false); code != 0 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"usage: go run ./cmd/demo", "-events", "-kafka", "-faults"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr.String())
		}
	}
}

// The command end to end, small: exit 0 and a summary that says OK.
func TestRunWithSmallRun(t *testing.T) {
	args := []string{"--events", "120", "--visitors", "20", "--rate", "0", "--log", filepath.Join(t.TempDir(), "demo.log")}
	if addr := os.Getenv(kafkatest.EnvBroker); addr != "" {
		args = append(args, "--kafka", addr)
	}
	var stdout, stderr strings.Builder
	if code := runWith(context.Background(), args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "\nOK: every produced event") {
		t.Errorf("no OK in\n%s", stdout.String())
	}
}
