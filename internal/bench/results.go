package bench

import (
	"fmt"
	"time"
)

// Results is everything one run measured; Render turns it into docs/BENCHMARKS.md.
type Results struct {
	Started  time.Time
	Elapsed  time.Duration
	Command  string
	Machine  Machine
	Config   RunConfig
	Workload WorkloadInfo

	Bare *ConsumeRun // bare kafka-go consumer group, no work: kafka.Reader
	// BareFetch is the same loop with notifierd's fetcher (package fetch) instead.
	BareFetch *ConsumeRun
	Kcat      *ConsumeRun // nil if kcat is missing
	Naive     []NaiveRun  // one request per event, per simulator latency
	// HTTPFloor is notifierd's HTTP client alone, with no Kafka and no work around it.
	HTTPFloor *HTTPFloorRun
	E2E       []E2ERun // notifierd, per simulator latency
	Mem       *MemoryRun
	Sweep     []SweepPoint
	// Latency drains one data set per simulator latency, static against adaptive limits.
	Latency  []LatencyPoint
	Storms   []StormRun
	TLS      []TLSRun
	Receipts []ReceiptsRun
	Tracing  []TracingRun

	// Profile is the top of a CPU profile of the daemon during the 0 ms drain
	// (go tool pprof -top), empty when none was taken.
	Profile string

	Notes []string // what was skipped or went wrong
}

// RunConfig is the part of the options the report states.
type RunConfig struct {
	Partitions       int
	Linger           time.Duration
	MaxNotifications int
	MaxConcurrency   int // target.maxConcurrency of the runs (the daemon's default unless changed)
	MaxBufferedBytes int64
	PacedFractions   []float64
	PacedDuration    time.Duration
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int
	CPUModel  string
	MemTotal  string
	LoadAvg   string // /proc/loadavg at the start: the machine is shared
	GoVersion string
	Kernel    string
}

// WorkloadInfo is the data set of the main measurements.
type WorkloadInfo struct {
	Events                       int64
	Sessions                     int
	MinBytes, MaxBytes, AvgBytes int
	ProduceElapsed               time.Duration
	MinLinger, MinPerSession     int64 // minimum requests (MinRequests) at Config.Linger, 50 per request
}

// ConsumeRun is a baseline that only reads the topic.
type ConsumeRun struct {
	Events  int64
	Elapsed time.Duration
	CPU     time.Duration // user+system of the consuming process (the bench driver, or kcat)
	Note    string
}

// Rate is events per second.
func (c *ConsumeRun) Rate() float64 { return PerSecond(c.Events, c.Elapsed) }

// NaiveRun is the one-request-per-event sender.
type NaiveRun struct {
	LatencyMs int
	Workers   int // concurrent senders (one per partition), each strictly sequential
	Events    int64
	Requests  int64
	Elapsed   time.Duration
	Bounded   bool // stopped by the time or event bound before the end of the topic
}

// Rate is events per second.
func (n NaiveRun) Rate() float64 { return PerSecond(n.Events, n.Elapsed) }

// HTTPFloorRun is the bare HTTP sender: one request body posted over and over.
type HTTPFloorRun struct {
	Requests      int64
	Notifications int // per request
	Bytes         int // of the request body
	Concurrency   int
	Elapsed       time.Duration
	CPU           time.Duration // user+system of the sender's process
	Conns         int64         // connections the simulator accepted
}

// CPUPerRequest is the sender's CPU time per request.
func (h *HTTPFloorRun) CPUPerRequest() time.Duration {
	if h.Requests == 0 {
		return 0
	}
	return h.CPU / time.Duration(h.Requests)
}

