package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// Scenario 7: the fuzz targets of the event decoder and the Target cookie parser, each for
// a fixed number of inputs (50,000 short, 500,000 full: about 10 s and 60 s here), both at
// once with one worker each (so the two fit the time of one on a two-core machine). A count,
// not a duration: Go 1.26's coordinator can fail a -fuzztime duration at its deadline with a
// bare "context deadline exceeded" and no failing input (go.dev/issue/75804, fixed in Go
// 1.27). A failing input is written by go test under the package's testdata/fuzz and named
// in the failure.
var fuzzScenario = Scenario{
	Name: "fuzz", Title: "fuzz: event decoder and cookie parser",
	Short: 3 * time.Minute, Full: 6 * time.Minute,
	NoBed: true,
	Run:   runFuzz,
}

// FuzzTargets are the fuzz tests the suite runs: package and function.
var FuzzTargets = []struct{ Pkg, Func string }{
	{"./internal/event", "FuzzDecode"},
	{"./pkg/notify", "FuzzParseTargetCookie"},
}

var (
	fuzzProgress = regexp.MustCompile(`fuzz: elapsed: \d+s, execs: (\d+)`)
	fuzzFailure  = regexp.MustCompile(`(?m)^.*(Failing input written to|--- FAIL|panic:).*$`)
)

func runFuzz(ctx context.Context, b *Bed) error {
	inputs := b.count(50_000, 500_000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, ft := range FuzzTargets {
		wg.Go(func() {
			execs, took, err := fuzzOne(ctx, b, ft.Pkg, ft.Func, inputs)
			mu.Lock()
			defer mu.Unlock()
			b.Result.FuzzExecs += execs
			if err != nil {
				b.Result.Fail("%s (%s): %v", ft.Func, ft.Pkg, err)
				return
			}
			b.Result.Note("%s in %s: %d inputs in %s with the build, no failure",
				ft.Func, ft.Pkg, execs, took.Round(time.Second))
		})
	}
	wg.Wait()
	b.Result.Note("command per target: go test -run '^$' -fuzz '^<Func>$' -fuzztime %dx -fuzzminimizetime 2s -parallel 1 <pkg> (the default minimisation budget of 60 s per new interesting input leaves a short run idle most of the time)", inputs)
	return nil
}

func fuzzOne(ctx context.Context, b *Bed, pkg, fn string, inputs int) (int64, time.Duration, error) {
	start := time.Now()
	logPath := filepath.Join(b.Dir, fn+".log")
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+fn+"$", "-fuzztime", strconv.Itoa(inputs)+"x", "-fuzzminimizetime", "2s", "-parallel", "1", pkg)
	cmd.Dir = b.suite.opts.RepoRoot
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(logPath, out, 0o644)
	var execs int64
	if m := fuzzProgress.FindAllSubmatch(out, -1); len(m) > 0 {
		execs, _ = strconv.ParseInt(string(m[len(m)-1][1]), 10, 64)
	}
	if err == nil {
		execs = max(execs, int64(inputs)) // the last progress line can come before the end
	}
	b.Logf("%s: %d inputs, %s", fn, execs, time.Since(start).Round(time.Second))
	if err != nil {
		detail := fuzzFailure.FindAll(out, 5)
		msg := fmt.Sprintf("go test -fuzz failed: %v (output in %s)", err, testbed.RelTo(b.suite.opts.RepoRoot, logPath))
		for _, d := range detail {
			msg += "; " + string(d)
		}
		return execs, time.Since(start), fmt.Errorf("%s", msg)
	}
	return execs, time.Since(start), nil
}
