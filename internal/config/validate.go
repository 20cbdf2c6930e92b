package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

// Validate checks every value and names the first key that is wrong.
func (c *Config) Validate() error {
	checks := []struct {
		key string
		ok  bool
		msg string
	}{
		{"kafka.brokers", len(c.Kafka.Brokers) > 0, "at least one host:port is required"},
		{"kafka.topic", c.Kafka.Topic != "", "required"},
		{"kafka.group", c.Kafka.Group != "", "required"},
		{"kafka.dlqTopic", c.Kafka.DLQTopic != "" && c.Kafka.DLQTopic != c.Kafka.Topic, "required, and not the events topic"},
		{"kafka.receiptsTopic", c.Kafka.ReceiptsTopic == "" || c.Kafka.ReceiptsTopic != c.Kafka.Topic && c.Kafka.ReceiptsTopic != c.Kafka.DLQTopic && c.Kafka.ReceiptsTopic != c.Kafka.RoutesTopic, "not the events, dead-letter or routes topic (empty: off)"},
		{"kafka.routesTopic", c.Kafka.RoutesTopic == "" || c.Kafka.RoutesTopic != c.Kafka.Topic && c.Kafka.RoutesTopic != c.Kafka.DLQTopic, "not the events or dead-letter topic (empty: off)"},
		{"kafka.isolationLevel", c.Kafka.IsolationLevel == "read_committed" || c.Kafka.IsolationLevel == "read_uncommitted", "must be read_committed or read_uncommitted"},
		{"kafka.startOffset", c.Kafka.StartOffset == "earliest" || c.Kafka.StartOffset == "latest", "must be earliest or latest"},
		{"kafka.maxInFlightPerPartition", c.Kafka.MaxInFlight > 0, "must be positive"},
		{"kafka.commitInterval", c.Kafka.CommitInterval > 0, "must be positive"},
		{"kafka.sessionTimeout", c.Kafka.SessionTimeout >= time.Second, "must be at least 1s"},
		{"kafka.rebalanceTimeout", c.Kafka.RebalanceTimeout >= time.Second, "must be at least 1s"},
		{"kafka.heartbeatInterval", c.Kafka.HeartbeatInterval > 0 && c.Kafka.HeartbeatInterval < c.Kafka.SessionTimeout, "must be positive and below kafka.sessionTimeout"},
		{"kafka.requestTimeout", c.Kafka.RequestTimeout >= time.Second, "must be at least 1s"},
		{"kafka.maxFetchBytes", c.Kafka.MaxFetchBytes >= c.Events.MaxBytes, "must be at least events.maxBytes"},
		{"kafka.sasl.mechanism", oneOf(c.Kafka.SASL.Mechanism, "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{"kafka.sasl.username", c.Kafka.SASL.Mechanism == "" || c.Kafka.SASL.Username != "", "required with kafka.sasl.mechanism"},
		{"kafka.tls.keyFile", (c.Kafka.TLS.CertFile == "") == (c.Kafka.TLS.KeyFile == ""), "kafka.tls.certFile and kafka.tls.keyFile go together"},
		{"target.client", c.Target.Client == "" || isClientCode(c.Target.Client), "letters, digits, '-' or '_'"},
		{"target.url", validTemplate(c.Target.URL, "{client}"), "must be an http(s) URL containing {client}"},
		{"target.edgeUrl", validTemplate(c.Target.EdgeURL, "{hint}"), "must be an http(s) URL containing {hint}"},
		{"target.channel", c.Target.Channel == "web" || c.Target.Channel == "mobile", "must be web or mobile"},
		{"target.timeout", c.Target.Timeout > 0, "must be positive"},
		{"target.maxConcurrency", c.Target.MaxConcurrency > 0, "must be positive"},
		{"target.maxConnsPerHost", c.Target.MaxConnsPerHost > 0, "must be positive"},
		{"target.edgeCacheSize", c.Target.EdgeCacheSize > 0, "must be positive"},
		{"target.retry.initialInterval", c.Target.Retry.InitialInterval > 0, "must be positive"},
		{"target.retry.maxInterval", c.Target.Retry.MaxInterval >= c.Target.Retry.InitialInterval, "must be at least target.retry.initialInterval"},
		{"target.retry.multiplier", c.Target.Retry.Multiplier >= 1, "must be at least 1"},
		{"target.retry.maxElapsedTime", c.Target.Retry.MaxElapsedTime >= 0, "must not be negative (0 retries until shutdown)"},
		{"batch.maxNotifications", c.Batch.MaxNotifications >= 1 && c.Batch.MaxNotifications <= 50, "must be 1 to 50 (Target's recommended maximum)"},
		{"batch.linger", c.Batch.Linger >= 0, "must not be negative"},
		{"batch.maxBytes", c.Batch.MaxBytes >= c.Events.MaxBytes, "must be at least events.maxBytes"},
		{"batch.maxBufferedEvents", c.Batch.MaxBufferedEvents >= c.Batch.MaxNotifications, "must be at least batch.maxNotifications"},
		{"batch.maxBufferedBytes", c.Batch.MaxBufferedBytes >= int64(c.Batch.MaxBytes), "must be at least batch.maxBytes"},
		{"events.maxBytes", c.Events.MaxBytes > 0, "must be positive"},
		{"events.maxAge", c.Events.MaxAge >= 0, "must not be negative (0: no bound)"},
		{"events.maxFuture", c.Events.MaxFuture >= 0, "must not be negative (0: no bound)"},
		{"shutdown.timeout", c.Shutdown.Timeout > 0, "must be positive"},
		{"admin.listen", c.Admin.Listen == "" || strings.Contains(c.Admin.Listen, ":"), "must be host:port, or empty to disable"},
		{"admin.stallTimeout", c.Admin.StallTimeout > 0, "must be positive"},
		{"log.level", validLevel(c.Log.Level), "must be debug, info, warn or error"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("config key %s (%s): %s", ch.key, EnvName(ch.key), ch.msg)
		}
	}
	return nil
}

// ValidateDaemon is Validate plus what only the daemon needs: the Target client code, which
// has no default (a guessed one would send production notifications to someone else's
// account). The dlq and publish verbs talk to Kafka alone and do without it.
func (c *Config) ValidateDaemon() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Target.Client == "" {
		return fmt.Errorf("config key target.client (%s): required: your Target client code", EnvName("target.client"))
	}
	return nil
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func validTemplate(tmpl, placeholder string) bool {
	if !strings.Contains(tmpl, placeholder) {
		return false
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, placeholder, "x"))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func isClientCode(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validLevel(s string) bool {
	_, err := zapcore.ParseLevel(s)
	return err == nil
}
