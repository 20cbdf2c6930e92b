// Package config owns notifierd's configuration contract: one YAML file, every key
// overridable by a NOTIFIERD_<PATH> environment variable, defaults for everything but the
// essentials, and errors that name the offending key.
package config

import (
	"time"
)

// Config is the whole configuration. The yaml tags are the keys of the file; the
// environment variable of a key is NOTIFIERD_ plus its path in upper snake case.
type Config struct {
	Kafka    Kafka    `yaml:"kafka"`
	Target   Target   `yaml:"target"`
	Batch    Batch    `yaml:"batch"`
	Events   Events   `yaml:"events"`
	Shutdown Shutdown `yaml:"shutdown"`
	Admin    Admin    `yaml:"admin"`
	Log      Log      `yaml:"log"`
}

// Kafka is where events come from and where dead letters go.
type Kafka struct {
	Brokers           []string      `yaml:"brokers"`
	Topic             string        `yaml:"topic"`
	Group             string        `yaml:"group"`
	DLQTopic          string        `yaml:"dlqTopic"`
	ReceiptsTopic     string        `yaml:"receiptsTopic"`  // one record per event outcome; empty: off
	RoutesTopic       string        `yaml:"routesTopic"`    // compacted store of learned edge routes; empty: off
	StartOffset       string        `yaml:"startOffset"`    // earliest or latest, for partitions with no commit or one beyond the log end
	IsolationLevel    string        `yaml:"isolationLevel"` // read_committed or read_uncommitted
	MaxInFlight       int           `yaml:"maxInFlightPerPartition"`
	CommitInterval    time.Duration `yaml:"commitInterval"`
	SessionTimeout    time.Duration `yaml:"sessionTimeout"`
	RebalanceTimeout  time.Duration `yaml:"rebalanceTimeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeatInterval"`
	RequestTimeout    time.Duration `yaml:"requestTimeout"` // group coordinator requests (join, sync, heartbeat, commit); one write to the daemon's own topics
	MaxFetchBytes     int           `yaml:"maxFetchBytes"`
	TLS               TLS           `yaml:"tls"`
	SASL              SASL          `yaml:"sasl"`
}

// TLS configures encrypted connections to the brokers.
type TLS struct {
	Enabled    bool   `yaml:"enabled"`
	CAFile     string `yaml:"caFile"`
	CertFile   string `yaml:"certFile"`
	KeyFile    string `yaml:"keyFile"`
	ServerName string `yaml:"serverName"`
}

// SASL configures broker authentication.
type SASL struct {
	Mechanism string `yaml:"mechanism"` // "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username  string `yaml:"username"`
	Password  Secret `yaml:"password"`
}

// Target is the Delivery API side.
type Target struct {
	Client          string        `yaml:"client"`
	IMSOrgID        string        `yaml:"imsOrgId"`
	URL             string        `yaml:"url"`
	EdgeURL         string        `yaml:"edgeUrl"`
	Channel         string        `yaml:"channel"`
	Timeout         time.Duration `yaml:"timeout"`
	MaxConcurrency  int           `yaml:"maxConcurrency"`
	MaxConnsPerHost int           `yaml:"maxConnsPerHost"`
	EdgeCacheSize   int           `yaml:"edgeCacheSize"`
	Retry           Retry         `yaml:"retry"`

	// AdaptiveConcurrency lets each edge host's requests in flight follow what it sustains,
	// under MaxConcurrency; false holds every edge host at MaxConcurrency.
	AdaptiveConcurrency bool      `yaml:"adaptiveConcurrency"`
	HTTP2               bool      `yaml:"http2"` // negotiate h2 by ALPN when the server offers it
	TLS                 TargetTLS `yaml:"tls"`
	// PropagateTrace sends W3C trace headers (traceparent, tracestate) with each request to
	// Target when tracing is on. Off by default: it shares trace ids with a third party.
	PropagateTrace bool `yaml:"propagateTrace"`
}

