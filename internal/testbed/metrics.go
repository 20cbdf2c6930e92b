package testbed

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Series are Prometheus samples by series, "name{labels}" -> value, the labels as the
// exposition wrote them. Histogram buckets are kept like any other series.
type Series map[string]float64

// Metrics are Prometheus samples summed over labels per metric name (a counter with a
// reason label adds up to its total).
type Metrics map[string]float64

// ParseMetrics reads the Prometheus text exposition format, which is all notifierd's
// /metrics serves, skipping comments.
func ParseMetrics(r io.Reader) (Series, error) {
	out := Series{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := splitSample(line)
		if !ok {
			return nil, fmt.Errorf("metrics: cannot read %q", line)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %w", line, err)
		}
		out[series] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return out, nil
}

// splitSample splits `name{labels} value [timestamp]` into the series (name and labels) and
// the value. Label values may contain spaces and braces inside quotes, so the labels are
// skipped quote-aware.
func splitSample(line string) (series, value string, ok bool) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", "", false
	}
	end := i
	if line[i] == '{' {
		inQuote, escaped, closing := false, false, -1
		for j := i + 1; j < len(line) && closing < 0; j++ {
			c := line[j]
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inQuote = !inQuote
			case c == '}' && !inQuote:
				closing = j
			}
		}
		if closing < 0 {
			return "", "", false
		}
		end = closing + 1
	}
	fields := strings.Fields(line[end:])
	if len(fields) < 1 || len(fields) > 2 {
		return "", "", false
	}
	return line[:end], fields[0], true
}

// name is the metric name of a series: the part before its labels.
func name(series string) string {
	n, _, _ := strings.Cut(series, "{")
	return n
}

// Sum adds the series up per metric name.
func (s Series) Sum() Metrics {
	out := Metrics{}
	for k, v := range s {
		out[name(k)] += v
	}
	return out
}

// ByLabel collects the series of one metric by the value of its only label:
// notifierd_batches_total{trigger="full"} 12 -> "full": 12.
func (s Series) ByLabel(metric string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s {
		rest, ok := strings.CutPrefix(k, metric+"{")
		if !ok {
			continue
		}
		_, val, ok := strings.Cut(strings.TrimSuffix(rest, "}"), "=")
		if ok {
			out[strings.Trim(val, `"`)] = v
		}
	}
	return out
}
