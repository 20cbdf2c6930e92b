package bench

import (
	"time"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/testbed"
)

// ShutdownTimeout is the daemons' shutdown.timeout (default 20s): the bench stops a daemon
// after every run, and a run cut by its time bound should not wait long for work in flight.
// It also bounds how long a revoked partition waits for its work.
const ShutdownTimeout = 5 * time.Second

// StartDaemon starts bin on the daemon's default configuration wired to w, with linger,
// the bench's shutdown timeout, an admin address read from the log, and whatever adjust
// changes, written into dir with its log (dir/notifierd.log), with env added to its
// environment. The process gets SIGKILL if the bench dies.
func StartDaemon(bin, dir string, w testbed.Wiring, linger time.Duration, adjust func(c *config.Config), env ...string) (*testbed.Notifierd, error) {
	w.Client = "benchclient"
	c := testbed.DaemonConfig(w)
	c.Batch.Linger = linger
	c.Shutdown.Timeout = ShutdownTimeout
	c.Admin.Listen = "127.0.0.1:0" // the address is read from the daemon's log
	adjust(&c)
	var untracked *testbed.ProcSet // every caller stops its daemon itself
	return untracked.StartNotifierd(bin, dir, "notifierd", c, env)
}
