package bench

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/fetch"
	"github.com/notifierd/notifierd/internal/testbed"
)

// partitionReader reads one partition from an offset: kafka.Reader, or notifierd's fetcher.
type partitionReader func(ctx context.Context, partition int, offset int64, each func(kafka.Message) bool) error

// bareKafkaGo is the raw consume rate of kafka-go, read both ways: with kafka.Reader, which
// notifierd used until it had to filter transactions, and with package fetch, which it uses
// now. The second must be at least as fast as the first.
func (b *Bench) bareKafkaGo(ctx context.Context) error {
	reader, err := b.bareConsume(ctx, "bare", "kafka.Reader", b.readWithReader)
	if err != nil {
		return err
	}
	b.res.Bare = reader
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	fetcher, err := b.bareConsume(ctx, "bare-fetch", "notifierd's fetcher (read_committed)",
		func(ctx context.Context, partition int, offset int64, each func(kafka.Message) bool) error {
			return b.readWithFetcher(ctx, transport, partition, offset, each)
		})
	if err != nil {
		return err
	}
	b.res.BareFetch = fetcher
	return nil
}

// readWithReader is kafka.Reader with the settings the daemon's workers had, and the same
// fetch size as the fetcher.
func (b *Bench) readWithReader(ctx context.Context, partition int, offset int64, each func(kafka.Message) bool) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{b.opt.Broker}, Topic: b.main, Partition: partition,
		MinBytes: 1, MaxBytes: config.Default().Kafka.MaxFetchBytes, MaxWait: 250 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		return err
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return err
		}
		if !each(m) {
			return nil
		}
	}
}

// readWithFetcher is package fetch with the daemon's settings: read_committed, the default
// kafka.maxFetchBytes, and the next fetch under way while a result is handled.
func (b *Bench) readWithFetcher(ctx context.Context, transport *kafka.Transport, partition int, offset int64, each func(kafka.Message) bool) error {
	f := fetch.New(transport, kafka.TCP(b.opt.Broker), fetch.Config{
		Topic: b.main, Partition: partition, Isolation: kafka.ReadCommitted,
		MaxBytes: config.Default().Kafka.MaxFetchBytes, MaxWait: 250 * time.Millisecond,
	}, offset)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan fetch.Result, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(results)
		for {
			res, err := f.Fetch(ctx)
			if err != nil {
				errc <- err
				return
			}
			select {
			case results <- res:
			case <-ctx.Done():
				return
			}
		}
	}()
	for res := range results {
		for _, m := range res.Messages {
			if !each(m) {
				return nil
			}
		}
	}
	select {
	case err := <-errc:
		return err
	default:
		return ctx.Err()
	}
}

// bareConsume is a consumer group with one goroutine per assigned partition (gen.Start),
// each reading with read, no work, offsets committed once at the end. It runs in the bench
// process while nothing else does, so the process's CPU time over the loop is the reader's.
func (b *Bench) bareConsume(ctx context.Context, group, name string, read partitionReader) (*ConsumeRun, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // the daemon's GC pacing
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: b.runID + "-" + group, Brokers: []string{b.opt.Broker}, Topics: []string{b.main},
		StartOffset: kafka.FirstOffset, JoinGroupBackoff: time.Second,
	})
	if err != nil {
		return nil, err
	}
	defer cg.Close()
	b.logf("bare kafka-go consumer group, %s: reading %d events", name, b.mainData.Count())
	gen, err := cg.Next(ctx)
	if err != nil {
		return nil, err
	}
	start, cpu0 := time.Now(), testbed.SelfCPU()
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
			err := read(ctx, a.ID, a.Offset, func(m kafka.Message) bool {
				count.Add(1)
				if m.Offset+1 < end {
					return true
				}
				mu.Lock()
				commits[a.ID] = m.Offset + 1
				mu.Unlock()
				return false
			})
			if err != nil {
				mu.Lock()
				failures = append(failures, fmt.Errorf("partition %d: %w", a.ID, err))
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.opt.RunTimeout):
		return nil, fmt.Errorf("bare kafka-go loop, %s: %d of %d events after %s", name, count.Load(), b.mainData.Count(), b.opt.RunTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	elapsed, cpu := time.Since(start), testbed.SelfCPU()-cpu0
	if len(failures) > 0 {
		return nil, fmt.Errorf("bare kafka-go loop, %s: %v", name, failures[0])
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{b.main: commits}); err != nil {
		b.note("bare kafka-go loop, %s: commit at the end: %v", name, err)
	}
	run := &ConsumeRun{Events: count.Load(), Elapsed: elapsed, CPU: cpu}
	b.logf("bare kafka-go, %s: %d events in %s: %.0f events/s, %.1f CPU-µs/event",
		name, count.Load(), elapsed.Round(time.Millisecond), run.Rate(), float64(cpu)/1e3/float64(max(count.Load(), 1)))
	return run, nil
}
