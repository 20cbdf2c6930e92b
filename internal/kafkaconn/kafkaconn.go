// Package kafkaconn turns the Kafka security settings (TLS and SASL PLAIN or SCRAM) into
// the kafka-go Dialer used by consumers and the Transport used by writers.
package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

// Dialer returns a dialer for consumers and group coordination.
func Dialer(c config.Kafka, clientID string) (*kafka.Dialer, error) {
	tlsCfg, mech, err := security(c)
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: clientID, Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech}, nil
}

// Transport returns a transport for writers.
func Transport(c config.Kafka, clientID string) (*kafka.Transport, error) {
	tlsCfg, mech, err := security(c)
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{ClientID: clientID, TLS: tlsCfg, SASL: mech, DialTimeout: 10 * time.Second}, nil
}

// DeadLetterTransport returns the dead-letter writer's transport: its metadata is refreshed
// as often as the consumer's, so writes follow a partition leader that moved within seconds.
func DeadLetterTransport(c config.Kafka, clientID string) (*kafka.Transport, error) {
	t, err := Transport(c, clientID)
	if err != nil {
		return nil, err
	}
	t.MetadataTTL = consumerMetadataTTL
	return t, nil
}

// DeadLetterWriter returns the dead-letter topic's writer: the producers' writer (murmur2 of
// the key, every in-sync replica acknowledging), so a session's dead letters land together,
// partitioned as producers partition the events topic; it creates the topic if missing.
func DeadLetterWriter(c config.Kafka, t kafka.RoundTripper) *kafka.Writer {
	w := publish.NewKafkaWriter(publish.KafkaConfig{Brokers: c.Brokers, Topic: c.DLQTopic, Transport: t})
	w.AllowAutoTopicCreation = true
	oneAttempt(w, c)
	return w
}

// oneAttempt makes each write to one of the daemon's own topics a single attempt bounded by
// kafka.requestTimeout: their callers retry at their own pace (internal/outbox, the routes
// writer). kafka-go's default of 10 attempts of 10 s each goes on in the background after the
// caller stopped waiting, and Close waits for it: a silent broker held a stopping daemon
// about 100 s past shutdown.timeout.
func oneAttempt(w *kafka.Writer, c config.Kafka) {
	w.MaxAttempts = 1
	w.WriteTimeout = c.RequestTimeout
}

// ReceiptsWriter returns the receipts topic's writer: like the dead-letter topic's, keyed as
// the events are, so a session's receipts share a partition and keep their order; it
// creates the topic if missing.
func ReceiptsWriter(c config.Kafka, t kafka.RoundTripper) *kafka.Writer {
	w := publish.NewKafkaWriter(publish.KafkaConfig{Brokers: c.Brokers, Topic: c.ReceiptsTopic, Transport: t})
	w.AllowAutoTopicCreation = true
	// A receipts write carries up to 1,000 records (receipt.Writer's batch): kafka-go's
	// default of 100 a batch would split it into a produce request per hundred.
	w.BatchSize, w.BatchBytes = 1000, 4<<20
	oneAttempt(w, c)
	return w
}

// consumerMetadataTTL bounds how stale the consumer's view of partition leaders gets: a fetch
// that failed because a leader moved is retried against the new one within about this long
// (half of it on average). kafka-go also uses it as the metadata request's timeout, so it
// must leave a busy broker room to answer.
const consumerMetadataTTL = 5 * time.Second

// ConsumerTransport returns the transport for fetching, offset lookups and commits: its
// metadata covers only the events topic and is refreshed often, so leader changes are
// followed within seconds at the cost of one small request every few seconds.
func ConsumerTransport(c config.Kafka, clientID string) (*kafka.Transport, error) {
	t, err := Transport(c, clientID)
	if err != nil {
		return nil, err
	}
	t.MetadataTTL = consumerMetadataTTL
	t.MetadataTopics = []string{c.Topic}
	return t, nil
}

// IsolationLevel maps kafka.isolationLevel to kafka-go's.
func IsolationLevel(c config.Kafka) kafka.IsolationLevel {
	if c.IsolationLevel == "read_uncommitted" {
		return kafka.ReadUncommitted
	}
	return kafka.ReadCommitted
}

func security(c config.Kafka) (*tls.Config, sasl.Mechanism, error) {
	var tlsCfg *tls.Config
	if c.TLS.Enabled {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.caFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("kafka.tls.caFile %s: no PEM certificate in it", c.TLS.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		if c.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.certFile/keyFile: %w", err)
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
	}
	var mech sasl.Mechanism
	switch c.SASL.Mechanism {
	case "":
	case "PLAIN":
		mech = plain.Mechanism{Username: c.SASL.Username, Password: string(c.SASL.Password)}
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if c.SASL.Mechanism == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.SASL.Username, string(c.SASL.Password))
		if err != nil {
			return nil, nil, fmt.Errorf("kafka.sasl: %w", err)
		}
		mech = m
	default:
		return nil, nil, fmt.Errorf("kafka.sasl.mechanism %q is not supported", c.SASL.Mechanism)
	}
	return tlsCfg, mech, nil
}
