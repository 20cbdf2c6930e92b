package testbed

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// paced runs Pace over the numbers 0..n-1 and returns the chunks written.
func paced(ctx context.Context, n, rate, maxChunk int, stop <-chan struct{}, write func(context.Context, []int) error) ([][]int, error) {
	next, sent := 0, [][]int{}
	err := Pace(ctx, rate, maxChunk, stop, func(k int) []int {
		var out []int
		for ; len(out) < k && next < n; next++ {
			out = append(out, next)
		}
		return out
	}, func(ctx context.Context, c []int) error {
		if write != nil {
			if err := write(ctx, c); err != nil {
				return err
			}
		}
		sent = append(sent, c)
		return nil
	})
	return sent, err
}

func TestPaceWritesAllInOrder(t *testing.T) {
	chunks, err := paced(context.Background(), 2500, 0, 1000, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if all := slices.Concat(chunks...); len(all) != 2500 || !slices.IsSorted(all) {
		t.Fatalf("wrote %d, in order: %v", len(all), slices.IsSorted(all))
	}
	for _, c := range chunks {
		if len(c) > 1000 {
			t.Errorf("a chunk of %d messages", len(c))
		}
	}
}

func TestPacePaces(t *testing.T) {
	start := time.Now()
	chunks, err := paced(context.Background(), 30, 100, 1000, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A lower bound only: a pacer can be slow on a busy machine, never faster than its rate.
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("30 messages at 100/s took %s, under the 290 ms the pace allows", took)
	}
	if len(chunks) < 2 || len(chunks[0]) == 30 {
		t.Errorf("at 100/s, 30 messages went out in %d writes, the first of %d", len(chunks), len(chunks[0]))
	}
	if n := len(slices.Concat(chunks...)); n != 30 {
		t.Errorf("wrote %d of 30", n)
	}
}

func TestPaceStops(t *testing.T) {
	boom := errors.New("broker gone")
	closed := make(chan struct{})
	close(closed)
	for _, tc := range []struct {
		name    string
		rate    int
		stop    <-chan struct{}
		write   func(cancel context.CancelFunc, chunk int) error
		want    error
		written int
	}{
		{name: "at the first failed write", write: func(_ context.CancelFunc, chunk int) error {
			if chunk == 2 {
				return boom
			}
			return nil
		}, want: boom, written: 20},
		// The user presses Ctrl-C during the first write; at one a second the second message is
		// due only after a second.
		{name: "with the context", rate: 1, write: func(cancel context.CancelFunc, _ int) error {
			cancel()
			return nil
		}, want: context.Canceled, written: 1},
		{name: "when stop is closed", rate: 1, stop: closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			writes := 0
			chunks, err := paced(ctx, 100, tc.rate, 10, tc.stop, func(context.Context, []int) error {
				writes++
				if tc.write != nil {
					return tc.write(cancel, writes-1)
				}
				return nil
			})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Pace: %v, want %v", err, tc.want)
			}
			if n := len(slices.Concat(chunks...)); n != tc.written {
				t.Errorf("wrote %d, want %d", n, tc.written)
			}
		})
	}
}
