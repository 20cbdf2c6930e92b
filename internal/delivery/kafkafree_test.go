package delivery

import (
	"os/exec"
	"strings"
	"testing"
)

// The delivery core knows nothing of Kafka (issue 13): the consumer, the dead-letter and
// receipts writers and the trace headers' carrier hold what does. A package moved into this
// list's imports by accident (as the trace-header carrier once was) fails here.
func TestTheCoreImportsNoKafka(t *testing.T) {
	core := []string{"../batch", "../delivery", "../event", "../limit", "../lease", "../tracing", "../../pkg/notify"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, core...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/segmentio/kafka-go") || strings.HasPrefix(pkg, "github.com/twmb/franz-go") {
			t.Errorf("the core depends on %s", pkg)
		}
	}
}
