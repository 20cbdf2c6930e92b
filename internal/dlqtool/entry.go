package dlqtool

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Position is a message's place in Kafka.
type Position struct {
	Topic     string
	Partition int
	Offset    int64
}

// String renders topic/partition/offset, the form ParsePosition reads.
func (p Position) String() string {
	return p.Topic + "/" + strconv.Itoa(p.Partition) + "/" + strconv.FormatInt(p.Offset, 10)
}

// ParsePosition reads topic/partition/offset. Kafka topic names cannot contain '/'.
func ParsePosition(s string) (Position, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" {
		return Position{}, fmt.Errorf("position %q: want topic/partition/offset", s)
	}
	partition, err := strconv.Atoi(parts[1])
	if err != nil || partition < 0 {
		return Position{}, fmt.Errorf("position %q: partition %q is not a number >= 0", s, parts[1])
	}
	offset, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || offset < 0 {
		return Position{}, fmt.Errorf("position %q: offset %q is not a number >= 0", s, parts[2])
	}
	return Position{Topic: parts[0], Partition: partition, Offset: offset}, nil
}

// Entry is one dead letter, as the daemon's dlq.Writer wrote it.
type Entry struct {
	At     Position // where the entry sits in the dead-letter topic
	Source Position // where notifierd consumed the event; Topic is "" when the headers lack it
	Time   time.Time
	Reason string
	Error  string

	// From the value, when it is an event object: the notification id notifierd used (the
	// event's own, or the one derived from Source) and the session id.
	EventID   string
	SessionID string

	Key, Value []byte // the original message, as replay publishes it again

	// FirstEntry is the dead-letter entry an earlier replay of this event came from, when
	// the event was a replay dead-lettered again.
	FirstEntry string
}

// ReplayedFrom is what a replay of e is marked with: the first dead-letter entry of the
// event, so that replaying it again, from any entry, keeps one derived notification id.
func (e Entry) ReplayedFrom() string {
	if e.FirstEntry != "" {
		return e.FirstEntry
	}
	return e.At.String()
}

// HasSource reports whether the entry names where its event came from.
func (e Entry) HasSource() bool { return e.Source.Topic != "" }

// NewEntry reads a dead-letter message; headers it lacks or cannot parse leave fields empty
// rather than failing, so a foreign message in the topic still lists.
func NewEntry(m kafka.Message) Entry {
	e := Entry{
		At:     Position{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset},
		Time:   m.Time,
		Reason: dlq.Header(m, dlq.HeaderReason),
		Error:  dlq.Header(m, dlq.HeaderError),
		Key:    m.Key,
		Value:  m.Value,

		FirstEntry: dlq.Header(m, dlq.HeaderReplayedFrom),
	}
	if t, err := time.Parse(time.RFC3339Nano, dlq.Header(m, dlq.HeaderTime)); err == nil {
		e.Time = t
	}
	partition, perr := strconv.Atoi(dlq.Header(m, dlq.HeaderPartition))
	offset, oerr := strconv.ParseInt(dlq.Header(m, dlq.HeaderOffset), 10, 64)
	if topic := dlq.Header(m, dlq.HeaderTopic); topic != "" && perr == nil && oerr == nil {
		e.Source = Position{Topic: topic, Partition: partition, Offset: offset}
	}
	var ev notify.Event
	if json.Unmarshal(m.Value, &ev) == nil {
		e.EventID = ev.ID
		if e.EventID == "" && e.HasSource() {
			e.EventID = event.DerivedID(event.Source{Topic: e.Source.Topic, Partition: e.Source.Partition, Offset: e.Source.Offset, ReplayedFrom: e.FirstEntry})
		}
		e.SessionID = ev.Identity(e.Time).SessionID // as the daemon resolved it when it dead-lettered the event
	}
	return e
}