// DaemonRun is one notifierd process run against one topic.
type DaemonRun struct {
	Events                   int64 // produced
	Acked                    int64 // distinct ids the simulator acknowledged
	Complete                 bool  // every produced event acknowledged within the time bound
	Elapsed                  time.Duration
	CPUUser                  time.Duration
	CPUSys                   time.Duration
	PeakRSS                  int64 // VmHWM, bytes
	MemoryLimit              int64 // the daemon's soft memory limit (go_gc_gomemlimit_bytes): its RSS bound
	GCPercent                int   // the daemon's GOGC (go_gc_gogc_percent)
	Requests                 int64 // requests the simulator answered
	Dups                     int64 // acknowledgements of ids already acknowledged
	MinLinger, MinPerSession int64
	Latency                  Latencies // produce to the simulator's first acknowledgement
	ToSim                    Latencies // produce to the arrival of that request: without the simulator's part
	ProduceRate              float64   // paced runs: the target produce rate, events/s
	PacedFraction            float64   // paced runs: that rate over the drain rate
	Batches                  map[string]float64
	GCCycles                 float64
	AllocBytes, Mallocs      float64 // go_memstats_alloc_bytes_total / mallocs_total over the run

	// The rest of the machine over the same window, to tell a busy daemon from a busy box.
	BenchCPU    time.Duration // the bench process: the simulator (and the producer, when paced)
	BrokerCPU   time.Duration // the Kafka broker's JVM, when its pid is known
	MachineBusy float64       // busy fraction of all cores, every process of every user

	Timeline []Sample // runs that sample: every 100 ms
	Conns    int64    // connections the simulator accepted
}

// CPUPerRequest is the daemon's CPU time per request the simulator answered.
func (d *DaemonRun) CPUPerRequest() time.Duration {
	if d.Requests == 0 {
		return 0
	}
	return d.CPU() / time.Duration(d.Requests)
}

// Rate is acknowledged events per second.
func (d *DaemonRun) Rate() float64 { return PerSecond(d.Acked, d.Elapsed) }

// CPU is user plus system time of the daemon over the run.
func (d *DaemonRun) CPU() time.Duration { return d.CPUUser + d.CPUSys }

// CPUPerEvent is CPU time per acknowledged event.
func (d *DaemonRun) CPUPerEvent() time.Duration {
	if d.Acked == 0 {
		return 0
	}
	return d.CPU() / time.Duration(d.Acked)
}

// PerEvent divides v by the acknowledged events.
func (d *DaemonRun) PerEvent(v float64) float64 {
	if d.Acked == 0 {
		return 0
	}
	return v / float64(d.Acked)
}

// RequestRatio is requests against the linger-window minimum.
func (d *DaemonRun) RequestRatio() float64 {
	if d.MinLinger == 0 {
		return 0
	}
	return float64(d.Requests) / float64(d.MinLinger)
}

// E2ERun is notifierd at one simulator latency: a backlog drain of the main topic, and a
// run at a paced produce rate below saturation for latency.
type E2ERun struct {
	LatencyMs int
	Drain     DaemonRun
	Paced     []DaemonRun // one per paced fraction
}

// Runs are the drain and the paced runs.
func (e *E2ERun) Runs() []*DaemonRun {
	out := []*DaemonRun{&e.Drain}
	for i := range e.Paced {
		out = append(out, &e.Paced[i])
	}
	return out
}

// MemoryRun is notifierd holding one open session per event.
type MemoryRun struct {
	Sessions         int64 // produced, one event each
	Open             int64 // buffered events at the measurement
	RSSIdle          int64 // VmRSS once joined, before consuming
	RSS              int64 // VmRSS with the sessions open
	PeakRSS          int64 // VmHWM
	HeapInuse        int64 // go_memstats_heap_inuse_bytes with the sessions open
	LiveHeap         int64 // the same after a forced collection: what the sessions really hold
	IdleHeap         int64 // heap in use once joined, before consuming
	BufferedBytes    int64 // notifierd_buffered_bytes: the budget's estimate of what is held
	MaxBufferedBytes int64 // batch.maxBufferedBytes
	MemoryLimit      int64 // the daemon's soft memory limit (go_gc_gomemlimit_bytes): its RSS bound
	Linger           time.Duration
	Elapsed          time.Duration // from joining to the measurement
}

