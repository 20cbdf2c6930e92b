package routes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/routes"
	"github.com/notifierd/notifierd/internal/testbed"
)

// freshTopic names a topic nobody created, and deletes it after the test.
func freshTopic(t testing.TB, broker string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "routes-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = testbed.Admin{Addr: broker}.DeleteTopics(ctx, name)
	})
	return name
}

func client(t testing.TB, broker string) *kafka.Client {
	tr := &kafka.Transport{MetadataTTL: time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafka.Client{Addr: kafka.TCP(broker), Transport: tr, Timeout: 30 * time.Second}
}

// The store creates its topic compacted, writes what the router learns, and a second
// store's router (a restarted or new member) loads it.
func TestRoutesSurviveARestartThroughKafka(t *testing.T) {
	broker, real := kafkatest.Broker(t)
	topic := freshTopic(t, broker)
	ctx := t.Context()
	c := client(t, broker)

	first := delivery.NewRouter("http://t/c/{client}", "http://t/e/{hint}", "", 100)
	w := routes.KafkaWriter([]string{broker}, topic, c.Transport)
	defer w.Close()
	store := routes.NewStore(topic, c, w.WriteMessages, first.Load, prometheus.NewRegistry(), zaptest.NewLogger(t))
	first.OnLearn(store.Writer.Learned)
	store.Start(ctx) // creates the topic; nothing to load
	if real {
		res, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"cleanup.policy"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Resources[0].ConfigEntries[0].ConfigValue; got != "compact" {
			t.Fatalf("cleanup.policy %q, want compact", got)
		}
	}
	for i := range 50 {
		first.Learn(envelope(i), "mboxedge"+strconv.Itoa(30+i%5)+".tt.omtrdc.net")
	}
	store.Drained(ctx) // as a generation ends

	second := delivery.NewRouter("http://t/c/{client}", "http://t/e/{hint}", "", 100)
	second.Learn(envelope(0), "mboxedge99.tt.omtrdc.net") // learned later here: it wins
	w2 := routes.KafkaWriter([]string{broker}, topic, c.Transport)
	defer w2.Close()
	store2 := routes.NewStore(topic, c, w2.WriteMessages, second.Load, prometheus.NewRegistry(), zaptest.NewLogger(t))
	st, err := store2.Reader.CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 50 || st.Loaded != 49 || st.Superseded != 1 {
		t.Fatalf("catch-up %+v, want 50 read, 49 loaded, 1 superseded", st)
	}
	for i := 1; i < 50; i++ {
		if hint, _ := second.Known("tnt:v" + strconv.Itoa(i)); hint != strconv.Itoa(30+i%5) {
			t.Errorf("visitor %d: hint %q", i, hint)
		}
	}
	if hint, _ := second.Known("tnt:v0"); hint != "99" {
		t.Errorf("visitor 0: %q, want the hint learned after the stored one", hint)
	}
}

func envelope(i int) *event.Envelope {
	return &event.Envelope{Client: "acme", SessionID: "s" + strconv.Itoa(i), TntID: "v" + strconv.Itoa(i)}
}

// TestLoadCost measures a catch-up of NOTIFIERD_ROUTES_LOAD routes (1,000,000 for the
// figures in docs/OPERATIONS.md) into a router of that size: time, and the heap it leaves.
//
//	NOTIFIERD_TEST_KAFKA=127.0.0.1:9092 NOTIFIERD_ROUTES_LOAD=1000000 go test -run TestLoadCost -v ./internal/routes/
func TestLoadCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NOTIFIERD_ROUTES_LOAD"))
	if n <= 0 {
		t.Skip("set NOTIFIERD_ROUTES_LOAD to the number of routes")
	}
	broker, _ := kafkatest.Broker(t)
	topic := freshTopic(t, broker)
	ctx := t.Context()
	c := client(t, broker)
	if err := routes.EnsureTopic(ctx, c, topic); err != nil {
		t.Fatal(err)
	}
	w := routes.KafkaWriter([]string{broker}, topic, c.Transport)
	defer w.Close()
	writer := routes.NewWriter(routes.WriterConfig{MaxPending: n}, w.WriteMessages, routes.NewMetrics(prometheus.NewRegistry()), zap.NewNop())
	now := time.Now().UnixMilli()
	start := time.Now()
	for i := range n {
		// tntIds as Target makes them: 32 hex digits, the hint and the node.
		writer.Learned(fmt.Sprintf("tnt:%032x.35_0", i), strconv.Itoa(30+i%8), now)
		if (i+1)%100_000 == 0 {
			if err := writer.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := writer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d routes in %s", n, time.Since(start).Round(time.Millisecond))

	router := delivery.NewRouter("http://t/c/{client}", "http://t/e/{hint}", "", n)
	reader := routes.NewReader(routes.KafkaOffsets(c, topic), routes.KafkaFetch(c, topic), router.Load, routes.NewMetrics(prometheus.NewRegistry()), zap.NewNop())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, err := reader.CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("loaded %d of %d routes in %s: %.0f MiB allocated while loading, %.0f MiB of heap retained by the router after GC (%d bytes a route)",
		st.Loaded, st.Read, st.Took.Round(time.Millisecond), float64(allocated)/(1<<20),
		float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), (after.HeapAlloc-before.HeapAlloc)/uint64(max(st.Loaded, 1)))
	if st.Loaded != n {
		t.Fatalf("loaded %d of %d", st.Loaded, n)
	}
	runtime.KeepAlive(router)
}
