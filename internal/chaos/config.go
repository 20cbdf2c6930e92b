package chaos

import (
	"errors"
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// daemonConfig is what every scenario starts from: quick group membership (the broker's
// minimum session timeout is 6 s), commits every 200 ms, retries capped at 1 s so recovery
// after a fault is measured in seconds, not in backoff, and small events. Scenarios adjust
// it before they start a daemon.
func daemonConfig(w testbed.Wiring) config.Config {
	c := testbed.DaemonConfig(w)
	c.Kafka.MaxInFlight = 10000
	c.Kafka.CommitInterval, c.Kafka.SessionTimeout = 200*time.Millisecond, 6*time.Second
	c.Kafka.RebalanceTimeout, c.Kafka.HeartbeatInterval = 15*time.Second, 500*time.Millisecond
	c.Target.Timeout, c.Target.MaxConcurrency = 2*time.Second, 64
	c.Target.Retry = config.Retry{InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}
	c.Batch.Linger = 50 * time.Millisecond
	c.Batch.MaxBufferedEvents, c.Batch.MaxBufferedBytes = 100000, 256<<20
	c.Events.MaxBytes, c.Events.MaxAge, c.Events.MaxFuture = eventsMaxBytes, 168*time.Hour, 5*time.Minute
	c.Shutdown.Timeout = 10 * time.Second
	c.Admin.Listen = "127.0.0.1:0" // the address is read from the daemon's log
	c.Log.Level = "info"
	return c
}

// errBound is the error of a scenario that reached its time bound.
var errBound = errors.New("scenario time bound reached")
