package main

import (
	"flag"
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

// load reads the configuration as the daemon does, the flags standing in for the
// environment variables of their keys, so one parse and one validation cover both.
func (k *kafkaFlags) load(lookupEnv func(string) (string, bool)) (config.Config, error) {
	flags := map[string]string{}
	for key, v := range map[string]string{"kafka.brokers": k.brokers, "kafka.topic": k.topic, "kafka.dlqTopic": k.dlqTopic} {
		if v != "" {
			flags[config.EnvName(key)] = v
		}
	}
	return config.Load(k.config, func(name string) (string, bool) {
		if v, ok := flags[name]; ok {
			return v, true
		}
		return lookupEnv(name)
	})
}
