package testbed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the Prometheus metric families of a /metrics page by name, with their labels.
type Families map[string]*dto.MetricFamily

// Metrics are Prometheus samples summed over labels per metric name (a counter with a
// reason label adds up to its total); a summary or histogram gives name_count and name_sum.
type Metrics map[string]float64

// ParseFamilies reads the Prometheus text exposition format, which is all notifierd's
// /metrics serves.
func ParseFamilies(r io.Reader) (Families, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return fams, nil
}

// Scrape reads the /metrics of the admin endpoint at admin (host:port).
func Scrape(ctx context.Context, client *http.Client, admin string) (Families, error) {
	url := "http://" + admin + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	fams, err := ParseFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return fams, nil
}

// Sum adds the series up per metric name.
func (fams Families) Sum() Metrics {
	out := Metrics{}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			switch {
			case m.Summary != nil:
				out[name+"_count"] += float64(m.Summary.GetSampleCount())
				out[name+"_sum"] += m.Summary.GetSampleSum()
			case m.Histogram != nil:
				out[name+"_count"] += float64(m.Histogram.GetSampleCount())
				out[name+"_sum"] += m.Histogram.GetSampleSum()
			default:
				out[name] += value(m)
			}
		}
	}
	return out
}

// ByLabel collects the series of one metric by the value of its only label:
// notifierd_batches_total{trigger="full"} 12 -> "full": 12.
func (fams Families) ByLabel(name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		if l := m.GetLabel(); len(l) == 1 {
			out[l[0].GetValue()] = value(m)
		}
	}
	return out
}

// ByPartition is metric name's value for topic by partition, summed over the series whose
// labels include the given name-value pairs. Every series must carry the topic, partition
// and those labels.
func (fams Families) ByPartition(name, topic string, labels ...string) (map[int]float64, error) {
	fam, ok := fams[name]
	if !ok {
		return nil, fmt.Errorf("no %s in /metrics", name)
	}
	out := map[int]float64{}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		p, err := strconv.Atoi(got["partition"])
		if err != nil || got["topic"] == "" {
			return nil, fmt.Errorf("%s series %v lacks a topic or partition label", name, got)
		}
		match := got["topic"] == topic
		for i := 0; i+1 < len(labels); i += 2 {
			if _, ok := got[labels[i]]; !ok {
				return nil, fmt.Errorf("%s series %v lacks the %s label", name, got, labels[i])
			}
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			out[p] += value(m)
		}
	}
	return out, nil
}

// Total is the sum of every series of metric name (0 when it has none).
func (fams Families) Total(name string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		sum += value(m)
	}
	return sum
}

func value(m *dto.Metric) float64 {
	return m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
}
