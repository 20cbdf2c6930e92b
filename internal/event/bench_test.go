package event

import (
	"testing"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
)

// BenchmarkDecode measures one realistic ~450-byte event from bytes to rendered notification.
func BenchmarkDecode(b *testing.B) {
	value := []byte(`{"id":"0b6f7c2e-5d1a-4a3b-9c8d-7e6f5a4b3c2d","type":"display","timestamp":` + jsonInt(time.Now().UnixMilli()) + `,
	"sessionId":"f8b6c1b2-4f4a-4b8a-9a53-0d5f3f0b6e21","tntId":"338e3c1e51f7416a8e1ccba4f81acea0.35_0",
	"mbox":{"name":"product-detail-hero","state":"J+W1Fq18hxliDDJonTPfV0S+mzxapAO3d14M43EsM9f12A6QaqL+E3XKkRFlmq9U"},
	"tokens":["t0pgCOumU3IuAqBdJpfdbGqipyhPJ8sHkEVx9jc1UBqHh2A1YGDx+eFHqWTCR5TkF4E9Ax7JhA4qvR9ZG8n0eA=="],
	"customerIds":[{"id":"crm-12345","integrationCode":"crm","authenticatedState":"authenticated"}],
	"propertyToken":"08b62abd-c3e7-dfb3-4cf3-f8e9a1e0a2f1",
	"context":{"channel":"web","userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}}`)
	d := &Decoder{Client: "acme", Channel: "web", MaxBytes: 64 << 10, Limits: notify.DefaultLimits, Now: time.Now}
	src := Source{Topic: "target-notifications", Partition: 3, Offset: 1}
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := d.Decode(value, src); err != nil {
			b.Fatal(err)
		}
	}
}
