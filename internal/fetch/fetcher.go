// Package fetch reads one partition of a topic the way Kafka's own consumer does, on
// kafka-go's protocol layer instead of kafka.Reader: from the partition's current leader (the
// transport's metadata follows leader changes), at read_committed or read_uncommitted, with
// transaction markers never handed on and, at read_committed, the records of aborted
// transactions left out. A position that fell out of the log (retention removed it) resumes
// at the log start and says how many offsets it skipped.
//
// kafka.Reader cannot do this in kafka-go v0.4.51: it returns control batches as messages and
// ignores its IsolationLevel (kafka-go issue 1332). The filtering follows Kafka's
// CompletedFetch and franz-go's source.go.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// Config names the partition and bounds each fetch.
type Config struct {
	Topic     string
	Partition int
	Isolation kafka.IsolationLevel
	MaxBytes  int
	MaxWait   time.Duration // how long the broker may hold a fetch while nothing is new
	// Timeout bounds a request beyond MaxWait: a leader that went silent (its host gone
	// without a reset) must not hold the partition until TCP gives up, minutes later.
	Timeout time.Duration
	// PastEndAtLatest resumes a position beyond the log's end at the end instead of the log
	// start: the reset policy (kafka.startOffset latest), as Kafka's consumer applies
	// auto.offset.reset to an out-of-range position.
	PastEndAtLatest bool
}

// Result is what one fetch yields.
type Result struct {
	// Messages to hand on, in offset order: no markers, no aborted records.
	Messages []kafka.Message
	// Next is the position after this result: past every record, marker and aborted record
	// it covered, so a partition whose tail is a commit marker is read to its end.
	Next int64
	// End is what lag is measured against: the last stable offset at read_committed, the
	// high watermark otherwise.
	End int64
	// Gap is set when the position was out of the log and moved.
	Gap *Gap
}

// Gap is a position that was out of range, and where reading resumed.
type Gap struct {
	From     int64 // the position the broker refused
	LogStart int64
	To       int64 // where reading resumes: LogStart when From was below it; beyond the end, the log start or end (Config.PastEndAtLatest)
}

// Skipped counts the offsets retention removed before they were read (0 when the position
// was past the end instead).
func (g Gap) Skipped() int64 { return max(g.To-g.From, 0) }

// Fetcher reads one partition from a position. It is not safe for concurrent use.
type Fetcher struct {
	rt   kafka.RoundTripper
	addr net.Addr
	cfg  Config
	pos  int64 // next offset to read; kafka.FirstOffset or kafka.LastOffset until resolved
	last int   // messages in the last result: the next one's capacity
}

// New returns a fetcher reading cfg's partition from start, which may be kafka.FirstOffset
// or kafka.LastOffset for a partition with no committed offset.
func New(rt kafka.RoundTripper, addr net.Addr, cfg Config, start int64) *Fetcher {
	return &Fetcher{rt: rt, addr: addr, cfg: cfg, pos: start}
}

// Position is the next offset the fetcher reads (negative until a start was resolved).
func (f *Fetcher) Position() int64 { return f.pos }

// Fetch makes one fetch request and returns what it yields; the position moves past it.
// Errors concern this request only (a leader moving, a broker going away, a missing topic):
// calling Fetch again retries, against whatever leader the metadata names by then.
func (f *Fetcher) Fetch(ctx context.Context) (Result, error) {
	if f.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.cfg.MaxWait+f.cfg.Timeout)
		defer cancel()
	}
	if f.pos < 0 {
		start, err := f.listOffset(ctx, f.pos)
		if err != nil {
			return Result{}, fmt.Errorf("resolving the start of %s: %w", f.where(), err)
		}
		f.pos = start
	}
	res, err := f.rt.RoundTrip(ctx, f.addr, f.request())
	if err != nil {
		return Result{}, fmt.Errorf("fetching %s at offset %d: %w", f.where(), f.pos, err)
	}
	p, err := onePartition(res, f.cfg)
	if err != nil {
		return Result{}, fmt.Errorf("fetching %s at offset %d: %w", f.where(), f.pos, err)
	}
	if code := kafka.Error(p.ErrorCode); code != 0 {
		if code == kafka.OffsetOutOfRange {
			return f.outOfRange(ctx)
		}
		return Result{}, fmt.Errorf("fetching %s at offset %d: %w", f.where(), f.pos, code)
	}
	end := p.HighWatermark
	if f.cfg.Isolation == kafka.ReadCommitted && p.LastStableOffset >= 0 {
		end = p.LastStableOffset
	}
	msgs, next, batches, err := readRecords(p, f.cfg, f.pos, end, f.last)
	if err != nil {
		return Result{}, fmt.Errorf("reading the records of %s at offset %d: %w", f.where(), f.pos, err)
	}
	if batches > 0 && next == f.pos {
		// Batches that end before a record at the position: on a compacted topic, a batch
		// whose last records were compacted away, or an empty one kept for producer state.
		// kafka-go does not expose a batch's last offset, so the fetcher cannot step over it.
		return Result{}, fmt.Errorf("fetching %s at offset %d: %d record batches and no record at or after the offset (a compacted topic? notifierd needs cleanup.policy=delete)", f.where(), f.pos, batches)
	}
	f.pos, f.last = next, len(msgs)
	return Result{Messages: msgs, Next: next, End: end}, nil
}

