// Package sasltest checks notifierd's Kafka security settings against a real broker with a
// SASL_SSL listener (deploy/kafka/local-kafka-sasl.sh): TLS with a CA, a client certificate
// and a server name, and SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, configured the way an
// operator does it (config file plus NOTIFIERD_* environment), and connected through
// internal/kafkaconn exactly as the daemon connects (Dialer for the consumer group,
// Transport for writers).
//
// The tests skip unless NOTIFIERD_TEST_KAFKA_SASL_SSL names the listener; `make sasl-test`
// starts the broker, exports the variables `local-kafka-sasl.sh env` prints and runs them.
package sasltest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/kafkaconn"
)

type broker struct {
	addr, tlsDir, user, password string
}

func testBroker(t *testing.T) broker {
	t.Helper()
	b := broker{
		addr:     os.Getenv("NOTIFIERD_TEST_KAFKA_SASL_SSL"),
		tlsDir:   os.Getenv("NOTIFIERD_TEST_KAFKA_TLS_DIR"),
		user:     os.Getenv("NOTIFIERD_TEST_KAFKA_SASL_USER"),
		password: os.Getenv("NOTIFIERD_TEST_KAFKA_SASL_PASSWORD"),
	}
	if b.addr == "" {
		t.Skip("NOTIFIERD_TEST_KAFKA_SASL_SSL is not set: these tests need the SASL_SSL broker " +
			"(`make sasl-test`, or deploy/kafka/local-kafka-sasl.sh start and the variables of `local-kafka-sasl.sh env`)")
	}
	if b.tlsDir == "" || b.user == "" || b.password == "" {
		t.Fatal("NOTIFIERD_TEST_KAFKA_TLS_DIR, NOTIFIERD_TEST_KAFKA_SASL_USER and NOTIFIERD_TEST_KAFKA_SASL_PASSWORD must be set too (local-kafka-sasl.sh env)")
	}
	return b
}

// load builds the configuration the way an operator would: a YAML file with everything but
// the password, which comes from NOTIFIERD_KAFKA_SASL_PASSWORD, plus any other env.
func load(t *testing.T, b broker, tlsYAML, saslYAML string, env map[string]string) config.Kafka {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	doc := fmt.Sprintf("kafka:\n  brokers: [%q]\n  tls:\n%s  sasl:\n%s", b.addr, indent(tlsYAML), indent(saslYAML))
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"NOTIFIERD_KAFKA_SASL_PASSWORD": b.password}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Load(file, func(k string) (string, bool) { v, ok := all[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	return cfg.Kafka
}

func indent(s string) string {
	if s == "" {
		return "    {}\n"
	}
	var out strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out.WriteString("    " + l + "\n")
	}
	return out.String()
}

func (b broker) tlsYAML(serverName, caFile string, clientCert bool) string {
	s := fmt.Sprintf("enabled: true\ncaFile: %s\nserverName: %s\n", caFile, serverName)
	if clientCert {
		s += fmt.Sprintf("certFile: %s\nkeyFile: %s\n", filepath.Join(b.tlsDir, "client.crt"), filepath.Join(b.tlsDir, "client.key"))
	}
	return s
}

func (b broker) goodTLS() string {
	return b.tlsYAML("localhost", filepath.Join(b.tlsDir, "ca.crt"), true)
}

func sasl(mechanism, user string) string {
	return fmt.Sprintf("mechanism: %s\nusername: %s\n", mechanism, user)
}

// TestRoundTrip writes through the Transport, joins a consumer group and reads through the
// Dialer, and commits, over SASL_SSL with each mechanism.
func TestRoundTrip(t *testing.T) {
	b := testBroker(t)
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			roundTrip(t, b, load(t, b, b.goodTLS(), sasl(mech, b.user), nil))
		})
	}
}

