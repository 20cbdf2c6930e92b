// Command probe checks that a Kafka broker really serves clients: it creates the topic
// notifierd-probe (if missing), produces one message to it with acks=all, fetches that
// message back, and asks the group coordinator for the offsets of the group notifierd-probe
// (which also makes a fresh broker create and load __consumer_offsets, so the first consumer
// group of a test run does not pay for that). It exits 0 only if all of that worked within -timeout, and 1 otherwise, so
// deploy/kafka/local-kafka.sh can run it in a loop while the broker starts.
//
// For a cluster (deploy/kafka/local-kafka-cluster.sh): -replication-factor 3 probes with the
// topic notifierd-probe-rf3 of that replication factor instead, so the probe passes only once
// enough brokers have registered to host it, and -node N passes only once the metadata lists
// broker N, which a broker that has not caught up or is fenced is not.
//
// It uses kafka-go, the client notifierd itself uses, so a broker this accepts is one the
// daemon and its tests can talk to.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

const probeTopic = "notifierd-probe"

func main() {
	addr := flag.String("addr", "127.0.0.1:9092", "bootstrap address of the broker (or a comma-separated list)")
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	quiet := flag.Bool("q", false, "print nothing on failure")
	rf := flag.Int("replication-factor", 1, "replication factor of the probe topic (notifierd-probe-rf<N> when above 1)")
	node := flag.Int("node", -1, "fail unless the metadata lists this broker id (-1: no check)")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := probe(ctx, *addr, *rf, *node); err != nil {
		if !*quiet {
			fmt.Fprintf(os.Stderr, "probe %s: %v\n", *addr, err)
		}
		os.Exit(1)
	}
}

func probe(ctx context.Context, addr string, rf, node int) error {
	transport := &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MetadataTTL: time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(strings.Split(addr, ",")...), Transport: transport}

	topic := probeTopic
	if rf > 1 {
		topic += "-rf" + strconv.Itoa(rf)
	}
	if node >= 0 {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{})
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		listed := false
		for _, b := range meta.Brokers {
			listed = listed || b.ID == node
		}
		if !listed {
			return fmt.Errorf("broker %d is not in the metadata (%d brokers listed)", node, len(meta.Brokers))
		}
	}

	created, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: rf}},
	})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	if err := created.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic: %w", err)
	}

	value := []byte("probe " + strconv.FormatInt(time.Now().UnixNano(), 10))
	produced, err := client.Produce(ctx, &kafka.ProduceRequest{
		Topic:        topic,
		Partition:    0,
		RequiredAcks: kafka.RequireAll,
		Records:      kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes(value)}),
	})
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	if produced.Error != nil {
		return fmt.Errorf("produce: %w", produced.Error)
	}
	if len(produced.RecordErrors) > 0 {
		return fmt.Errorf("produce: record errors %v", produced.RecordErrors)
	}

	fetched, err := client.Fetch(ctx, &kafka.FetchRequest{
		Topic:     topic,
		Partition: 0,
		Offset:    produced.BaseOffset,
		MinBytes:  1,
		MaxBytes:  1 << 20,
		MaxWait:   time.Second,
	})
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if fetched.Error != nil {
		return fmt.Errorf("fetch: %w", fetched.Error)
	}
	for {
		rec, err := fetched.Records.ReadRecord()
		if err != nil {
			return fmt.Errorf("fetch: offset %d not returned: %w", produced.BaseOffset, err)
		}
		if rec.Offset < produced.BaseOffset {
			continue // a batch may start before the offset asked for
		}
		got, err := kafka.ReadAll(rec.Value)
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		if !bytes.Equal(got, value) {
			return fmt.Errorf("fetch: offset %d holds %q, want %q", rec.Offset, got, value)
		}
		break
	}

	offsets, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{
		GroupID: topic,
		Topics:  map[string][]int{topic: {0}},
	})
	if err == nil {
		err = offsets.Error
	}
	if err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
		return fmt.Errorf("group coordinator: %w", err)
	}
	return nil
}
