package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// wellFormed parses the document and returns the text of its <text> elements.
func wellFormed(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var texts []string
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inText = el.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(el))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return texts
}

func TestRenderChartIsWellFormedSVG(t *testing.T) {
	doc := RenderChart(`A & B <chart>`, []Panel{{
		Title: "p", XLabel: "x", YLabel: "y", Categories: []string{"1", "10", "50"},
		Series:   []Series{{Name: "s", Color: "#123456", Points: []Point{{Category: "1", Y: 10, Label: "10"}, {Category: "50", Y: 25000, Label: "25k", Sub: "0.1 req/event"}}}},
		RefLines: []RefLine{{Y: 12000, Label: "ref"}, {Y: 1e9, Label: "huge"}},
	}})
	if !bytes.HasPrefix(doc, []byte("<svg ")) {
		t.Fatalf("not an SVG document: %.40s", doc)
	}
	texts := strings.Join(wellFormed(t, doc), "|")
	for _, want := range []string{"A & B <chart>", "25k", "0.1 req/event", "ref", "huge: above the scale", "30k"} {
		if !strings.Contains(texts, want) {
			t.Errorf("text %q missing from %s", want, texts)
		}
	}
	if n := bytes.Count(doc, []byte("<circle")); n != 2 {
		t.Errorf("%d markers, want 2", n)
	}
	if !bytes.Contains(doc, []byte("<polyline")) {
		t.Error("no line drawn")
	}
}

func TestRenderChartWithoutData(t *testing.T) {
	// No points, no categories: still a valid, empty chart (a run with the sweep skipped).
	wellFormed(t, RenderChart("empty", []Panel{{Title: "nothing"}}))
	wellFormed(t, RenderChart("none", nil))
}

func TestNiceScale(t *testing.T) {
	tests := []struct{ max, step, top float64 }{
		{0, 1, 1},
		{-5, 1, 1},
		{math.NaN(), 1, 1},
		{9.23e3, 2e3, 10e3},
		{9.5e3, 2e3, 12e3}, // less than 8 % headroom: one more step
		{20_800, 5e3, 25e3},
		{100, 20, 120},
		{0.7, 0.2, 0.8},
	}
	for _, tc := range tests {
		step, top := NiceScale(tc.max)
		if math.Abs(step-tc.step) > 1e-9 || math.Abs(top-tc.top) > 1e-9 {
			t.Errorf("NiceScale(%v) = %v, %v; want %v, %v", tc.max, step, top, tc.step, tc.top)
		}
		if tc.max > 0 && top < tc.max {
			t.Errorf("NiceScale(%v): top %v below the maximum", tc.max, top)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 231.94: "231.9", 8823: "8.82k", 24358: "24.4k", 1_250_000: "1.25M", 2_000_000: "2M", 10_000: "10k"} {
		if got := FormatCount(v); got != want {
			t.Errorf("FormatCount(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestThroughputChartOrdersCategoriesNumerically(t *testing.T) {
	r := sampleResults()
	doc := ThroughputChart(r)
	texts := wellFormed(t, doc)
	joined := strings.Join(texts, "|")
	// x labels of the size panel in numeric order, whatever the sweep's order.
	if !strings.Contains(joined, "|1|10|50|batch.maxNotifications|") {
		t.Errorf("categories not in numeric order: %s", joined)
	}
	if !strings.Contains(joined, "naive sender") || !strings.Contains(joined, "1.00 req/event") {
		t.Errorf("missing series or labels: %s", joined)
	}
}