// TestFromEnvironment configures TLS and SASL through NOTIFIERD_* variables alone.
func TestFromEnvironment(t *testing.T) {
	b := testBroker(t)
	cfg := load(t, b, "", "", map[string]string{
		"NOTIFIERD_KAFKA_TLS_ENABLED":     "true",
		"NOTIFIERD_KAFKA_TLS_CA_FILE":     filepath.Join(b.tlsDir, "ca.crt"),
		"NOTIFIERD_KAFKA_TLS_CERT_FILE":   filepath.Join(b.tlsDir, "client.crt"),
		"NOTIFIERD_KAFKA_TLS_KEY_FILE":    filepath.Join(b.tlsDir, "client.key"),
		"NOTIFIERD_KAFKA_TLS_SERVER_NAME": "localhost",
		"NOTIFIERD_KAFKA_SASL_MECHANISM":  "SCRAM-SHA-512",
		"NOTIFIERD_KAFKA_SASL_USERNAME":   b.user,
	})
	if !cfg.TLS.Enabled || cfg.SASL.Mechanism != "SCRAM-SHA-512" || cfg.TLS.ServerName != "localhost" {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	roundTrip(t, b, cfg)
}

func roundTrip(t *testing.T, b broker, cfg config.Kafka) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	transport, err := kafkaconn.Transport(cfg, "sasltest")
	if err != nil {
		t.Fatal(err)
	}
	defer transport.CloseIdleConnections()
	dialer, err := kafkaconn.Dialer(cfg, "sasltest")
	if err != nil {
		t.Fatal(err)
	}
	topic := fmt.Sprintf("sasltest-%s-%d", strings.ToLower(cfg.SASL.Mechanism), time.Now().UnixNano())
	group := topic + "-group"

	client := &kafka.Client{Addr: kafka.TCP(b.addr), Transport: transport, Timeout: 20 * time.Second}
	created, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}})
	if err != nil {
		t.Fatalf("create topic over SASL_SSL: %v", err)
	}
	if err := created.Errors[topic]; err != nil {
		t.Fatalf("create topic: %v", err)
	}

	w := &kafka.Writer{Addr: kafka.TCP(b.addr), Topic: topic, Transport: transport, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	want := kafka.Message{Key: []byte("s1"), Value: []byte(`{"type":"display"}`)}
	if err := writeRetrying(ctx, w, want); err != nil {
		t.Fatalf("write over SASL_SSL: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// Group coordination through the Dialer, as the daemon's consumer does.
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: group, Brokers: []string{b.addr}, Dialer: dialer, Topics: []string{topic},
		SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second, HeartbeatInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	gen, err := cg.Next(ctx)
	if err != nil {
		t.Fatalf("join group over SASL_SSL: %v", err)
	}
	if got := gen.Assignments[topic]; len(got) != 1 || got[0].ID != 0 {
		t.Fatalf("assignments %+v", gen.Assignments)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.addr}, Topic: topic, Partition: 0, Dialer: dialer, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	got, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("fetch over SASL_SSL: %v", err)
	}
	if string(got.Key) != string(want.Key) || string(got.Value) != string(want.Value) {
		t.Fatalf("read %q=%q, wrote %q=%q", got.Key, got.Value, want.Key, want.Value)
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{topic: {0: got.Offset + 1}}); err != nil {
		t.Fatalf("commit over SASL_SSL: %v", err)
	}
	offsets, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := offsets.Topics[topic]; len(p) != 1 || p[0].CommittedOffset != got.Offset+1 {
		t.Fatalf("committed %+v, want %d", offsets.Topics[topic], got.Offset+1)
	}
}

// writeRetrying retries while the new topic's leader is being elected.
func writeRetrying(ctx context.Context, w *kafka.Writer, m kafka.Message) error {
	for {
		err := w.WriteMessages(ctx, m)
		if err == nil || !errors.Is(err, kafka.LeaderNotAvailable) && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestRefused: each wrong setting fails the connection, and for the right reason.
func TestRefused(t *testing.T) {
	b := testBroker(t)
	otherCA := writeUnrelatedCA(t)
	for _, tc := range []struct {
		name      string
		tls, sasl string
		password  string
		want      string
	}{
		{"wrong PLAIN password", b.goodTLS(), sasl("PLAIN", b.user), "wrong", "SASL Authentication failed"},
		{"wrong SCRAM-SHA-256 password", b.goodTLS(), sasl("SCRAM-SHA-256", b.user), "wrong", "SASL Authentication failed"},
		{"unknown SCRAM-SHA-512 user", b.goodTLS(), sasl("SCRAM-SHA-512", "nobody"), b.password, "SASL Authentication failed"},
		{"CA that did not sign the broker", b.tlsYAML("localhost", otherCA, true), sasl("SCRAM-SHA-512", b.user), b.password, "certificate signed by unknown authority"},
		{"server name not in the certificate", b.tlsYAML("kafka.example.com", filepath.Join(b.tlsDir, "ca.crt"), true), sasl("SCRAM-SHA-512", b.user), b.password, "kafka.example.com"},
		{"no client certificate", b.tlsYAML("localhost", filepath.Join(b.tlsDir, "ca.crt"), false), sasl("SCRAM-SHA-512", b.user), b.password, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bb := b
			bb.password = tc.password
			cfg := load(t, bb, tc.tls, tc.sasl, nil)
			dialer, err := kafkaconn.Dialer(cfg, "sasltest")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, err := dialer.DialContext(ctx, "tcp", b.addr)
			if err == nil {
				// TLS 1.3 reports a refused client certificate only on the first read.
				_, err = conn.ApiVersions()
				conn.Close()
			}
			if err == nil {
				t.Fatal("connected, want a refusal")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// writeUnrelatedCA writes a CA certificate that signed nothing the broker has.
func writeUnrelatedCA(t *testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unrelated CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
