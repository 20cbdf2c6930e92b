package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigAndVersion(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: s3cret\ntarget:\n  client: acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("batch:\n  maxNotifications: 500\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		notInOut string
	}{
		{"valid config is printed redacted", []string{"check-config", "--config", good}, 0, "username: u", "", "s3cret"},
		{"no Target client code", []string{"check-config"}, 2, "", "config key target.client (NOTIFIERD_TARGET_CLIENT): required", ""},
		{"bad value names the key on one line", []string{"check-config", "--config", bad}, 2, "", "config key batch.maxNotifications (NOTIFIERD_BATCH_MAX_NOTIFICATIONS): must be 1 to 50", ""},
		{"daemon refuses a bad config before starting", []string{"--config", bad}, 2, "", "batch.maxNotifications", ""},
		{"missing file", []string{"check-config", "--config", filepath.Join(dir, "nope.yaml")}, 2, "", "reading config", ""},
		{"version", []string{"--version"}, 0, "notifierd dev", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d with %q / %q", code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
			if tt.notInOut != "" && strings.Contains(stdout.String(), tt.notInOut) {
				t.Fatalf("output shows the secret: %s", stdout.String())
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
				t.Fatalf("the error should be one line: %q", stderr.String())
			}
		})
	}
}