// LivePerSession is the live heap growth per open session, after a forced collection.
func (m *MemoryRun) LivePerSession() float64 {
	if m.Open == 0 || m.LiveHeap == 0 {
		return 0
	}
	return float64(m.LiveHeap-m.IdleHeap) / float64(m.Open)
}

// BytesPerSession is the RSS growth per open session.
func (m *MemoryRun) BytesPerSession() float64 {
	if m.Open == 0 {
		return 0
	}
	return float64(m.RSS-m.RSSIdle) / float64(m.Open)
}

// SweepPoint is one notifierd run of the sweep.
type SweepPoint struct {
	LatencyMs        int
	MaxNotifications int
	Run              DaemonRun
}

// LatencyPoint is one drain of the latency data set at one simulator latency, with limits
// static or adaptive.
type LatencyPoint struct {
	LatencyMs int
	Static    bool
	// Repeat marks the adaptive runs of the second pass, taken in the reverse order of the
	// latencies so that a machine that slows down (or speeds up) over the step weighs on
	// every point alike.
	Repeat bool
	// TLS: over HTTPS with the default protocol (HTTP/2), as Target is reached; otherwise
	// plain HTTP/1.1.
	TLS bool
	Run DaemonRun
}

// Mode names the point's limits.
func (l LatencyPoint) Mode() string {
	switch {
	case l.Static:
		return fmt.Sprintf("static (%d)", staticConcurrency)
	case l.Repeat:
		return "adaptive, 2nd pass"
	}
	return "adaptive"
}

// Protocol names how the point reached the simulator.
func (l LatencyPoint) Protocol() string {
	if l.TLS {
		return "HTTPS, " + defaultTLSProtocol
	}
	return "plain HTTP/1.1"
}

// StormRun is a drain during which the simulator pushed back for Length from Start.
type StormRun struct {
	Kind          string
	LatencyMs     int
	Start, Length time.Duration
	Run           DaemonRun
}

// InFlightBefore is the mean of requests in flight over the 2 s before the storm.
func (s StormRun) InFlightBefore() float64 {
	var sum float64
	n := 0
	for _, x := range s.Run.Timeline {
		if x.At >= s.Start-2*time.Second && x.At < s.Start {
			sum += x.InFlight
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Fall is how long after the storm began requests in flight first fell to half of before;
// ok is false if they never did.
func (s StormRun) Fall() (time.Duration, bool) {
	half := s.InFlightBefore() / 2
	for _, x := range s.Run.Timeline {
		if x.At >= s.Start && x.InFlight <= half {
			return x.At - s.Start, true
		}
	}
	return 0, false
}

// MinInFlight is the fewest requests in flight during the storm.
func (s StormRun) MinInFlight() float64 {
	lowest := -1.0
	for _, x := range s.Run.Timeline {
		if x.At >= s.Start && x.At < s.Start+s.Length && (lowest < 0 || x.InFlight < lowest) {
			lowest = x.InFlight
		}
	}
	return max(lowest, 0)
}

// RateBefore is the acknowledgement rate over the 3 s before the storm.
func (s StormRun) RateBefore() float64 { return RateAt(s.Run.Timeline, s.Start, 3*time.Second) }

// Recovery is how long after the storm ended the acknowledgement rate (over 1 s) first
// reached 80 % of its rate before; ok is false if it did not within the run.
func (s StormRun) Recovery() (time.Duration, bool) {
	end := s.Start + s.Length
	want := 0.8 * s.RateBefore()
	for _, x := range s.Run.Timeline {
		if x.At >= end+time.Second && RateAt(s.Run.Timeline, x.At, time.Second) >= want {
			return x.At - end, true
		}
	}
	return 0, false
}

// TLSRun is notifierd and the bare HTTP sender over HTTPS with one protocol.
type TLSRun struct {
	Protocol string
	Run      DaemonRun
	Floor    HTTPFloorRun
}
