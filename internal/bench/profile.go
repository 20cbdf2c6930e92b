package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
)

// ProfileSeconds is how long the CPU profile of the 0 ms drain runs: long enough for a
// steady state, short enough to end inside a 1M-event drain.
const ProfileSeconds = 15

// captureProfile fetches a CPU profile of seconds from the daemon's /debug/pprof/ into path.
func captureProfile(ctx context.Context, d *testbed.Notifierd, seconds int, path string) error {
	return getAdmin(ctx, d, fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds), time.Duration(seconds)*time.Second, path)
}

// fetchAdmin saves what the admin endpoint serves at urlPath (a heap profile, say) into path.
func fetchAdmin(ctx context.Context, d *testbed.Notifierd, urlPath, path string) error {
	return getAdmin(ctx, d, urlPath, 0, path)
}

func getAdmin(ctx context.Context, d *testbed.Notifierd, urlPath string, takes time.Duration, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.Admin+urlPath, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: takes + 30*time.Second}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", urlPath, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", urlPath, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("GET %s: %w", urlPath, err)
	}
	return f.Close()
}

// forceGC has the daemon collect garbage, through /debug/pprof/heap?gc=1.
func forceGC(ctx context.Context, d *testbed.Notifierd) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.Admin+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("forced collection: %w", err)
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("forced collection: %s", res.Status)
	}
	return err
}

// ProfileTop is `go tool pprof -top` of a profile: the functions by cumulative CPU.
func ProfileTop(ctx context.Context, bin, path string, nodes int) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", fmt.Sprintf("-nodecount=%d", nodes), bin, path)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -top %s: %w", path, err)
	}
	// Drop pprof's header lines about the file and build; keep the totals and the table.
	var keep []string
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		keep = append(keep, strings.TrimRight(line, "\n"))
	}
	return strings.Join(keep, "\n"), nil
}
