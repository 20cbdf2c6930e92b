package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Panel is one small line chart over categorical x values.
type Panel struct {
	Title      string
	XLabel     string
	YLabel     string
	Categories []string // x positions, left to right
	Series     []Series
	RefLines   []RefLine // horizontal dashed lines; one above the y range is named under the axis
	Footnote   string    // under the x-axis label
}

// Series is one line; a point's Category must be one of the panel's.
type Series struct {
	Name   string
	Color  string
	Points []Point
}

// Point is one value; Label (optional) is printed above the marker for the first series
// and below it for the others, Sub (optional) under Label in grey.
type Point struct {
	Category string
	Y        float64
	Label    string
	Sub      string
	Hollow   bool // drawn as a ring: a value to take with care (e.g. a run cut by its bound)
}

// RefLine is a horizontal reference value.
type RefLine struct {
	Y     float64
	Label string
}

// Chart layout, in SVG user units.
const (
	panelW, panelH = 440, 340
	padL, padR     = 64, 16
	padT, padB     = 52, 76
	titleH         = 36
)

// RenderChart draws the panels side by side under a title, as a standalone SVG document.
func RenderChart(title string, panels []Panel) []byte {
	var b bytes.Buffer
	w, h := panelW*max(len(panels), 1), panelH+titleH
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n", w/2, esc(title))
	for i, p := range panels {
		fmt.Fprintf(&b, `<g transform="translate(%d,%d)">`+"\n", i*panelW, titleH)
		renderPanel(&b, p)
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func renderPanel(b *bytes.Buffer, p Panel) {
	x0, x1 := float64(padL), float64(panelW-padR)
	y0, y1 := float64(panelH-padB), float64(padT) // y0 is the bottom
	maxY := 0.0
	for _, s := range p.Series {
		for _, pt := range s.Points {
			maxY = math.Max(maxY, pt.Y)
		}
	}
	step, top := NiceScale(maxY)
	ypos := func(v float64) float64 { return y0 - (y0-y1)*v/top }
	xpos := func(cat string) (float64, bool) {
		for i, c := range p.Categories {
			if c == cat {
				if len(p.Categories) == 1 {
					return (x0 + x1) / 2, true
				}
				return x0 + (x1-x0)*(0.1+0.8*float64(i)/float64(len(p.Categories)-1)), true
			}
		}
		return 0, false
	}

	fmt.Fprintf(b, `<text x="%.0f" y="20" text-anchor="middle" font-size="13" font-weight="bold">%s</text>`+"\n", (x0+x1)/2, esc(p.Title))
	// Grid and y ticks.
	for v := 0.0; v <= top*1.0000001; v += step {
		y := ypos(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", x0-6, y+4, esc(FormatCount(v)))
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`+"\n", x0, y0, x1, y0)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`+"\n", x0, y0, x0, y1)
	for _, c := range p.Categories {
		x, _ := xpos(c)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text>`+"\n", x, y0+16, esc(c))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y0+34, esc(p.XLabel))
	fmt.Fprintf(b, `<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`+"\n", (y0+y1)/2, (y0+y1)/2, esc(p.YLabel))
	notes := []string{}
	for _, r := range p.RefLines {
		if r.Y > top {
			notes = append(notes, r.Label+": above the scale")
			continue
		}
		if r.Y <= 0 {
			continue
		}
		y := ypos(r.Y)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="5,4"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#777" font-size="11">%s</text>`+"\n", x1, y-4, esc(r.Label))
	}
	for si, s := range p.Series {
		var pts []string
		for _, pt := range s.Points {
			x, ok := xpos(pt.Category)
			if !ok {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, ypos(pt.Y)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), s.Color)
		}
		for _, pt := range s.Points {
			x, ok := xpos(pt.Category)
			if !ok {
				continue
			}
			y := ypos(pt.Y)
			fill := s.Color
			if pt.Hollow {
				fill = "white"
			}
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="%s" stroke-width="1.5"><title>%s: %s</title></circle>`+"\n", x, y, fill, s.Color, esc(s.Name), esc(FormatCount(pt.Y)))
			ly, sy := y-9, y-9+13    // first series: label above the marker, sub below it
			if si > 0 && y < y0-34 { // other series below the marker, unless at the x axis
				ly, sy = y+17, y+30
			} else if pt.Sub != "" {
				ly, sy = y-22, y-9
			}
			if pt.Label != "" {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="%s">%s</text>`+"\n", x, ly, s.Color, esc(pt.Label))
			}
			if pt.Sub != "" {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#777">%s</text>`+"\n", x, sy, esc(pt.Sub))
			}
		}
		// Legend under the panel title, left to right.
		lx := x0 + float64(si)*130
		fmt.Fprintf(b, `<line x1="%.1f" y1="32" x2="%.1f" y2="32" stroke="%s" stroke-width="2"/>`+"\n", lx, lx+18, s.Color)
		fmt.Fprintf(b, `<text x="%.1f" y="36" font-size="11">%s</text>`+"\n", lx+22, esc(s.Name))
	}
	if p.Footnote != "" {
		notes = append(notes, p.Footnote)
	}
	for i, n := range notes {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#777" font-size="10">%s</text>`+"\n", (x0+x1)/2, y0+48+float64(i)*12, esc(n))
	}
}

