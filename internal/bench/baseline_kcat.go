package bench

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"time"
)

// kcat is the raw consume rate of librdkafka: `kcat -C -o beginning -e` over every
// partition, printing only the partition number of each message, which the bench counts.
// Its time is the whole process (start, metadata, reading to the end).
func (b *Bench) kcat(ctx context.Context) error {
	path, err := exec.LookPath("kcat")
	if err != nil {
		return fmt.Errorf("kcat is not installed (apt-get install -y kcat); baseline skipped")
	}
	ctx, cancel := context.WithTimeout(ctx, b.opt.RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-C", "-b", b.opt.Broker, "-t", b.main, "-o", "beginning", "-e", "-q", "-f", `%p\n`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	b.logf("kcat: reading %d events", b.mainData.Count())
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	var n int64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n++
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("kcat: %w", err)
	}
	elapsed := time.Since(start)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	b.res.Kcat = &ConsumeRun{Events: n, Elapsed: elapsed, CPU: cpu}
	if n != b.mainData.Count() {
		b.res.Kcat.Note = fmt.Sprintf("read %d of %d", n, b.mainData.Count())
		b.note("kcat read %d of %d events", n, b.mainData.Count())
	}
	b.logf("kcat: %d events in %s: %.0f events/s, %.1f CPU-µs/event", n, elapsed.Round(time.Millisecond), b.res.Kcat.Rate(), float64(cpu)/1e3/float64(max(n, 1)))
	return nil
}
