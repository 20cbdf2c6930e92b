package demo

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/notifierd/notifierd/internal/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// kfake and kafka-go keep idle connection reapers that end shortly after Close, and
		// the daemon's HTTP client keeps idle connections until the simulator closes them.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	)
}

// e2eConfig is a small run against the in-process broker, or against the real one named by
// NOTIFIERD_TEST_KAFKA (as `make test` sets it).
func e2eConfig(t *testing.T, out *strings.Builder) Config {
	cfg := DefaultConfig()
	cfg.Events, cfg.Visitors, cfg.Rate = 300, 40, 0
	cfg.Kafka = os.Getenv(kafkatest.EnvBroker)
	cfg.Timeout = time.Minute
	cfg.Log = zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))
	cfg.Out = out
	return cfg
}

// The README's first command keeps working: a whole run accounts for every event.
func TestRunAccountsForEveryEvent(t *testing.T) {
	for _, faults := range []bool{false, true} {
		name := "no faults"
		if faults {
			name = "faults"
		}
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			cfg := e2eConfig(t, &out)
			cfg.Faults = faults
			report, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			report.WriteSummary(&out)
			a := report.Accounting
			if !report.OK() || report.Stop != stopComplete {
				t.Fatalf("not OK (%s):\n%s", report.Stop, out.String())
			}
			if a.Produced != 300 || a.Acknowledged+a.DeadLettered != 300 || a.Invalid != 3 || a.DeadLettered != 3 {
				t.Errorf("produced %d = %d acknowledged + %d dead-lettered, %d invalid", a.Produced, a.Acknowledged, a.DeadLettered, a.Invalid)
			}
			if a.WrongReason != 0 || a.ValidDeadLettered != 0 || a.AckedAndDead != 0 {
				t.Errorf("anomalies: %+v", a)
			}
			if a.CommittedSum != 300 || a.EndSum != 300 {
				t.Errorf("committed %d of %d", a.CommittedSum, a.EndSum)
			}
			if report.Daemon.Requests == 0 || report.Sim.MaxPerRequest > 50 {
				t.Errorf("%d requests, at most %d notifications in one", report.Daemon.Requests, report.Sim.MaxPerRequest)
			}
			if faults && report.Daemon.Retries == 0 {
				t.Logf("no retries with faults on (possible with few requests)")
			}
			t.Logf("\n%s", out.String())
		})
	}
}

// Ctrl-C stops the run, notifierd shuts down gracefully and nothing is lost.
func TestRunInterrupted(t *testing.T) {
	var out strings.Builder
	cfg := e2eConfig(t, &out)
	cfg.Events, cfg.Rate = 20_000, 1000 // would take 20 s
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Out = &interruptAfter{w: &out, lines: 2, cancel: cancel}
	report, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	report.WriteSummary(&out)
	if !report.Interrupted || !report.NothingLost() {
		t.Fatalf("interrupted %v, nothing lost %v:\n%s", report.Interrupted, report.NothingLost(), out.String())
	}
	if a := report.Accounting; a.Produced == 0 || a.Produced >= cfg.Events {
		t.Errorf("produced %d of %d before the interrupt", a.Produced, cfg.Events)
	}
	t.Logf("\n%s", out.String())
}

// interruptAfter cancels (as Ctrl-C does) once the demo has written a few progress lines.
type interruptAfter struct {
	w      *strings.Builder
	lines  int
	cancel context.CancelFunc
}

func (i *interruptAfter) Write(p []byte) (int, error) {
	i.w.Write(p)
	if strings.Count(i.w.String(), "\n[") >= i.lines {
		i.cancel()
	}
	return len(p), nil
}
