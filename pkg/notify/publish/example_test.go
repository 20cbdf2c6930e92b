package publish_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

// A service reports that it showed the prefetched content of mbox product1: the state and
// eventToken come from the prefetch response it rendered, the timestamp is when the visitor
// saw it.
func Example() {
	p := publish.New(publish.NewKafkaWriter(publish.KafkaConfig{
		Brokers: []string{"kafka-1:9092", "kafka-2:9092"},
		Topic:   "target-notifications",
	}))
	defer p.Close()

	ev := notify.Event{
		Type:      notify.TypeDisplay,
		Timestamp: time.Now().UnixMilli(),
		SessionID: "4d0a3d9b8a2f4e1f9c7b6a5d4c3b2a19", // the sessionId the prefetch used; also the Kafka key
		TntID:     "338e3c1e51f7416a8e1ccba4f81acea0.28_0",
		Mbox: &notify.Mbox{
			Name:  "product1",
			State: "J+W+ROOT2mFUXbVt3oeXk0kPDg5c0Ud7aF7KOSm5BJM8RMt2BqiOY3zT7Hg6nvSF94dPz8oEZbDtGOk7DhO9xXp4Cw==",
		},
		Tokens: []string{"EnW8Sfqg7JpA4TxP2dtrWGqipfsIHvVzTQxHolz2IpSCnQ9Y9OaLL2gsdrWQTvE54PwSz67rmXWmSnkXpSSS2Q=="},
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, ev); err != nil {
		var invalid *publish.InvalidError
		if errors.As(err, &invalid) {
			log.Printf("not sent, fix the event: %v", err) // retrying will not help
			return
		}
		log.Printf("Kafka did not take it; retry later: %v", err)
	}
}
