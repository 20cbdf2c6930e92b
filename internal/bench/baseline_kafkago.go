package bench

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// bareKafkaGo is the raw consume rate of kafka-go as notifierd uses it: a consumer group,
// one goroutine per assigned partition (gen.Start) with its own kafka.Reader and
// FetchMessage, the same reader settings as the daemon's workers, no work, offsets
// committed once at the end. It runs in the bench process while nothing else does, so the
// process's CPU time over the loop is kafka-go's.
func (b *Bench) bareKafkaGo(ctx context.Context) error {
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // the daemon's GC pacing
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: b.runID + "-bare", Brokers: []string{b.opt.Broker}, Topics: []string{b.main},
		StartOffset: kafka.FirstOffset, JoinGroupBackoff: time.Second,
	})
	if err != nil {
		return err
	}
	defer group.Close()
	b.logf("bare kafka-go consumer group: reading %d events", b.mainData.Count())
	gen, err := group.Next(ctx)
	if err != nil {
		return err
	}
	start, cpu0 := time.Now(), SelfCPU()
	var (
		count    atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		commits  = map[int]int64{}
		failures []error
	)
	// kafka-go ends the generation as soon as one gen.Start function returns, so a worker
	// that reached its partition's end waits for release (after the commit) before returning.
	release := make(chan struct{})
	defer close(release)
	for _, a := range gen.Assignments[b.main] {
		end := b.mainEnds[a.ID]
		if end == 0 {
			continue
		}
		wg.Add(1)
		gen.Start(func(ctx context.Context) {
			defer func() {
				wg.Done()
				select {
				case <-release:
				case <-ctx.Done():
				}
			}()
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: []string{b.opt.Broker}, Topic: b.main, Partition: a.ID,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 250 * time.Millisecond,
			})
			defer r.Close()
			if err := r.SetOffset(a.Offset); err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
				return
			}
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("partition %d: %w", a.ID, err))
					mu.Unlock()
					return
				}
				count.Add(1)
				if m.Offset+1 >= end {
					mu.Lock()
					commits[a.ID] = m.Offset + 1
					mu.Unlock()
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.opt.RunTimeout):
		return fmt.Errorf("bare kafka-go loop: %d of %d events after %s", count.Load(), b.mainData.Count(), b.opt.RunTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	elapsed, cpu := time.Since(start), SelfCPU()-cpu0
	if len(failures) > 0 {
		return fmt.Errorf("bare kafka-go loop: %v", failures[0])
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{b.main: commits}); err != nil {
		b.note("bare kafka-go loop: commit at the end: %v", err)
	}
	b.res.Bare = &ConsumeRun{Events: count.Load(), Elapsed: elapsed, CPU: cpu}
	b.logf("bare kafka-go: %d events in %s: %.0f events/s, %.1f CPU-µs/event",
		count.Load(), elapsed.Round(time.Millisecond), b.res.Bare.Rate(), float64(cpu)/1e3/float64(max(count.Load(), 1)))
	return nil
}
