package bench

import (
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// ShutdownTimeout is the daemons' shutdown.timeout (default 20s): the bench stops a daemon
// after every run, and a run cut by its time bound should not wait long for work in flight.
// It also bounds how long a revoked partition waits for its work.
const ShutdownTimeout = 5 * time.Second

// DaemonSpec is what changes between the bench's daemon runs; everything else is the
// daemon's default.
type DaemonSpec struct {
	Broker, Topic, Group, DLQTopic string
	SimURL                         string
	Linger                         time.Duration
	MaxNotifications               int   // 0: default
	MaxBufferedEvents              int   // 0: default
	MaxBufferedBytes               int64 // 0: default
	MaxInFlightPerPartition        int   // 0: default
	Pprof                          bool  // admin.pprof, for a CPU profile of the run
	// Static holds every edge at MaxConcurrency (target.adaptiveConcurrency false), as
	// notifierd did before its limits adapted.
	Static         bool
	MaxConcurrency int    // target.maxConcurrency; 0: default
	CAFile         string // target.tls.caFile, for a simulator serving HTTPS
	HTTP1          bool   // target.http2 false
}

// StartDaemon starts bin on the spec's configuration, written into dir with its log
// (dir/notifierd.log). The process gets SIGKILL if the bench dies.
func StartDaemon(bin, dir string, s DaemonSpec) (*testbed.Notifierd, error) {
	c := testbed.DaemonConfig(testbed.Wiring{Brokers: s.Broker, Topic: s.Topic, Group: s.Group, DLQTopic: s.DLQTopic, SimURL: s.SimURL, Client: "benchclient"})
	c.Batch.Linger = s.Linger
	if s.MaxNotifications > 0 {
		c.Batch.MaxNotifications = s.MaxNotifications
	}
	if s.MaxBufferedEvents > 0 {
		c.Batch.MaxBufferedEvents = s.MaxBufferedEvents
	}
	if s.MaxBufferedBytes > 0 {
		c.Batch.MaxBufferedBytes = s.MaxBufferedBytes
	}
	if s.MaxInFlightPerPartition > 0 {
		c.Kafka.MaxInFlight = s.MaxInFlightPerPartition
	}
	if s.MaxConcurrency > 0 {
		c.Target.MaxConcurrency = s.MaxConcurrency
	}
	c.Target.AdaptiveConcurrency = !s.Static
	c.Target.TLS.CAFile = s.CAFile
	c.Target.HTTP2 = !s.HTTP1
	c.Shutdown.Timeout = ShutdownTimeout
	c.Admin.Listen = "127.0.0.1:0" // the address is read from the daemon's log
	c.Admin.Pprof = s.Pprof
	var untracked *testbed.ProcSet // every caller stops its daemon itself
	return untracked.StartNotifierd(bin, dir, "notifierd", c, nil)
}
