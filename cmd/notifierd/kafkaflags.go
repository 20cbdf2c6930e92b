package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/config"
)

// kafkaFlags are the flags the operator verbs (publish, dlq) share: the daemon's own
// configuration file and environment, with the few values an operator overrides ad hoc.
type kafkaFlags struct {
	config   string
	brokers  string
	topic    string
	dlqTopic string
	timeout  time.Duration
}

// register adds --config, --brokers and --timeout, plus --topic and --dlq-topic when the
// verb uses those topics.
func (k *kafkaFlags) register(fs *flag.FlagSet, topic, dlqTopic bool, timeout time.Duration) {
	fs.StringVar(&k.config, "config", "", "the daemon's YAML configuration `file` (NOTIFIERD_* variables apply too)")
	fs.StringVar(&k.brokers, "brokers", "", "comma-separated `host:port` list overriding kafka.brokers")
	if topic {
		fs.StringVar(&k.topic, "topic", "", "events `topic` overriding kafka.topic")
	}
	if dlqTopic {
		fs.StringVar(&k.dlqTopic, "dlq-topic", "", "dead-letter `topic` overriding kafka.dlqTopic")
	}
	fs.DurationVar(&k.timeout, "timeout", timeout, "give up after this `duration`")
}

// load reads the configuration as the daemon does, then applies the flags.
func (k *kafkaFlags) load(lookupEnv func(string) (string, bool)) (config.Config, error) {
	cfg, err := config.Load(k.config, lookupEnv)
	if err != nil {
		return cfg, err
	}
	if k.brokers != "" {
		cfg.Kafka.Brokers = nil
		for _, b := range strings.Split(k.brokers, ",") {
			if b = strings.TrimSpace(b); b != "" {
				cfg.Kafka.Brokers = append(cfg.Kafka.Brokers, b)
			}
		}
	}
	if k.topic != "" {
		cfg.Kafka.Topic = k.topic
	}
	if k.dlqTopic != "" {
		cfg.Kafka.DLQTopic = k.dlqTopic
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("with the flags applied: %w", err)
	}
	return cfg, nil
}
