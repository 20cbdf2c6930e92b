package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/notifierd/notifierd/internal/textfmt"
)

// Targets of issue 14: Target as it really is.
const (
	TargetCPUOverFloor = 1.25 // CPU per event against the floor measured in the same run
	// Throughput at a simulator latency against the adaptive 0 ms throughput.
	TargetAt100ms   = 0.9
	TargetAt200ms   = 0.8
	TargetStormFall = 2 * time.Second // requests in flight halved within this of a storm's start
)

// AdaptiveChartFile is the throughput-over-time chart's file name, next to BENCHMARKS.md.
const AdaptiveChartFile = "bench-adaptive.svg"

// latencyRate is the mean events/s of the runs at ms with the given limits over plain
// HTTP/1.1 or HTTPS (two passes of the adaptive ones), and their rates; 0 and none if there
// are none.
func latencyRate(r *Results, ms int, static, tls bool) (float64, []float64) {
	var rates []float64
	sum := 0.0
	for i := range r.Latency {
		if l := &r.Latency[i]; l.LatencyMs == ms && l.Static == static && l.TLS == tls {
			rates = append(rates, l.Run.Rate())
			sum += l.Run.Rate()
		}
	}
	if len(rates) == 0 {
		return 0, nil
	}
	return sum / float64(len(rates)), rates
}

// ratesText is "a/s" for one run, "the mean of a/s and b/s" for more.
func ratesText(mean float64, rates []float64) string {
	if len(rates) < 2 {
		return FormatCount(mean) + "/s"
	}
	each := make([]string, len(rates))
	for i, r := range rates {
		each[i] = FormatCount(r) + "/s"
	}
	return fmt.Sprintf("%s/s, the mean of %s", FormatCount(mean), strings.Join(each, " and "))
}

// evaluateTarget checks the results against issue 14's targets.
func evaluateTarget(r *Results) []Target {
	var out []Target
	t := Target{Name: fmt.Sprintf("CPU per event ≤ %.2f × the floor (kafka-go's read plus notifierd's HTTP client alone, same requests per event; 0 ms drain)", TargetCPUOverFloor), Missing: true}
	if f, ok := CPUFloorOf(r); ok && f.Total() > 0 {
		x := float64(f.Daemon) / float64(f.Total())
		t = Target{Name: t.Name, Measured: fmt.Sprintf("%.2f × (%s µs against %s µs)", x, usPerEvent(f.Daemon, 1), usPerEvent(f.Total(), 1)), Pass: x <= TargetCPUOverFloor}
	}
	out = append(out, t)
	t = Target{Name: fmt.Sprintf("CPU per event ≤ %.2f × the floor over HTTPS with the default protocol, %s, as Target is reached (TLS drain of the latency data set; the floor measured over the same protocol)", TargetCPUOverFloor, defaultTLSProtocol), Missing: true}
	for i := range r.TLS {
		if run := &r.TLS[i]; run.Protocol == defaultTLSProtocol && run.Run.Acked > 0 {
			if floor := tlsFloor(r, run); floor > 0 {
				x := float64(run.Run.CPUPerEvent()) / float64(floor)
				t = Target{Name: t.Name, Measured: fmt.Sprintf("%.2f × (%s µs against %s µs)", x, usPerEvent(run.Run.CPUPerEvent(), 1), usPerEvent(floor, 1)), Pass: x <= TargetCPUOverFloor}
			}
		}
	}
	out = append(out, t)

	for _, tls := range []bool{true, false} {
		proto := LatencyPoint{TLS: tls}.Protocol()
		base, baseRates := latencyRate(r, 0, false, tls)
		for _, pt := range []struct {
			ms   int
			want float64
		}{{100, TargetAt100ms}, {200, TargetAt200ms}} {
			t := Target{Name: fmt.Sprintf("adaptive limits at %d ms of Target latency, %s: ≥ %.0f %% of the 0 ms throughput over the same", pt.ms, proto, pt.want*100), Missing: true}
			if rate, rates := latencyRate(r, pt.ms, false, tls); rates != nil && base > 0 {
				measured := fmt.Sprintf("%.0f %% (%s, of %s", rate/base*100, ratesText(rate, rates), ratesText(base, baseRates))
				if static, runs := latencyRate(r, pt.ms, true, tls); runs != nil {
					measured += fmt.Sprintf("; static %d: %s/s", staticConcurrency, FormatCount(static))
				}
				t = Target{Name: t.Name, Pass: rate >= pt.want*base, Measured: measured + ")"}
			}
			out = append(out, t)
		}
	}
	for _, s := range r.Storms {
		fall, fell := s.Fall()
		rec, recovered := s.Recovery()
		measured := fmt.Sprintf("in flight %.0f before; ", s.InFlightBefore())
		if fell {
			measured += fmt.Sprintf("half of it %s after the start, fewest %.0f; ", ms(fall), s.MinInFlight())
		} else {
			measured += "never halved; "
		}
		if recovered {
			measured += fmt.Sprintf("80 %% of the rate before (%s/s) again %s after the end", FormatCount(s.RateBefore()), ms(rec))
		} else {
			measured += "rate not recovered within the run"
		}
		out = append(out, Target{
			Name:     fmt.Sprintf("%s at %d ms: requests in flight halved within %s, and recovered after it", s.Kind, s.LatencyMs, TargetStormFall),
			Measured: measured, Pass: fell && fall <= TargetStormFall && recovered,
		})
	}
	return out
}