// NiceScale returns a tick step of 1, 2 or 5 times a power of ten and the top of the axis (a
// multiple of it) such that max fits under top with at most about six ticks.
func NiceScale(maxY float64) (step, top float64) {
	if maxY <= 0 || math.IsNaN(maxY) || math.IsInf(maxY, 0) {
		return 1, 1
	}
	raw := maxY / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / pow; {
	case f <= 1:
		step = pow
	case f <= 2:
		step = 2 * pow
	case f <= 5:
		step = 5 * pow
	default:
		step = 10 * pow
	}
	top = math.Ceil(maxY/step-1e-9) * step
	if top < maxY*1.08 { // room for the value labels above the highest point
		top += step
	}
	return step, top
}

// FormatCount prints a count compactly: 950, 12.3k, 1.25M.
func FormatCount(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimZeros(strconv.FormatFloat(v/1e6, 'f', 2, 64)) + "M"
	case a >= 1e4:
		return trimZeros(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a >= 1e3:
		return trimZeros(strconv.FormatFloat(v/1e3, 'f', 2, 64)) + "k"
	default:
		return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func esc(s string) string { return html.EscapeString(s) }

// ThroughputChart is the report's chart: throughput against simulator latency (notifierd at
// the configured batch size, and the naive sender where it was measured), and against
// batch.maxNotifications at zero latency, with the bare kafka-go rate for reference.
func ThroughputChart(r *Results) []byte {
	lat := Panel{Title: "Throughput vs simulator latency", XLabel: "simulator latency per request (ms)", YLabel: "events/s"}
	size := Panel{Title: "Throughput vs batch.maxNotifications (0 ms)", XLabel: "batch.maxNotifications", YLabel: "events/s"}
	nd := Series{Name: "notifierd", Color: "#1f77b4"}
	bySize := Series{Name: "notifierd", Color: "#1f77b4"}
	seenLat, seenSize := map[string]bool{}, map[string]bool{}
	for _, p := range r.Sweep {
		rate := p.Run.Rate()
		label := FormatCount(rate)
		if p.MaxNotifications == r.Config.MaxNotifications {
			c := strconv.Itoa(p.LatencyMs)
			if !seenLat[c] {
				lat.Categories = append(lat.Categories, c)
				seenLat[c] = true
			}
			nd.Points = append(nd.Points, Point{Category: c, Y: rate, Label: label + star(p.Run), Hollow: !p.Run.Complete})
		}
		if p.LatencyMs == 0 {
			c := strconv.Itoa(p.MaxNotifications)
			if !seenSize[c] {
				size.Categories = append(size.Categories, c)
				seenSize[c] = true
			}
			reqs := ""
			if p.Run.Acked > 0 {
				reqs = fmt.Sprintf("%.2f req/event", float64(p.Run.Requests)/float64(p.Run.Acked))
			}
			bySize.Points = append(bySize.Points, Point{Category: c, Y: rate, Label: label + star(p.Run), Sub: reqs, Hollow: !p.Run.Complete})
		}
	}
	naive := Series{Name: "naive sender", Color: "#d62728"}
	for _, n := range r.Naive {
		c := strconv.Itoa(n.LatencyMs)
		if seenLat[c] {
			naive.Points = append(naive.Points, Point{Category: c, Y: n.Rate(), Label: FormatCount(n.Rate())})
		}
	}
	sortNumeric(lat.Categories)
	sortNumeric(size.Categories)
	byCategory := func(a, b Point) int { x, _ := strconv.Atoi(a.Category); y, _ := strconv.Atoi(b.Category); return x - y }
	slices.SortFunc(nd.Points, byCategory)
	slices.SortFunc(bySize.Points, byCategory)
	lat.Series = []Series{nd}
	if len(naive.Points) > 0 {
		lat.Series = append(lat.Series, naive)
	}
	size.Series = []Series{bySize}
	if r.Bare != nil {
		ref := RefLine{Y: r.Bare.Rate() / 2, Label: "50 % of bare kafka-go (" + FormatCount(r.Bare.Rate()/2) + "/s)"}
		lat.RefLines = append(lat.RefLines, ref)
		size.RefLines = append(size.RefLines, ref)
	}
	for _, p := range []*Panel{&lat, &size} {
		for _, pt := range p.Series[0].Points {
			if pt.Hollow {
				p.Footnote = "* ring: cut by the time bound (rate over what was acknowledged)"
			}
		}
	}
	title := fmt.Sprintf("notifierd throughput, %s events per point, %d-core %s", FormatCount(float64(sweepEvents(r))), r.Machine.CPUs, r.Machine.CPUModel)
	return RenderChart(title, []Panel{lat, size})
}

func star(d DaemonRun) string {
	if d.Complete {
		return ""
	}
	return "*"
}

func sweepEvents(r *Results) int64 {
	if len(r.Sweep) == 0 {
		return 0
	}
	return r.Sweep[0].Run.Events
}

// sortNumeric orders categories that are integers by value.
func sortNumeric(cats []string) {
	slices.SortFunc(cats, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
}
