package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// kafka-go's and kfake's idle-connection reapers end shortly after Close.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
	)
}

func TestHelpAndUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		output string // in stdout or stderr
	}{
		{"--help lists the verbs", []string{"--help"}, 0, "notifierd dlq replay [flags]"},
		{"publish -h", []string{"publish", "-h"}, 0, "--json -"},
		{"dlq list -h", []string{"dlq", "list", "-h"}, 0, "uses no consumer group"},
		{"dlq replay -h says when replaying twice is harmless", []string{"dlq", "replay", "-h"}, 0, "every replay of that entry carries the same id"},
		{"dlq without a command", []string{"dlq"}, 2, "notifierd dlq list"},
		{"dlq with an unknown command", []string{"dlq", "purge"}, 2, `unknown command "purge"`},
		{"publish with a stray argument", []string{"publish", "extra"}, 2, `unexpected argument "extra"`},
		{"publish --json and event flags", []string{"publish", "--json", "{}", "--type", "click"}, 2, "--json and --type are exclusive"},
		{"replay needs a selection", []string{"dlq", "replay"}, 2, "no entries selected"},
		{"replay --all is exclusive", []string{"dlq", "replay", "--all", "--reason", "bad_json"}, 2, "exclusive"},
		{"bad source offset", []string{"dlq", "replay", "--source-offset", "t/0"}, 2, "want topic/partition/offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.output) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q", code, stdout.String(), stderr.String(), tt.code, tt.output)
			}
		})
	}
}

func TestKafkaFlagsOverrideTheConfig(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	tests := []struct {
		name    string
		args    []string
		brokers string
		topic   string
		dlq     string
		err     string
	}{
		{"defaults", nil, "127.0.0.1:9092", "target-notifications", "target-notifications.dlq", ""},
		{"overrides", []string{"--brokers", "a:1, b:2", "--topic", "ev", "--dlq-topic", "ev.dlq"}, "a:1,b:2", "ev", "ev.dlq", ""},
		{"no brokers left", []string{"--brokers", " , "}, "", "", "", "kafka.brokers"},
		{"dead letters into the events topic", []string{"--dlq-topic", "target-notifications"}, "", "", "", "kafka.dlqTopic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var kf kafkaFlags
			kf.register(fs, true, true, time.Second)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := kf.load(noEnv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("load() error %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(cfg.Kafka.Brokers, ",") != tt.brokers || cfg.Kafka.Topic != tt.topic || cfg.Kafka.DLQTopic != tt.dlq {
				t.Fatalf("load() = %v %s %s, %v; want %s %s %s", cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.DLQTopic, err, tt.brokers, tt.topic, tt.dlq)
			}
		})
	}
}
