package demo

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// broker is the Kafka the demo runs against.
type broker struct {
	addr  string
	name  string // for people
	close func()
}

// startBroker returns the real broker at addr after checking that it answers, or, when addr is
// empty, starts an in-process kfake cluster (which closes with the broker).
func startBroker(ctx context.Context, addr string) (*broker, error) {
	if addr != "" {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("kafka broker %s does not answer: %w", addr, err)
		}
		_ = conn.Close()
		return &broker{addr: addr, name: "Kafka at " + addr, close: func() {}}, nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		return nil, fmt.Errorf("starting the in-process Kafka broker: %w", err)
	}
	addr = c.ListenAddrs()[0]
	return &broker{addr: addr, name: "in-process Kafka (kfake) at " + addr, close: c.Close}, nil
}