// defaultTLSProtocol is what target.http2's default speaks to Target's edges.
const defaultTLSProtocol = "HTTP/2"

// tlsFloor is a TLS run's floor: kafka-go's read plus the bare sender's CPU per request over
// the same protocol, times the run's requests per event; 0 without the read baseline.
func tlsFloor(r *Results, t *TLSRun) time.Duration {
	read, ok := readPerEvent(r)
	if !ok || t.Run.Acked == 0 {
		return 0
	}
	perEvent := float64(t.Run.Requests) / float64(t.Run.Acked)
	return read + time.Duration(float64(t.Floor.CPUPerRequest())*perEvent)
}

// renderTarget writes the latency, storm and TLS sections.
func renderTarget(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if len(r.Latency) > 0 {
		p("## Target latency: static against adaptive limits\n\n")
		p("![throughput over time, static and adaptive limits, and requests in flight through storms](%s)\n\n", AdaptiveChartFile)
		p("The same data set drained at each simulator latency by a fresh daemon and group. Over plain HTTP/1.1, with limits held at %d requests in flight (`target.adaptiveConcurrency: false`, `target.maxConcurrency: %d`, notifierd before adaptive limits) and adapting per edge (the defaults); and adapting over HTTPS with the default protocol, %s, as Target is reached. The adaptive runs are taken twice over each protocol, the second pass in the reverse order of the latencies, and judged on their mean: this machine's speed drifts by tens of per cent over minutes, and mirrored passes weigh that drift on every point alike. Rows are in the order they ran.\n\n", staticConcurrency, staticConcurrency, defaultTLSProtocol)
		p("| simulator latency | protocol | limits | events | events/s | × adaptive at 0 ms (mean, same protocol) | CPU-µs/event | requests/event | peak limit | peak in flight | connections | complete |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range r.Latency {
			base, _ := latencyRate(r, 0, false, l.TLS)
			var peakLimit, peakIn float64
			for _, s := range l.Run.Timeline {
				peakLimit, peakIn = max(peakLimit, s.Limit), max(peakIn, s.InFlight)
			}
			p("| %d ms | %s | %s | %s | %s | %s | %s | %.3f | %.0f | %.0f | %d | %s |\n", l.LatencyMs, l.Protocol(), l.Mode(), textfmt.Thousands(l.Run.Acked), FormatCount(l.Run.Rate()),
				ratio(l.Run.Rate(), base), usPerEvent(l.Run.CPU(), l.Run.Acked), float64(l.Run.Requests)/float64(max(l.Run.Acked, 1)), peakLimit, peakIn, l.Run.Conns, yesNo(l.Run.Complete))
		}
		p("\nevents/s over the time from joining the group to the last acknowledgement (or the time bound); the limit and requests in flight are the daemon's `notifierd_target_concurrency_limit` and `notifierd_requests_in_flight`, sampled every %s.\n\n", sampleEvery)
	}
	if len(r.Storms) > 0 {
		p("## Storms\n\n")
		p("Adaptive limits draining the main topic while the simulator pushes back on every request from %s to %s (429 with Retry-After 1 s, as Target throttles; or 503), at its latency otherwise.\n\n", stormStart, stormStart+stormLength)
		p("| storm | in flight before | half of it after | fewest in flight | rate before | 80 %% of it again after the end | events | duplicates |\n|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Storms {
			fall, fell := s.Fall()
			rec, recovered := s.Recovery()
			fallText, recText := "never", "not within the run"
			if fell {
				fallText = ms(fall)
			}
			if recovered {
				recText = ms(rec)
			}
			p("| %s at %d ms | %.0f | %s | %.0f | %s/s | %s | %s | %s |\n", s.Kind, s.LatencyMs, s.InFlightBefore(), fallText, s.MinInFlight(), FormatCount(s.RateBefore()), recText,
				textfmt.Thousands(s.Run.Acked), textfmt.Thousands(s.Run.Dups))
		}
		p("\n")
	}
	if len(r.TLS) > 0 {
		p("## TLS: HTTP/1.1 against HTTP/2\n\n")
		p("The simulator serving HTTPS with a test CA made at start (ECDSA P-256), trusted through `target.tls.caFile`; `target.http2` on and off. Each protocol: a 0 ms drain of the latency data set, and the bare HTTP sender (notifierd's client alone, %d concurrent) over the same protocol.\n\n", floorConcurrency)
		p("| protocol | events/s | CPU-µs/event | CPU-µs/request | requests/event | connections | bare sender CPU-µs/request | bare sender connections | floor (kafka-go read + bare sender × requests/event) | × floor |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, t := range r.TLS {
			d := &t.Run
			perEvent := float64(d.Requests) / float64(max(d.Acked, 1))
			floor := tlsFloor(r, &t)
			over := ""
			if floor > 0 && d.Acked > 0 {
				over = fmt.Sprintf("%.2f", float64(d.CPUPerEvent())/float64(floor))
			}
			p("| %s | %s | %s | %s | %.3f | %d | %s | %d | %s µs | %s |\n", t.Protocol, FormatCount(d.Rate()), usPerEvent(d.CPU(), d.Acked), usPerEvent(d.CPUPerRequest(), 1), perEvent, d.Conns,
				usPerEvent(t.Floor.CPUPerRequest(), 1), t.Floor.Conns, usPerEvent(floor, 1), over)
		}
		p("\n")
	}
	if len(r.Receipts) > 0 {
		p("## Receipts: what `kafka.receiptsTopic` costs\n\n")
		p("The latency data set drained at 0 ms with adaptive limits, receipts off, then on (one JSON record per event outcome written to a 3-partition topic before the offset is committed), back to back.\n\n")
		p("| receipts | events | events/s | CPU-µs/event | peak RSS | receipts written |\n|---|---|---|---|---|---|\n")
		for _, rr := range r.Receipts {
			d := &rr.Run
			on, written := "off", "–"
			if rr.On {
				on, written = "on", textfmt.Thousands(rr.Written)
			}
			p("| %s | %s | %s/s | %s | %s | %s |\n", on, textfmt.Thousands(d.Acked), FormatCount(d.Rate()), usPerEvent(d.CPU(), d.Acked), mib(d.PeakRSS), written)
		}
		p("\n")
	}
	if len(r.Tracing) > 0 {
		p("## Tracing: what OpenTelemetry costs\n\n")
		p("A data set of the latency data set's size in which every event carries a `traceparent` header of a trace of its own, drained at 0 ms with adaptive limits: tracing off (`OTEL_TRACES_EXPORTER=none`: no SDK, no header read, the bare transport), then on with every span sampled (`OTEL_TRACES_SAMPLER=always_on`), exporting OTLP/HTTP protobuf to a sink in the bench process (its decoding counts as the bench's CPU, not the daemon's), back to back. On, each request has its span linked to each of its events and an `otelhttp` client span per HTTP round trip; spans the batch processor dropped, its queue full (the SDK's defaults: 2,048 spans, batches of 512), are missing from the spans exported.\n\n")
		p("| tracing | events | events/s | CPU-µs/event | × off | requests/event | peak RSS | spans exported | links |\n|---|---|---|---|---|---|---|---|---|\n")
		var off time.Duration
		for _, tr := range r.Tracing {
			d := &tr.Run
			on, spans, links, over := "off", "–", "–", "–"
			if tr.On {
				on, links = "on, 100 % sampled", textfmt.Thousands(tr.Links)
				spans = fmt.Sprintf("%s (%.0f %% of 2 per request)", textfmt.Thousands(tr.Spans), float64(tr.Spans)/float64(max(2*d.Requests, 1))*100)
				if off > 0 {
					over = fmt.Sprintf("%.2f", float64(d.CPUPerEvent())/float64(off))
				}
			} else {
				off = d.CPUPerEvent()
			}
			p("| %s | %s | %s/s | %s | %s | %.3f | %s | %s | %s |\n", on, textfmt.Thousands(d.Acked), FormatCount(d.Rate()), usPerEvent(d.CPU(), d.Acked), over,
				float64(d.Requests)/float64(max(d.Acked, 1)), mib(d.PeakRSS), spans, links)
		}
		p("\n")
	}
	return b.String()
}

