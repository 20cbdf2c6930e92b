package daemon_test

import (
	"context"
	"go.uber.org/zap/zapcore"
	"os"
	"time"
)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// testLogLevel is warn, or NOTIFIERD_TEST_LOG (debug, info) when a run needs more.
func testLogLevel() zapcore.Level {
	if lvl, err := zapcore.ParseLevel(os.Getenv("NOTIFIERD_TEST_LOG")); err == nil && os.Getenv("NOTIFIERD_TEST_LOG") != "" {
		return lvl
	}
	return zapcore.WarnLevel
}
