package testbed

import (
	"strings"

	"github.com/notifierd/notifierd/internal/config"
)

// Wiring is what points a notifierd at a test bed's broker, topics and Target simulator.
type Wiring struct {
	Brokers                string // one address, or a cluster's comma-separated bootstrap list
	Topic, Group, DLQTopic string
	SimURL                 string // the simulator's base URL: central and edge hosts are paths below it
	Client                 string // the Target client code
}

// DaemonConfig is notifierd's default configuration wired to w, reading from the earliest
// offset; callers adjust the rest.
func DaemonConfig(w Wiring) config.Config {
	c := config.Default()
	c.Kafka.Brokers = strings.Split(w.Brokers, ",")
	c.Kafka.Topic, c.Kafka.Group, c.Kafka.DLQTopic = w.Topic, w.Group, w.DLQTopic
	c.Kafka.StartOffset = "earliest"
	c.Target.Client = w.Client
	c.Target.URL, c.Target.EdgeURL = w.SimURL+"/c/{client}", w.SimURL+"/e/{hint}"
	return c
}
