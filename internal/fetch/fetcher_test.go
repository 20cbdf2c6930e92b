package fetch

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// roundTrip is a fake broker: a function of the request.
type roundTrip func(req protocol.Message) (protocol.Message, error)

func (f roundTrip) RoundTrip(_ context.Context, _ net.Addr, req protocol.Message) (protocol.Message, error) {
	return f(req)
}

const topic = "events"

var addr = kafka.TCP("127.0.0.1:9")

var cfg = Config{Topic: topic, Partition: 3, Isolation: kafka.ReadCommitted, MaxBytes: 1 << 20}

// data is a batch of plain records at offsets base, base+1, ... with values "v<offset>".
func data(producer int64, transactional bool, base int64, n int) protocol.RecordReader {
	recs := make([]protocol.Record, n)
	for i := range recs {
		off := base + int64(i)
		recs[i] = protocol.Record{Offset: off, Key: protocol.NewBytes([]byte("k")), Value: protocol.NewBytes([]byte("v" + itoa(off)))}
	}
	attrs := protocol.Attributes(0)
	if transactional {
		attrs |= protocol.Transactional
	}
	return &protocol.RecordBatch{Attributes: attrs, BaseOffset: base, ProducerID: producer, Records: protocol.NewRecordReader(recs...)}
}

// marker is a transaction's commit or abort marker at offset.
func marker(producer int64, offset int64, typ int16) protocol.RecordReader {
	b := protocol.NewControlBatch(protocol.ControlRecord{Offset: offset, Type: typ})
	b.Attributes = protocol.Control | protocol.Transactional
	b.BaseOffset, b.ProducerID = offset, producer
	return b
}

func itoa(n int64) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

func partitionResponse(p fetchapi.ResponsePartition, batches ...protocol.RecordReader) *fetchapi.Response {
	p.Partition = int32(cfg.Partition)
	if len(batches) > 0 {
		p.RecordSet.Records = &protocol.RecordStream{Records: batches}
	}
	return &fetchapi.Response{Topics: []fetchapi.ResponseTopic{{Topic: topic, Partitions: []fetchapi.ResponsePartition{p}}}}
}

func offsetsOf(msgs []kafka.Message) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.Offset)
		if string(m.Value) != "v"+itoa(m.Offset) {
			panic("value of offset " + itoa(m.Offset) + " is " + string(m.Value))
		}
	}
	return out
}

