package kafkaconn

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/notifierd/notifierd/internal/config"
)

// TestOwnTopicWritesAreOneAttempt: a write to the dead-letter or receipts topic that the
// daemon stopped waiting for (shutdown) must not go on being retried in the background, since
// Close waits for it. Against a broker that never answers a produce, the writer makes one
// attempt; kafka-go's default made ten, of kafka.requestTimeout each, after the caller left.
func TestOwnTopicWritesAreOneAttempt(t *testing.T) {
	for name, build := range map[string]func(config.Kafka, kafka.RoundTripper) *kafka.Writer{
		"dead letters": DeadLetterWriter,
		"receipts":     ReceiptsWriter,
	} {
		t.Run(name, func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "own"))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			var produces atomic.Int32
			cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				cluster.KeepControl()
				produces.Add(1)
				time.Sleep(1500 * time.Millisecond) // past the attempt's timeout: no answer in time
				return nil, nil, false
			})
			c := config.Kafka{Brokers: cluster.ListenAddrs(), DLQTopic: "own", ReceiptsTopic: "own", RequestTimeout: time.Second}
			w := build(c, &kafka.Transport{})
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond) // the daemon's base ends
			defer cancel()
			if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("v")}); err == nil {
				t.Fatal("a write to a broker that does not answer succeeded")
			}
			_ = w.Close() // waits for what the writer still has under way
			if n := produces.Load(); n != 1 {
				t.Errorf("the broker saw %d produce requests for one write, want 1: retries went on after the caller stopped waiting", n)
			}
		})
	}
}