// AdaptiveChart draws throughput over time at each latency point's static and adaptive runs
// (100 and 200 ms), and requests in flight through the storms.
func AdaptiveChart(r *Results) []byte {
	var panels []Panel
	for _, ms := range []int{100, 200} {
		panel := Panel{Title: fmt.Sprintf("Throughput over time, %d ms", ms), XLabel: "seconds since joining", YLabel: "events/s (1 s windows)"}
		var runs []*LatencyPoint
		for i := range r.Latency {
			if r.Latency[i].LatencyMs == ms {
				runs = append(runs, &r.Latency[i])
			}
		}
		if len(runs) == 0 {
			continue
		}
		longest := time.Duration(0)
		for _, l := range runs {
			if n := len(l.Run.Timeline); n > 0 {
				longest = max(longest, l.Run.Timeline[n-1].At)
			}
		}
		step := max(time.Second, (longest / 15).Round(time.Second))
		for at := step; at <= longest; at += step {
			panel.Categories = append(panel.Categories, strconv.Itoa(int(at/time.Second)))
		}
		for _, l := range runs {
			color := map[[2]bool]string{{false, false}: "#1f77b4", {false, true}: "#9ecae1", {true, false}: "#2ca02c", {true, true}: "#98df8a"}[[2]bool{l.TLS, l.Repeat}]
			if l.Static {
				color = "#d62728"
			}
			name := l.Mode()
			if l.TLS {
				name += ", " + defaultTLSProtocol
			}
			s := Series{Name: name, Color: color}
			for _, c := range panel.Categories {
				sec, _ := strconv.Atoi(c)
				if rate := RateAt(l.Run.Timeline, time.Duration(sec)*time.Second, time.Second); rate > 0 {
					s.Points = append(s.Points, Point{Category: c, Y: rate})
				}
			}
			panel.Series = append(panel.Series, s)
		}
		panels = append(panels, panel)
	}
	if len(r.Storms) > 0 {
		panel := Panel{Title: "Requests in flight through storms", XLabel: "seconds since joining", YLabel: "requests in flight",
			Footnote: fmt.Sprintf("storm from %s to %s", stormStart, stormStart+stormLength)}
		for at := time.Second; at <= stormRunTime; at += 2 * time.Second {
			panel.Categories = append(panel.Categories, strconv.Itoa(int(at/time.Second)))
		}
		colors := []string{"#ff7f0e", "#2ca02c"}
		for i, st := range r.Storms {
			s := Series{Name: st.Kind, Color: colors[i%len(colors)]}
			for _, c := range panel.Categories {
				sec, _ := strconv.Atoi(c)
				if x, ok := sampleAt(st.Run.Timeline, time.Duration(sec)*time.Second); ok {
					s.Points = append(s.Points, Point{Category: c, Y: x.InFlight})
				}
			}
			panel.Series = append(panel.Series, s)
		}
		panels = append(panels, panel)
	}
	return RenderChart(fmt.Sprintf("notifierd against Target latency and push-back, %d-core %s", r.Machine.CPUs, r.Machine.CPUModel), panels)
}

// sampleAt is the last sample at or before at.
func sampleAt(samples []Sample, at time.Duration) (Sample, bool) {
	var found Sample
	ok := false
	for _, s := range samples {
		if s.At > at {
			break
		}
		found, ok = s, true
	}
	return found, ok
}