func TestFetchFiltersTransactions(t *testing.T) {
	const committed, aborted, plain = 7, 9, 11
	tests := []struct {
		name        string
		uncommitted bool
		start       int64
		batches     []protocol.RecordReader
		abortedTx   []fetchapi.ResponseTransaction
		want        []int64
		wantNext    int64
	}{{
		name: "committed transaction: records handed on, marker not, position past the marker",
		batches: []protocol.RecordReader{
			data(committed, true, 0, 3), marker(committed, 3, controlCommit),
		},
		want: []int64{0, 1, 2}, wantNext: 4,
	}, {
		name: "aborted transaction interleaved with a committed one: only the committed records",
		batches: []protocol.RecordReader{
			data(aborted, true, 0, 2), data(committed, true, 2, 2), data(aborted, true, 4, 1),
			marker(aborted, 5, controlAbort), marker(committed, 6, controlCommit),
			data(aborted, true, 7, 2), marker(aborted, 9, controlCommit), // the producer's next transaction commits
		},
		abortedTx: []fetchapi.ResponseTransaction{{ProducerID: aborted, FirstOffset: 0}},
		want:      []int64{2, 3, 7, 8}, wantNext: 10,
	}, {
		name:      "a transaction aborted before the fetch position is still dropped",
		start:     1,
		batches:   []protocol.RecordReader{data(aborted, true, 0, 3), marker(aborted, 3, controlAbort), data(plain, false, 4, 1)},
		abortedTx: []fetchapi.ResponseTransaction{{ProducerID: aborted, FirstOffset: 0}},
		want:      []int64{4}, wantNext: 5,
	}, {
		name:      "a non-transactional batch of a producer id in the aborted list is kept",
		batches:   []protocol.RecordReader{data(aborted, false, 0, 2)},
		abortedTx: []fetchapi.ResponseTransaction{{ProducerID: aborted, FirstOffset: 0}},
		want:      []int64{0, 1}, wantNext: 2,
	}, {
		name:        "read_uncommitted: aborted records handed on, markers still not",
		uncommitted: true,
		batches:     []protocol.RecordReader{data(aborted, true, 0, 2), marker(aborted, 2, controlAbort)},
		want:        []int64{0, 1}, wantNext: 3,
	}, {
		name:    "a batch that begins before the position: the earlier records are not handed on",
		start:   2,
		batches: []protocol.RecordReader{data(plain, false, 0, 4)},
		want:    []int64{2, 3}, wantNext: 4,
	}, {
		name:     "only markers: nothing handed on, position past them",
		batches:  []protocol.RecordReader{marker(committed, 0, controlCommit), marker(aborted, 1, controlAbort)},
		wantNext: 2,
	}, {
		name:     "no records: the position stays",
		start:    5,
		wantNext: 5,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.uncommitted {
				c.Isolation = kafka.ReadUncommitted
			}
			var asked *fetchapi.Request
			rt := roundTrip(func(req protocol.Message) (protocol.Message, error) {
				asked = req.(*fetchapi.Request)
				return partitionResponse(fetchapi.ResponsePartition{HighWatermark: 20, LastStableOffset: 15, AbortedTransactions: tt.abortedTx}, tt.batches...), nil
			})
			f := New(rt, addr, c, tt.start)
			res, err := f.Fetch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := offsetsOf(res.Messages); !slices.Equal(got, tt.want) {
				t.Errorf("messages at %v, want %v", got, tt.want)
			}
			if res.Next != tt.wantNext || f.Position() != tt.wantNext {
				t.Errorf("next %d, position %d, want %d", res.Next, f.Position(), tt.wantNext)
			}
			wantEnd := int64(15) // the last stable offset
			if c.Isolation == kafka.ReadUncommitted {
				wantEnd = 20
			}
			if res.End != wantEnd {
				t.Errorf("end %d, want %d", res.End, wantEnd)
			}
			if asked.IsolationLevel != int8(c.Isolation) || asked.Topics[0].Partitions[0].FetchOffset != tt.start {
				t.Errorf("asked isolation %d at %d, want %d at %d", asked.IsolationLevel, asked.Topics[0].Partitions[0].FetchOffset, c.Isolation, tt.start)
			}
		})
	}
}

// broker answers fetches with code and offset lists with logStart and logEnd.
func broker(code kafka.Error, logStart, logEnd int64) roundTrip {
	return func(req protocol.Message) (protocol.Message, error) {
		switch r := req.(type) {
		case *fetchapi.Request:
			return partitionResponse(fetchapi.ResponsePartition{ErrorCode: int16(code), HighWatermark: logEnd, LastStableOffset: logEnd}), nil
		case *listoffsets.Request:
			off := logEnd
			if r.Topics[0].Partitions[0].Timestamp == kafka.FirstOffset {
				off = logStart
			}
			return &listoffsets.Response{Topics: []listoffsets.ResponseTopic{{Topic: topic, Partitions: []listoffsets.ResponsePartition{{
				Partition: int32(cfg.Partition), Offset: off, Timestamp: -1}}}}}, nil
		}
		return nil, errors.New("unexpected request")
	}
}

