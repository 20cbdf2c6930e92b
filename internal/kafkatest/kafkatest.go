// Package kafkatest owns the Kafka half of notifierd's test bed: which broker a test talks to,
// and the few helpers every integration test needs around it, on internal/testbed's
// Producer and Admin: produce, create a topic, read a topic back, look at a group's
// committed offsets.
//
// The broker is the real one named by NOTIFIERD_TEST_KAFKA (host:port; `make test` starts a
// local Apache Kafka with deploy/kafka/local-kafka.sh and sets it to 127.0.0.1:9092), or, when
// that is unset, an in-process github.com/twmb/franz-go/pkg/kfake cluster started for the one
// test. Tests should pass against both; the real broker is the one that counts.
//
// Things that differ between the two and that tests must allow for:
//   - Consumer-group session timeouts must be at least 6 s on both (Kafka's default
//     group.min.session.timeout.ms, which kfake copies); keep HeartbeatInterval short instead.
//   - A real broker is shared by every test and every run: always use Topic for a fresh topic
//     and derive group IDs from it, never fixed names.
//   - kfake node IDs start at 0, the real broker's is 1.
//
// Every helper fails the test with t.Fatal on error, so call them from the test's goroutine,
// and closes every connection it opens before returning (tests use goleak).
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/notifierd/notifierd/internal/testbed"
)

// EnvBroker names the environment variable holding a real broker's bootstrap address.
const EnvBroker = "NOTIFIERD_TEST_KAFKA"

// opTimeout bounds each helper call; a healthy local broker answers in milliseconds.
const opTimeout = 30 * time.Second

// Broker returns the bootstrap address of the Kafka broker tests should use: the value of
// NOTIFIERD_TEST_KAFKA when set (a real broker), else an in-process kfake cluster started for
// this test and closed with t.Cleanup. Real reports whether it is a real broker.
func Broker(t testing.TB) (addr string, real bool) {
	t.Helper()
	addr = os.Getenv(EnvBroker)
	b, err := testbed.StartBroker(context.Background(), addr, kfake.DefaultNumPartitions(1))
	if err != nil && addr != "" {
		t.Fatalf("kafkatest: %s=%s: %v (start it with `make kafka-start`)", EnvBroker, addr, err)
	} else if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(b.Close)
	return b.Addr, b.Real
}

// Topic creates a uniquely named topic (prefix from t.Name(), sanitised, plus a random suffix)
// with n partitions on addr, waits until every partition's leader answers requests, so the
// topic can be used at once, and returns its name. Topics are never deleted: a real broker
// keeps them (wipe it with local-kafka.sh wipe).
func Topic(t testing.TB, addr string, partitions int) string {
	t.Helper()
	if partitions < 1 {
		t.Fatalf("kafkatest.Topic: partitions = %d, want >= 1", partitions)
	}
	name := topicName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := (testbed.Admin{Addr: addr}).CreateTopic(ctx, name, partitions); err != nil {
		t.Fatalf("kafkatest.Topic: %v", err)
	}
	return name
}

// topicName turns a test name into a legal, unique topic name: [A-Za-z0-9-] from the test
// name (at most 200 of them), a dash, and 12 random hex digits.
func topicName(testName string) string {
	prefix := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		default:
			return '-'
		}
	}, testName)
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return prefix + "-" + hex.EncodeToString(b[:])
}

// Produce writes the messages to topic with kafka-go (synchronous, RequireAll acks), failing t on error.
//
// Messages with a key go to the partition Kafka's Java client would pick (murmur2 of the key),
// messages without one round-robin over the partitions. Message.Partition is ignored; use
// ProduceTo to choose the partition.
func Produce(t testing.TB, addr, topic string, msgs ...kafka.Message) {
	t.Helper()
	produce(t, addr, topic, &keyOrRoundRobin{}, msgs)
}

// ProduceTo is Produce with every message written to the given partition.
func ProduceTo(t testing.TB, addr, topic string, partition int, msgs ...kafka.Message) {
	t.Helper()
	produce(t, addr, topic, fixedPartition(partition), msgs)
}

func produce(t testing.TB, addr, topic string, balancer kafka.Balancer, msgs []kafka.Message) {
	t.Helper()
	if len(msgs) == 0 {
		return
	}
	p := testbed.NewProducer(addr, topic, testbed.ProducerOptions{ClientID: "notifierd-kafkatest", Balancer: balancer})
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	err := p.Write(ctx, append([]kafka.Message(nil), msgs...)...)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("kafkatest.Produce: %v", err)
	}
}

type keyOrRoundRobin struct {
	rr     kafka.RoundRobin
	hashed kafka.Murmur2Balancer
}

func (b *keyOrRoundRobin) Balance(msg kafka.Message, partitions ...int) int {
	if msg.Key != nil {
		return b.hashed.Balance(msg, partitions...)
	}
	return b.rr.Balance(msg, partitions...)
}

type fixedPartition int

func (p fixedPartition) Balance(_ kafka.Message, partitions ...int) int {
	for _, id := range partitions {
		if id == int(p) {
			return id
		}
	}
	return int(p) // the writer then reports the bad partition
}

// ReadAll reads every message currently in topic (all partitions, from the first offset up to the high watermark at call time) without a group.
//
// The result is ordered by partition, then offset; Topic, Partition, Offset, HighWaterMark,
// Key, Value, Headers and Time are set.
func ReadAll(t testing.TB, addr, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := (testbed.Admin{Addr: addr}).ReadAll(ctx, topic)
	if err != nil {
		t.Fatalf("kafkatest.ReadAll: %v", err)
	}
	return out
}

// CommittedOffsets returns the group's committed offset per partition for topic (-1 / missing when none).
//
// Every partition of the topic has an entry; it is -1 where the group has committed nothing.
func CommittedOffsets(t testing.TB, addr, group, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := (testbed.Admin{Addr: addr}).Committed(ctx, group, topic)
	if err != nil {
		t.Fatalf("kafkatest.CommittedOffsets: %v", err)
	}
	return out
}
