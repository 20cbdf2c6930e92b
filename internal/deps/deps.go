//go:build tools

package deps

import (
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/segmentio/kafka-go"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "go.yaml.in/yaml/v3"
)