func TestFetchOutOfRange(t *testing.T) {
	tests := []struct {
		name              string
		pos               int64
		logStart, logEnd  int64
		atLatest          bool // Config.PastEndAtLatest
		wantGap           *Gap
		wantErr           bool
		wantPos, wantSkip int64
	}{
		{name: "retention removed the position: resume at the log start", pos: 10, logStart: 25, logEnd: 40,
			wantGap: &Gap{From: 10, LogStart: 25, To: 25}, wantPos: 25, wantSkip: 15},
		{name: "past the end (topic recreated): resume at the log start, losing nothing written since", pos: 90, logStart: 0, logEnd: 40,
			wantGap: &Gap{From: 90, LogStart: 0, To: 0}, wantPos: 0},
		{name: "past the end after an unclean election, retention kept the log start", pos: 90, logStart: 12, logEnd: 80,
			wantGap: &Gap{From: 90, LogStart: 12, To: 12}, wantPos: 12},
		{name: "past the end, reset policy latest: resume at the end", pos: 90, logStart: 0, logEnd: 40, atLatest: true,
			wantGap: &Gap{From: 90, LogStart: 0, To: 40}, wantPos: 40},
		{name: "in range again (a leader catching up): retry where it was", pos: 30, logStart: 25, logEnd: 40,
			wantErr: true, wantPos: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.PastEndAtLatest = tt.atLatest
			f := New(broker(kafka.OffsetOutOfRange, tt.logStart, tt.logEnd), addr, c, tt.pos)
			res, err := f.Fetch(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if tt.wantGap != nil && (res.Gap == nil || *res.Gap != *tt.wantGap || res.Gap.Skipped() != tt.wantSkip || res.Next != tt.wantPos) {
				t.Errorf("gap %+v next %d, want %+v skipping %d", res.Gap, res.Next, tt.wantGap, tt.wantSkip)
			}
			if f.Position() != tt.wantPos {
				t.Errorf("position %d, want %d", f.Position(), tt.wantPos)
			}
		})
	}
}

func TestFetchResolvesStart(t *testing.T) {
	for _, tt := range []struct {
		start, want int64
	}{{kafka.FirstOffset, 25}, {kafka.LastOffset, 40}} {
		f := New(broker(0, 25, 40), addr, cfg, tt.start)
		res, err := f.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Next != tt.want {
			t.Errorf("start %d resolved to %d, want %d", tt.start, res.Next, tt.want)
		}
	}
}

func TestFetchErrorsNameThePartition(t *testing.T) {
	f := New(broker(kafka.NotLeaderForPartition, 0, 10), addr, cfg, 4)
	_, err := f.Fetch(context.Background())
	if !errors.Is(err, kafka.NotLeaderForPartition) {
		t.Fatalf("error %v, want NotLeaderForPartition", err)
	}
	if want := "fetching events[3] at offset 4: "; err.Error()[:len(want)] != want {
		t.Errorf("error %q does not begin with %q", err, want)
	}
	if f.Position() != 4 {
		t.Errorf("position moved to %d on an error", f.Position())
	}
}

func TestFetchWithoutProgressIsAnError(t *testing.T) {
	// A batch whose records all lie before the position, as a compacted batch that lost its
	// tail: nothing moves, and saying so beats fetching it again and again in silence.
	rt := roundTrip(func(protocol.Message) (protocol.Message, error) {
		return partitionResponse(fetchapi.ResponsePartition{HighWatermark: 20, LastStableOffset: 20}, data(11, false, 0, 3)), nil
	})
	f := New(rt, addr, cfg, 5)
	if _, err := f.Fetch(context.Background()); err == nil || f.Position() != 5 {
		t.Errorf("error %v at position %d, want an error and the position kept at 5", err, f.Position())
	}
}

func TestFetchGivesUpOnASilentLeader(t *testing.T) {
	silent := func(ctx context.Context, _ net.Addr, _ protocol.Message) (protocol.Message, error) {
		<-ctx.Done() // a host gone without a reset: nothing comes back
		return nil, ctx.Err()
	}
	c := cfg
	c.MaxWait, c.Timeout = 10*time.Millisecond, 20*time.Millisecond
	f := New(silentTrip(silent), addr, c, 5)
	outer, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the test's own bound
	defer cancel()
	_, err := f.Fetch(outer)
	if !errors.Is(err, context.DeadlineExceeded) || outer.Err() != nil {
		t.Errorf("error %v (test bound reached: %v), want the request's own deadline", err, outer.Err())
	}
}

// silentTrip is a fake broker that sees the request's context.
type silentTrip func(ctx context.Context, addr net.Addr, req protocol.Message) (protocol.Message, error)

func (f silentTrip) RoundTrip(ctx context.Context, addr net.Addr, req protocol.Message) (protocol.Message, error) {
	return f(ctx, addr, req)
}
