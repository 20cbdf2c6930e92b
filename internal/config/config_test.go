package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notifierd.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvName(t *testing.T) {
	for path, want := range map[string]string{
		"kafka.brokers":                 "NOTIFIERD_KAFKA_BROKERS",
		"kafka.dlqTopic":                "NOTIFIERD_KAFKA_DLQ_TOPIC",
		"kafka.routesTopic":             "NOTIFIERD_KAFKA_ROUTES_TOPIC",
		"kafka.receiptsTopic":           "NOTIFIERD_KAFKA_RECEIPTS_TOPIC",
		"target.imsOrgId":               "NOTIFIERD_TARGET_IMS_ORG_ID",
		"target.edgeUrl":                "NOTIFIERD_TARGET_EDGE_URL",
		"batch.maxNotifications":        "NOTIFIERD_BATCH_MAX_NOTIFICATIONS",
		"kafka.maxInFlightPerPartition": "NOTIFIERD_KAFKA_MAX_IN_FLIGHT_PER_PARTITION",
		"kafka.tls.caFile":              "NOTIFIERD_KAFKA_TLS_CA_FILE",
		"target.url":                    "NOTIFIERD_TARGET_URL",
	} {
		if got := EnvName(path); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestLoadFileThenEnvironment(t *testing.T) {
	p := writeFile(t, `
kafka:
  brokers: ["a:9092"]
  topic: events
target:
  client: acme
  url: http://127.0.0.1:8080/c/{client}
batch:
  linger: 50ms
`)
	cfg, err := Load(p, envOf(map[string]string{
		"NOTIFIERD_KAFKA_BROKERS":           "b:9092, c:9092",
		"NOTIFIERD_BATCH_MAX_NOTIFICATIONS": "20",
		"NOTIFIERD_TARGET_IMS_ORG_ID":       "org@AdobeOrg",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Kafka.Brokers, ","); got != "b:9092,c:9092" {
		t.Errorf("brokers = %s: the environment must win over the file", got)
	}
	if cfg.Kafka.Topic != "events" || cfg.Target.Client != "acme" || cfg.Batch.Linger != 50*time.Millisecond {
		t.Errorf("file values not applied: %+v", cfg)
	}
	if cfg.Batch.MaxNotifications != 20 || cfg.Target.IMSOrgID != "org@AdobeOrg" {
		t.Errorf("environment values not applied: %+v", cfg)
	}
	if cfg.Kafka.Group != "notifierd" {
		t.Errorf("default group lost: %q", cfg.Kafka.Group)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "kafka:\n  topik: x\n", nil, "topik"},
		{"wrong type", "batch:\n  maxNotifications: many\n", nil, "many"},
		{"too many per request", "batch:\n  maxNotifications: 51\n", nil, "batch.maxNotifications"},
		{"bad duration in env", "", map[string]string{"NOTIFIERD_BATCH_LINGER": "soon"}, "batch.linger"},
		{"url without placeholder", "target:\n  url: https://example.invalid\n", nil, "target.url"},
		{"bad channel", "target:\n  channel: tv\n", nil, "target.channel"},
		{"sasl without user", "kafka:\n  sasl:\n    mechanism: PLAIN\n", nil, "kafka.sasl.username"},
		{"routes in the events topic", "kafka:\n  topic: events\n  routesTopic: events\n", nil, "kafka.routesTopic"},
		{"routes in the dead-letter topic", "", map[string]string{"NOTIFIERD_KAFKA_ROUTES_TOPIC": "target-notifications.dlq"}, "kafka.routesTopic"},
		{"receipts in the events topic", "kafka:\n  topic: events\n  receiptsTopic: events\n", nil, "kafka.receiptsTopic"},
		{"receipts in the routes topic", "kafka:\n  routesTopic: r\n  receiptsTopic: r\n", nil, "kafka.receiptsTopic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.file), envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want one naming %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	cfg, err := Load(writeFile(t, "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: hunter2\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(out), "[redacted]") {
		t.Fatalf("password not redacted:\n%s", out)
	}
	if !strings.Contains(string(out), "linger: 200ms") {
		t.Fatalf("durations should print as durations:\n%s", out)
	}
}

// The Target connection keys: on by default, off from the file or the environment.
func TestTargetConnectionKeys(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       Target
	}{
		{"defaults", "", nil, Target{AdaptiveConcurrency: true, HTTP2: true}},
		{"file", "target:\n  http2: false\n  adaptiveConcurrency: false\n  tls:\n    caFile: /etc/proxy-ca.pem\n", nil,
			Target{TLS: TargetTLS{CAFile: "/etc/proxy-ca.pem"}}},
		{"environment", "", map[string]string{"NOTIFIERD_TARGET_HTTP2": "false", "NOTIFIERD_TARGET_ADAPTIVE_CONCURRENCY": "false", "NOTIFIERD_TARGET_TLS_CA_FILE": "/ca.pem"},
			Target{TLS: TargetTLS{CAFile: "/ca.pem"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, tt.file), envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Target
			if got.AdaptiveConcurrency != tt.want.AdaptiveConcurrency || got.HTTP2 != tt.want.HTTP2 || got.TLS != tt.want.TLS {
				t.Errorf("adaptiveConcurrency %v, http2 %v, tls %+v; want %v, %v, %+v",
					got.AdaptiveConcurrency, got.HTTP2, got.TLS, tt.want.AdaptiveConcurrency, tt.want.HTTP2, tt.want.TLS)
			}
		})
	}
}

// target.propagateTrace is off unless the file or the environment turns it on.
func TestPropagateTrace(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       bool
	}{
		{"default", "", nil, false},
		{"file", "target:\n  propagateTrace: true\n", nil, true},
		{"environment", "", map[string]string{"NOTIFIERD_TARGET_PROPAGATE_TRACE": "true"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, tt.file), envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Target.PropagateTrace != tt.want {
				t.Errorf("target.propagateTrace %v, want %v", cfg.Target.PropagateTrace, tt.want)
			}
		})
	}
}
