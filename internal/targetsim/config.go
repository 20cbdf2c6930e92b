package targetsim

import "go.uber.org/zap"

// Config is fixed for the life of a Sim; Faults can change at runtime.
type Config struct {
	MaxNotifications int    // per request, default 50 (Adobe's recommended maximum)
	DefaultEdgeHint  string // hint returned in edgeHost for requests not routed to an edge, default "35"
	RecordRequests   bool   // keep a per-request log (Requests()); off for big benchmarks
	MaxBodyBytes     int64  // larger bodies get 413, default 60 MB (Target's limit)
	Logger           *zap.Logger
}

const (
	defaultMaxNotifications = 50
	defaultEdgeHint         = "35"
	defaultMaxBodyBytes     = 60 << 20
)

func (c Config) withDefaults() Config {
	if c.MaxNotifications <= 0 {
		c.MaxNotifications = defaultMaxNotifications
	}
	if c.DefaultEdgeHint == "" {
		c.DefaultEdgeHint = defaultEdgeHint
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}