// TargetTLS is how the Delivery API's certificates are verified.
type TargetTLS struct {
	// CAFile is a PEM bundle trusted in addition to the system roots (a TLS-inspecting
	// proxy's CA); empty: the system roots alone.
	CAFile string `yaml:"caFile"`
}

// Retry is the backoff between delivery attempts.
type Retry struct {
	InitialInterval time.Duration `yaml:"initialInterval"`
	MaxInterval     time.Duration `yaml:"maxInterval"`
	Multiplier      float64       `yaml:"multiplier"`
	MaxElapsedTime  time.Duration `yaml:"maxElapsedTime"` // 0: retry until shutdown, never dead-letter for an outage
}

// Batch bounds requests and the memory held.
type Batch struct {
	MaxNotifications  int           `yaml:"maxNotifications"`
	Linger            time.Duration `yaml:"linger"`
	MaxBytes          int           `yaml:"maxBytes"`
	MaxBufferedEvents int           `yaml:"maxBufferedEvents"`
	MaxBufferedBytes  int64         `yaml:"maxBufferedBytes"`
}

// Events bounds what counts as a valid event.
type Events struct {
	MaxBytes  int           `yaml:"maxBytes"`
	MaxAge    time.Duration `yaml:"maxAge"`
	MaxFuture time.Duration `yaml:"maxFuture"`
}

// Shutdown bounds how long stopping (and releasing a revoked partition) waits.
type Shutdown struct {
	Timeout time.Duration `yaml:"timeout"`
}

// Admin is the HTTP endpoint for metrics and probes.
type Admin struct {
	Listen       string        `yaml:"listen"`
	StallTimeout time.Duration `yaml:"stallTimeout"`
	Pprof        bool          `yaml:"pprof"` // serve /debug/pprof/ for profiling
}

// Log configures the zap logger.
type Log struct {
	Level string `yaml:"level"`
}

// Secret is a string that prints redacted.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Default is the configuration before the file and the environment apply.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:           []string{"127.0.0.1:9092"},
			Topic:             "target-notifications",
			Group:             "notifierd",
			DLQTopic:          "target-notifications.dlq",
			StartOffset:       "earliest",
			IsolationLevel:    "read_committed",
			MaxInFlight:       10000,
			CommitInterval:    time.Second,
			SessionTimeout:    30 * time.Second,
			RebalanceTimeout:  30 * time.Second,
			HeartbeatInterval: 3 * time.Second,
			RequestTimeout:    10 * time.Second,
			MaxFetchBytes:     1 << 20, // per partition fetch: kept small, it is memory outside the buffer budget
		},
		Target: Target{
			Client:          "", // required: the Target client code
			URL:             "https://{client}.tt.omtrdc.net",
			EdgeURL:         "https://mboxedge{hint}.tt.omtrdc.net",
			Channel:         "web",
			Timeout:         10 * time.Second,
			MaxConcurrency:  2048, // per edge host: a cap over the adaptive limit, enough for 200 ms round trips
			MaxConnsPerHost: 2048, // as many as requests in flight: over HTTP/1.1 a connection carries one
			EdgeCacheSize:   1_000_000,
			Retry: Retry{
				InitialInterval: 200 * time.Millisecond,
				MaxInterval:     30 * time.Second,
				Multiplier:      2,
			},

			AdaptiveConcurrency: true,
			HTTP2:               true, // Target's edges speak h2 behind their load balancer
		},
		Batch: Batch{
			MaxNotifications:  50,
			Linger:            200 * time.Millisecond,
			MaxBytes:          1 << 20,
			MaxBufferedEvents: 100_000,
			MaxBufferedBytes:  256 << 20,
		},
		Events: Events{
			MaxBytes:  64 << 10,
			MaxAge:    7 * 24 * time.Hour,
			MaxFuture: 5 * time.Minute,
		},
		Shutdown: Shutdown{Timeout: 20 * time.Second},
		Admin:    Admin{Listen: "127.0.0.1:9464", StallTimeout: 10 * time.Minute},
		Log:      Log{Level: "info"},
	}
}
