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

// Families are Prometheus metric families by name, with their labels: for the checks that
// need a series' labels one by one, where Series keeps them as text.
type Families map[string]*dto.MetricFamily

// ParseFamilies reads the Prometheus text exposition format with its labels.
func ParseFamilies(r io.Reader) (Families, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return fams, nil
}

// ScrapeFamilies reads the /metrics of the admin endpoint at admin (host:port) with labels.
func ScrapeFamilies(ctx context.Context, client *http.Client, admin string) (Families, error) {
	var fams Families
	err := scrape(ctx, client, admin, func(body io.Reader) (err error) {
		fams, err = ParseFamilies(body)
		return err
	})
	return fams, err
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
