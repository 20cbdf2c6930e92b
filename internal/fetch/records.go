package fetch

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
)

// Control record types (the second int16 of a control record's key).
const (
	controlAbort  = 0
	controlCommit = 1
)

// readRecords turns a partition's record batches into messages from pos on. It drops control
// batches, and the batches of a producer while the broker lists it as aborted: a producer
// enters the aborted set at the first offset of its aborted transaction and leaves it at that
// transaction's abort marker, as in Kafka's CompletedFetch. It returns the messages, the
// position after everything read and how many batches there were; room is the capacity to
// start with (the last result's size: results of a partition tend to be alike).
func readRecords(p *fetchapi.ResponsePartition, cfg Config, pos, end int64, room int) ([]kafka.Message, int64, int, error) {
	stream, ok := p.RecordSet.Records.(*protocol.RecordStream)
	if !ok || stream == nil {
		return nil, pos, 0, nil // no records
	}
	aborted := slices.Clone(p.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b fetchapi.ResponseTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	var abortedProducers map[int64]struct{}
	enter := func(base int64) { // producers whose aborted transaction has begun by base
		for len(aborted) > 0 && aborted[0].FirstOffset <= base {
			if abortedProducers == nil {
				abortedProducers = make(map[int64]struct{})
			}
			abortedProducers[aborted[0].ProducerID] = struct{}{}
			aborted = aborted[1:]
		}
	}

	r := reader{cfg: cfg, pos: pos, end: end, msgs: make([]kafka.Message, 0, room)}
	for _, batch := range stream.Records {
		switch b := batch.(type) {
		case *protocol.ControlBatch:
			enter(b.BaseOffset)
			if err := r.control(b, abortedProducers); err != nil {
				return nil, 0, 0, err
			}
		case *protocol.RecordBatch:
			enter(b.BaseOffset)
			_, isAborted := abortedProducers[b.ProducerID]
			if err := r.batch(b, b.Attributes.Transactional() && isAborted); err != nil {
				return nil, 0, 0, err
			}
		default: // v0/v1 message sets: no transactions
			if err := r.batch(b, false); err != nil {
				return nil, 0, 0, err
			}
		}
	}
	return r.msgs, r.pos, len(stream.Records), nil
}

type reader struct {
	cfg  Config
	pos  int64
	end  int64
	msgs []kafka.Message
}

// control steps over a control batch; an abort marker ends its producer's aborted transaction.
func (r *reader) control(b *protocol.ControlBatch, abortedProducers map[int64]struct{}) error {
	for {
		cr, err := b.ReadControlRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("control batch at offset %d: %w", b.BaseOffset, err)
		}
		if cr.Type == controlAbort {
			delete(abortedProducers, b.ProducerID)
		}
		r.pos = max(r.pos, cr.Offset+1)
	}
}

// batch hands on a batch's records from the position on, or only steps over them when skip.
func (r *reader) batch(b protocol.RecordReader, skip bool) error {
	for {
		rec, err := b.ReadRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Offset < r.pos || skip { // a batch can begin before the position asked for
			closeBytes(rec)
			r.pos = max(r.pos, rec.Offset+1)
			continue
		}
		msg, err := r.message(rec)
		closeBytes(rec)
		if err != nil {
			return fmt.Errorf("record at offset %d: %w", rec.Offset, err)
		}
		r.msgs = append(r.msgs, msg)
		r.pos = rec.Offset + 1
	}
}

// message copies a record out of the response's pages (key and value in one allocation), so
// the pages go back to their pool and the message outlives the response.
func (r *reader) message(rec *protocol.Record) (kafka.Message, error) {
	kn, vn := bytesLen(rec.Key), bytesLen(rec.Value)
	buf := make([]byte, max(kn, 0)+max(vn, 0))
	msg := kafka.Message{
		Topic: r.cfg.Topic, Partition: r.cfg.Partition, Offset: rec.Offset, HighWaterMark: r.end,
		Time: rec.Time,
	}
	if kn >= 0 {
		msg.Key = buf[:kn:kn]
		if _, err := io.ReadFull(rec.Key, msg.Key); err != nil {
			return msg, fmt.Errorf("key: %w", err)
		}
	}
	if vn >= 0 {
		msg.Value = buf[max(kn, 0):]
		if _, err := io.ReadFull(rec.Value, msg.Value); err != nil {
			return msg, fmt.Errorf("value: %w", err)
		}
	}
	msg.Headers = rec.Headers // a slice of its own per record (protocol's readFromVersion2)
	return msg, nil
}

// bytesLen is the length of b, or -1 for a null key or value.
func bytesLen(b protocol.Bytes) int {
	if b == nil {
		return -1
	}
	return b.Len()
}

func closeBytes(rec *protocol.Record) {
	if rec.Key != nil {
		rec.Key.Close()
	}
	if rec.Value != nil {
		rec.Value.Close()
	}
}
