package testbed

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is the Kafka a run talks to: a real one, or a kfake cluster in the run's process.
type Broker struct {
	Addr  string // bootstrap address
	Real  bool
	Close func() // stops the in-process cluster; nothing for a real broker
}

// StartBroker returns the real broker at addr after checking that it answers, or, when addr
// is empty, starts an in-process kfake cluster of one broker with the given options (topics
// are created on first use).
func StartBroker(ctx context.Context, addr string, opts ...kfake.Opt) (*Broker, error) {
	if addr != "" {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("kafka broker %s does not answer: %w", addr, err)
		}
		_ = conn.Close()
		return &Broker{Addr: addr, Real: true, Close: func() {}}, nil
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("starting an in-process Kafka broker (kfake): %w", err)
	}
	return &Broker{Addr: c.ListenAddrs()[0], Close: c.Close}, nil
}