func (f *Fetcher) request() *fetchapi.Request {
	return &fetchapi.Request{
		ReplicaID:      -1,
		MaxWaitTime:    int32(f.cfg.MaxWait / time.Millisecond),
		MinBytes:       1,
		MaxBytes:       int32(f.cfg.MaxBytes),
		IsolationLevel: int8(f.cfg.Isolation),
		SessionID:      -1, // no fetch session: one partition per request
		SessionEpoch:   -1,
		Topics: []fetchapi.RequestTopic{{
			Topic: f.cfg.Topic,
			Partitions: []fetchapi.RequestPartition{{
				Partition:          int32(f.cfg.Partition),
				CurrentLeaderEpoch: -1,
				FetchOffset:        f.pos,
				LogStartOffset:     -1,
				PartitionMaxBytes:  int32(f.cfg.MaxBytes),
			}},
		}},
	}
}

func onePartition(res protocol.Message, cfg Config) (*fetchapi.ResponsePartition, error) {
	r, ok := res.(*fetchapi.Response)
	if !ok {
		return nil, fmt.Errorf("unexpected response %T", res)
	}
	if r.ErrorCode != 0 {
		return nil, kafka.Error(r.ErrorCode)
	}
	for i := range r.Topics {
		t := &r.Topics[i]
		if t.Topic != cfg.Topic {
			continue
		}
		for j := range t.Partitions {
			if int(t.Partitions[j].Partition) == cfg.Partition {
				return &t.Partitions[j], nil
			}
		}
	}
	return nil, errors.New("the response does not name the partition")
}

// outOfRange decides where to resume when the broker refused the position: at the log start
// when retention removed it (the only choice that loses nothing still there); when the log is
// shorter than the position (the topic was recreated, or an unclean leader election truncated
// it), where the reset policy says, the log start by default: nothing below the end was read
// from this log, and resuming at the end would skip what was written to it since; and at the
// same place when the position is in range again (a leader that had not caught up).
func (f *Fetcher) outOfRange(ctx context.Context) (Result, error) {
	first, err := f.listOffset(ctx, kafka.FirstOffset)
	if err != nil {
		return Result{}, fmt.Errorf("offset %d of %s is out of range, and the log start is unknown: %w", f.pos, f.where(), err)
	}
	last, err := f.listOffset(ctx, kafka.LastOffset)
	if err != nil {
		return Result{}, fmt.Errorf("offset %d of %s is out of range, and the log end is unknown: %w", f.pos, f.where(), err)
	}
	gap := Gap{From: f.pos, LogStart: first}
	switch {
	case f.pos < first:
		gap.To = first
	case f.pos > last && f.cfg.PastEndAtLatest:
		gap.To = last
	case f.pos > last:
		gap.To = first
	default:
		return Result{}, fmt.Errorf("fetching %s at offset %d: %w (in range again: %d to %d)", f.where(), f.pos, kafka.OffsetOutOfRange, first, last)
	}
	f.pos = gap.To
	return Result{Next: gap.To, End: last, Gap: &gap}, nil
}

// listOffset asks the leader for the log start (kafka.FirstOffset) or the end
// (kafka.LastOffset: the last stable offset at read_committed), one offset per request.
func (f *Fetcher) listOffset(ctx context.Context, which int64) (int64, error) {
	res, err := f.rt.RoundTrip(ctx, f.addr, &listoffsets.Request{
		ReplicaID:      -1,
		IsolationLevel: int8(f.cfg.Isolation),
		Topics: []listoffsets.RequestTopic{{Topic: f.cfg.Topic, Partitions: []listoffsets.RequestPartition{{
			Partition: int32(f.cfg.Partition), CurrentLeaderEpoch: -1, Timestamp: which}}}},
	})
	if err != nil {
		return 0, err
	}
	r, ok := res.(*listoffsets.Response)
	if !ok {
		return 0, fmt.Errorf("unexpected response %T", res)
	}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			if t.Topic != f.cfg.Topic || int(p.Partition) != f.cfg.Partition {
				continue
			}
			if p.ErrorCode != 0 {
				return 0, kafka.Error(p.ErrorCode)
			}
			return p.Offset, nil
		}
	}
	return 0, errors.New("the offsets response does not name the partition")
}

func (f *Fetcher) where() string { return fmt.Sprintf("%s[%d]", f.cfg.Topic, f.cfg.Partition) }
