// Package deploy_test checks what the files under deploy/ mean, beyond their syntax
// (deploy/check.sh runs helm lint, kubeconform and promtool on them):
//
//   - every metric the Grafana dashboard and the alert rules query is one notifierd exports
//     (the names internal/metrics.New registers, plus the Go and process collectors that
//     cmd/notifierd adds), and every grouping label exists;
//   - the Helm chart's rendered configuration loads with internal/config, and the
//     Deployment agrees with it (admin port, probes, grace period, secrets, KEDA trigger);
//   - the chart refuses the values it must refuse;
//   - the compose file, the systemd unit and the Dockerfile agree with the daemon.
//
// The chart tests need helm from scripts/install-tools.sh (.cache/bin, or $TOOLS_DIR/bin):
// without it they skip, except under CI, where they fail.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.yaml.in/yaml/v3"

	"github.com/notifierd/notifierd/internal/config"
	"github.com/notifierd/notifierd/internal/metrics"
)

const chartDir = "helm/notifierd"

// ---------------------------------------------------------------------------------------
// Metric names

// exported is what the daemon's /metrics can contain: metric name -> its label names.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	reg := &describeRegistry{names: map[string][]string{}}
	m := metrics.New(reg)
	// cmd/notifierd registers these next to notifierd's own metrics.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Histograms are exposed as _bucket (with le), _sum and _count series.
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		c, ok := v.Field(i).Interface().(prometheus.Collector)
		if !ok {
			t.Fatalf("metrics.Metrics.%s is not a prometheus.Collector", v.Type().Field(i).Name)
		}
		switch v.Field(i).Interface().(type) {
		case prometheus.Histogram, *prometheus.HistogramVec:
			for _, d := range describe(c) {
				name, labels := parseDesc(t, d)
				reg.names[name+"_bucket"] = append(slices.Clone(labels), "le")
				reg.names[name+"_sum"] = labels
				reg.names[name+"_count"] = labels
			}
		}
	}
	return reg.names
}

// describeRegistry records the descriptors of what is registered on it.
type describeRegistry struct{ names map[string][]string }

func (r *describeRegistry) Register(c prometheus.Collector) error {
	for _, d := range describe(c) {
		name, labels := parseDesc(nil, d)
		r.names[name] = labels
	}
	return nil
}

func (r *describeRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *describeRegistry) Unregister(prometheus.Collector) bool { return false }

func describe(c prometheus.Collector) []*prometheus.Desc {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	var out []*prometheus.Desc
	for d := range ch {
		out = append(out, d)
	}
	return out
}

var descRE = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*variableLabels: \{([^}]*)\}\}$`)

func parseDesc(t *testing.T, d *prometheus.Desc) (string, []string) {
	m := descRE.FindStringSubmatch(d.String())
	if m == nil {
		if t != nil {
			t.Fatalf("cannot read descriptor %s", d)
		}
		panic("cannot read descriptor " + d.String())
	}
	var labels []string
	for _, l := range strings.Split(m[2], ",") {
		if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
			labels = append(labels, l)
		}
	}
	return m[1], labels
}

// promqlRefs returns the metric names and the label names an expression uses. It is a
// lexer, not a parser: strings, label matchers and ranges are skipped (their label names
// kept), identifiers followed by "(" are functions or aggregations, the lists after
// by/without/on/ignoring/group_left/group_right are labels, and $name is a Grafana variable.
func promqlRefs(expr string) (names, labels []string) {
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"atan2": true, "inf": true, "nan": true, "Inf": true, "NaN": true}
	aggregations := map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
		"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true}
	labelLists := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipSpace := func(i int) int {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
		return i
	}
	matcherLabel := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '{':
			j := 1 // to the closing brace, past quoted values
			for i+j < len(expr) && expr[i+j] != '}' {
				if q := expr[i+j]; q == '"' || q == '\'' {
					for j++; i+j < len(expr) && expr[i+j] != q; j++ {
						if expr[i+j] == '\\' {
							j++
						}
					}
				}
				j++
			}
			// Label names of matchers, ignoring quoted values.
			body := regexp.MustCompile(`"(\\.|[^"\\])*"`).ReplaceAllString(expr[i+1:i+j], `""`)
			for _, m := range matcherLabel.FindAllStringSubmatch(body, -1) {
				labels = append(labels, m[1])
			}
			i += j + 1
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				j = len(expr) - i - 1
			}
			i += j + 1
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case c == '$':
			i++
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word := expr[i:j]
			next := skipSpace(j)
			switch {
			case labelLists[word]:
				if next < len(expr) && expr[next] == '(' {
					end := strings.IndexByte(expr[next:], ')')
					for _, l := range strings.Split(expr[next+1:next+end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							labels = append(labels, l)
						}
					}
					j = next + end + 1
				}
			case keywords[word], aggregations[word]:
			case next < len(expr) && expr[next] == '(':
				// a function or an aggregation
			default:
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	return names, labels
}

func TestPromQLRefs(t *testing.T) {
	names, labels := promqlRefs(`histogram_quantile(0.95, sum by (le, status_class) (rate(notifierd_request_duration_seconds_bucket{job=~"$job", a!="x{y}"}[$__rate_interval])))
	  / on (job) group_left() (time() - (foo_total offset 5m > 0 or bar)) > 0.9 * 100000 and vector($max_events) unless sum(x) without (instance)`)
	if want := []string{"notifierd_request_duration_seconds_bucket", "foo_total", "bar", "x"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	if want := []string{"le", "status_class", "job", "a", "job", "instance"}; !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q", labels, want)
	}
}

// targetLabels are added by Prometheus (scrape) or by histogram buckets, not by notifierd.
var targetLabels = []string{"namespace", "job", "instance", "pod", "le"}

type exprRef struct{ where, expr string }

func alertExprs(t *testing.T) []exprRef {
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/alerts.yaml", &doc)
	var out []exprRef
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			out = append(out, exprRef{"alerts.yaml " + r.Alert + r.Record, r.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatal("no rules in prometheus/alerts.yaml")
	}
	return out
}

func dashboardExprs(t *testing.T) []exprRef {
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	readJSON(t, "grafana/notifierd.json", &dash)
	var out []exprRef
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			out = append(out, exprRef{"dashboard panel " + p.Title, tg.Expr})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("dashboard variable %s: query %q is not label_values(selector, label)", v.Name, s)
			continue
		}
		out = append(out, exprRef{"dashboard variable " + v.Name, fmt.Sprintf("sum by (%s) (%s)", m[2], m[1])})
	}
	return out
}

func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	names := exported(t)
	var allLabels []string
	for _, ls := range names {
		allLabels = append(allLabels, ls...)
	}
	allLabels = append(allLabels, targetLabels...)
	refs := append(alertExprs(t), dashboardExprs(t)...)
	used := map[string]bool{}
	for _, r := range refs {
		ms, ls := promqlRefs(r.expr)
		if len(ms) == 0 && !strings.Contains(r.expr, "vector(") {
			t.Errorf("%s: no metric found in %q", r.where, r.expr)
		}
		for _, m := range ms {
			used[m] = true
			if _, ok := names[m]; !ok {
				t.Errorf("%s: metric %s is not exported by notifierd (internal/metrics, Go and process collectors)", r.where, m)
			}
		}
		for _, l := range ls {
			if !slices.Contains(allLabels, l) {
				t.Errorf("%s: label %s is on no notifierd metric and is no target label", r.where, l)
			}
		}
	}
	// The list: the dashboard and rules together watch each of these.
	for _, m := range []string{
		"notifierd_events_consumed_total", "notifierd_notifications_delivered_total",
		"notifierd_request_notifications_bucket", "notifierd_request_duration_seconds_bucket", "notifierd_event_latency_seconds_bucket",
		"notifierd_retries_total", "notifierd_events_dead_lettered_total", "notifierd_consumer_lag",
		"notifierd_buffered_events", "notifierd_buffered_bytes", "notifierd_oldest_unacknowledged_seconds",
		"notifierd_last_delivery_timestamp_seconds",
	} {
		if !used[m] {
			t.Errorf("neither the dashboard nor the alerts use %s", m)
		}
	}
}

// The alert tests' input series must be real series too, or they test nothing.
func TestAlertTestSeriesAreExported(t *testing.T) {
	names := exported(t)
	var doc struct {
		Tests []struct {
			InputSeries []struct {
				Series string `yaml:"series"`
			} `yaml:"input_series"`
		} `yaml:"tests"`
	}
	readYAML(t, "prometheus/alerts_test.yaml", &doc)
	for _, tc := range doc.Tests {
		for _, s := range tc.InputSeries {
			name, _, _ := strings.Cut(s.Series, "{")
			if _, ok := names[name]; !ok {
				t.Errorf("alerts_test.yaml: series %s is not exported by notifierd", s.Series)
			}
		}
	}
}

func TestAlertsHaveRunbooks(t *testing.T) {
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/alerts.yaml", &doc)
	ops, err := os.ReadFile("../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if want := "docs/OPERATIONS.md#" + strings.ToLower(r.Alert); r.Annotations["runbook"] != want {
				t.Errorf("%s: runbook annotation %q, want %q", r.Alert, r.Annotations["runbook"], want)
			}
			if !regexp.MustCompile(`(?m)^#+ ` + r.Alert + `$`).Match(ops) {
				t.Errorf("%s: docs/OPERATIONS.md has no heading %q for its runbook", r.Alert, r.Alert)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.For == "" {
				t.Errorf("%s: needs severity, summary, description and for", r.Alert)
			}
		}
	}
}

func TestDashboardPanels(t *testing.T) {
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID         int             `json:"id"`
			Type       string          `json:"type"`
			Title      string          `json:"title"`
			Datasource json.RawMessage `json:"datasource"`
			GridPos    struct{ H, W, X, Y int }
			Targets    []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	readJSON(t, "grafana/notifierd.json", &dash)
	if dash.UID == "" {
		t.Error("dashboard has no uid")
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q is wider than the grid", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 || len(p.Datasource) == 0 {
			t.Errorf("panel %q has no query or no data source", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced expression %q", p.Title, tg.Expr)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------
// Helm chart

func helmBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOOLS_DIR")
	if dir == "" {
		dir = "../.cache"
	}
	bin, err := filepath.Abs(filepath.Join(dir, "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("helm not installed at %s: `make deploy-check` (scripts/install-tools.sh) installs it", bin)
		}
		t.Skipf("helm not installed at %s: run scripts/install-tools.sh (or make deploy-check) to run the chart tests", bin)
	}
	return bin
}

// helmTemplate renders the chart; it returns the objects, or helm's error output.
func helmTemplate(t *testing.T, args ...string) ([]map[string]any, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), append([]string{"template", "notifierd", chartDir, "--namespace", "ops", "--kube-version", "1.34.0"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	var objs []map[string]any
	dec := yaml.NewDecoder(&stdout)
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("helm output is not YAML: %v", err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

func find(objs []map[string]any, kind string) map[string]any {
	for _, o := range objs {
		if o["kind"] == kind {
			return o
		}
	}
	return nil
}

// dig walks maps and lists: dig(o, "spec", "containers", 0, "name").
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func TestChartRenderedConfigIsValid(t *testing.T) {
	for _, tc := range []struct {
		name       string
		values     []string
		partitions int
	}{
		{"default", nil, 12},
		{"all features", []string{"-f", chartDir + "/ci/values-all.yaml"}, 24},
		{"podmonitor", []string{"-f", chartDir + "/ci/values-podmonitor.yaml"}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := helmTemplate(t, tc.values...)
			if err != nil {
				t.Fatal(err)
			}
			checkRendered(t, objs, tc.partitions)
		})
	}
}

// underMount reports whether path lies in a directory mounted by one of mounts.
func underMount(mounts []any, path string) bool {
	for _, m := range mounts {
		if dir := str(dig(m, "mountPath")); str(dig(m, "subPath")) == "" && strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/") {
			return true
		}
	}
	return false
}

func checkRendered(t *testing.T, objs []map[string]any, partitions int) {
	cm, dep := find(objs, "ConfigMap"), find(objs, "Deployment")
	if cm == nil || dep == nil {
		t.Fatal("no ConfigMap or no Deployment rendered")
	}
	pod := dig(dep, "spec", "template", "spec")
	ctr := dig(pod, "containers", 0)

	// The container's environment, secrets replaced by a stand-in.
	env := map[string]string{}
	envList, _ := dig(ctr, "env").([]any)
	for _, e := range envList {
		name := str(dig(e, "name"))
		if ref := dig(e, "valueFrom", "secretKeyRef"); ref != nil {
			env[name] = "secret-from-" + str(dig(ref, "name")) + "/" + str(dig(ref, "key"))
			if s := find(objs, "Secret"); s != nil && str(dig(s, "metadata", "name")) == str(dig(ref, "name")) {
				if dig(s, "data", str(dig(ref, "key"))) == nil {
					t.Errorf("env %s: the chart's Secret has no key %s", name, dig(ref, "key"))
				}
			}
			continue
		}
		env[name] = str(dig(e, "value"))
	}

	// The config file as the container sees it, loaded the way notifierd loads it.
	if got := dig(ctr, "args"); !reflect.DeepEqual(got, []any{"--config", "/etc/notifierd/config.yaml"}) {
		t.Errorf("container args %v", got)
	}
	mounted := false
	for _, m := range dig(ctr, "volumeMounts").([]any) {
		if str(dig(m, "mountPath")) == "/etc/notifierd/config.yaml" {
			mounted = true
			for _, v := range dig(pod, "volumes").([]any) {
				if dig(v, "name") == dig(m, "name") && dig(v, "configMap", "name") != dig(cm, "metadata", "name") {
					t.Errorf("config.yaml is mounted from %v, not the chart's ConfigMap", v)
				}
			}
			if str(dig(m, "subPath")) != "config.yaml" {
				t.Errorf("config mount subPath %v", dig(m, "subPath"))
			}
		}
	}
	if !mounted {
		t.Error("nothing is mounted at /etc/notifierd/config.yaml")
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(str(dig(cm, "data", "config.yaml"))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("rendered configuration does not load: %v\n%s", err, dig(cm, "data", "config.yaml"))
	}
	if cfg.Kafka.SASL.Mechanism != "" && !strings.HasPrefix(string(cfg.Kafka.SASL.Password), "secret-from-") {
		t.Errorf("SASL is on but the password does not come from a Secret (%s)", config.EnvName("kafka.sasl.password"))
	}

	// Every file the configuration names lies under a volume mounted in the container.
	for key, path := range map[string]string{
		"kafka.tls.caFile": cfg.Kafka.TLS.CAFile, "kafka.tls.certFile": cfg.Kafka.TLS.CertFile,
		"kafka.tls.keyFile": cfg.Kafka.TLS.KeyFile, "target.tls.caFile": cfg.Target.TLS.CAFile,
	} {
		if path != "" && !underMount(dig(ctr, "volumeMounts").([]any), path) {
			t.Errorf("%s %s is under no volume mounted in the container", key, path)
		}
	}

	// Admin endpoint, ports and probes agree.
	port := -1
	for _, p := range dig(ctr, "ports").([]any) {
		if dig(p, "name") == "admin" {
			port = dig(p, "containerPort").(int)
		}
	}
	if want := "0.0.0.0:" + strconv.Itoa(port); cfg.Admin.Listen != want {
		t.Errorf("admin.listen %q, container port admin %d", cfg.Admin.Listen, port)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if dig(ctr, probe, "httpGet", "path") != path || dig(ctr, probe, "httpGet", "port") != "admin" {
			t.Errorf("%s: %v, want GET %s on port admin", probe, dig(ctr, probe), path)
		}
	}

	// Graceful shutdown fits in the grace period, with room to commit and leave.
	grace := time.Duration(dig(pod, "terminationGracePeriodSeconds").(int)) * time.Second
	if grace < cfg.Shutdown.Timeout+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s, shutdown.timeout %s", grace, cfg.Shutdown.Timeout)
	}

	// Non-root, read-only, no privilege escalation, resources set.
	if dig(pod, "securityContext", "runAsNonRoot") != true || dig(ctr, "securityContext", "readOnlyRootFilesystem") != true ||
		dig(ctr, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("security context: pod %v, container %v", dig(pod, "securityContext"), dig(ctr, "securityContext"))
	}
	if dig(ctr, "resources", "requests", "memory") == nil || dig(ctr, "resources", "limits", "memory") == nil {
		t.Errorf("resources: %v", dig(ctr, "resources"))
	}

	podLabels := dig(dep, "spec", "template", "metadata", "labels").(map[string]any)
	matches := func(sel any) bool {
		m, _ := sel.(map[string]any)
		for k, v := range m {
			if podLabels[k] != v {
				return false
			}
		}
		return len(m) > 0
	}
	if pdb := find(objs, "PodDisruptionBudget"); pdb != nil && !matches(dig(pdb, "spec", "selector", "matchLabels")) {
		t.Error("the PodDisruptionBudget does not select the pods")
	}
	if svc := find(objs, "Service"); svc != nil && !matches(dig(svc, "spec", "selector")) {
		t.Error("the Service does not select the pods")
	}
	if sm := find(objs, "ServiceMonitor"); sm != nil {
		if find(objs, "Service") == nil || dig(sm, "spec", "endpoints", 0, "port") != "admin" {
			t.Errorf("ServiceMonitor: %v", dig(sm, "spec"))
		}
	}
	if pm := find(objs, "PodMonitor"); pm != nil {
		if !matches(dig(pm, "spec", "selector", "matchLabels")) || dig(pm, "spec", "podMetricsEndpoints", 0, "port") != "admin" {
			t.Errorf("PodMonitor: %v", dig(pm, "spec"))
		}
	}

	so := find(objs, "ScaledObject")
	if so == nil {
		if dig(dep, "spec", "replicas").(int) > partitions {
			t.Errorf("replicas %v above %d partitions", dig(dep, "spec", "replicas"), partitions)
		}
		return
	}
	if dig(dep, "spec", "replicas") != nil {
		t.Error("with KEDA the Deployment must not set replicas (KEDA owns them)")
	}
	if max := dig(so, "spec", "maxReplicaCount").(int); max > partitions {
		t.Errorf("maxReplicaCount %d above %d partitions", max, partitions)
	}
	if dig(so, "spec", "scaleTargetRef", "name") != dig(dep, "metadata", "name") {
		t.Error("ScaledObject does not target the Deployment")
	}
	trig := dig(so, "spec", "triggers", 0)
	md := dig(trig, "metadata")
	want := map[string]string{
		"consumerGroup": cfg.Kafka.Group, "topic": cfg.Kafka.Topic,
		"bootstrapServers": strings.Join(cfg.Kafka.Brokers, ","), "offsetResetPolicy": cfg.Kafka.StartOffset,
		"allowIdleConsumers": "false", "tls": map[bool]string{true: "enable", false: "disable"}[cfg.Kafka.TLS.Enabled],
		"sasl": map[string]string{"": "", "PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}[cfg.Kafka.SASL.Mechanism],
	}
	if dig(trig, "type") != "kafka" {
		t.Errorf("trigger type %v", dig(trig, "type"))
	}
	for k, v := range want {
		if str(dig(md, k)) != v {
			t.Errorf("KEDA trigger %s = %q, want %q (from the notifierd config)", k, str(dig(md, k)), v)
		}
	}
	if cfg.Kafka.SASL.Mechanism != "" && dig(trig, "authenticationRef", "name") == nil {
		t.Error("SASL brokers but the KEDA trigger has no authenticationRef")
	}
	if ta := find(objs, "TriggerAuthentication"); ta != nil && dig(ta, "metadata", "name") != dig(trig, "authenticationRef", "name") {
		t.Error("the chart's TriggerAuthentication is not the one the trigger uses")
	}
}

func TestChartGracePeriodFollowsShutdownTimeout(t *testing.T) {
	for timeout, want := range map[string]int{"20s": 35, "1m30s": 105, "500ms": 16, "1h": 3615, "2m": 135} {
		objs, err := helmTemplate(t, "--set", "config.shutdown.timeout="+timeout)
		if err != nil {
			t.Fatalf("shutdown.timeout %s: %v", timeout, err)
		}
		if got := dig(find(objs, "Deployment"), "spec", "template", "spec", "terminationGracePeriodSeconds"); got != want {
			t.Errorf("shutdown.timeout %s: terminationGracePeriodSeconds %v, want %d", timeout, got, want)
		}
	}
	if _, err := helmTemplate(t, "--set", "terminationGracePeriodSeconds=25"); err != nil {
		t.Errorf("grace 25 s with the default 20s timeout refused: %v", err)
	}
}

func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"terminationGracePeriodSeconds=20"}, "must exceed config.shutdown.timeout"},
		{[]string{"terminationGracePeriodSeconds=24"}, "must exceed config.shutdown.timeout"},
		{[]string{"config.shutdown.timeout=2m", "terminationGracePeriodSeconds=60"}, "must exceed config.shutdown.timeout"},
		{[]string{"config.shutdown.timeout=1.5s"}, "whole units"},
		{[]string{"replicaCount=13"}, "above partitions"},
		{[]string{"autoscaling.enabled=true", "autoscaling.maxReplicas=13"}, "above partitions"},
		{[]string{"autoscaling.enabled=true", "autoscaling.minReplicas=5", "autoscaling.maxReplicas=4"}, "minReplicas is above"},
		{[]string{"partitions=0"}, "partition count"},
		{[]string{"config.admin.listen=127.0.0.1:9464"}, "set by the chart"},
		{[]string{"config.kafka.sasl.password=hunter2"}, "must not be in values"},
		{[]string{"config.kafka.sasl.mechanism=PLAIN", "config.kafka.sasl.username=u"}, "no Secret carries the password"},
		{[]string{"config.kafka.sasl.mechanism=PLAIN", "config.kafka.sasl.username=u", "secret.create=true"}, "needs secret.saslPassword"},
		{[]string{"secret.create=true", "secret.existingSecret=x"}, "not both"},
		{[]string{"metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true"}, "not both"},
		{[]string{"metrics.serviceMonitor.enabled=true", "service.enabled=false"}, "needs service.enabled"},
	} {
		var args []string
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		_, err := helmTemplate(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: error %v, want one containing %q", strings.Join(tc.set, ","), err, tc.want)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Compose, systemd, Dockerfile

func TestComposeConfig(t *testing.T) {
	cfg, err := config.Load("compose/notifierd.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("compose/notifierd.yaml: %v", err)
	}
	var compose struct {
		Services map[string]struct {
			Image           string            `yaml:"image"`
			Build           map[string]any    `yaml:"build"`
			Command         []string          `yaml:"command"`
			Ports           []string          `yaml:"ports"`
			Volumes         []string          `yaml:"volumes"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
			Environment     map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	readYAML(t, "compose/docker-compose.yaml", &compose)
	nd, ok := compose.Services["notifierd"]
	if !ok {
		t.Fatal("no notifierd service")
	}
	for _, svc := range []string{"kafka", "targetsim", "notifierd"} {
		if _, ok := compose.Services[svc]; !ok {
			t.Errorf("no %s service", svc)
		}
	}
	if !strings.HasPrefix(compose.Services["kafka"].Image, "apache/kafka:") || compose.Services["kafka"].Environment["KAFKA_PROCESS_ROLES"] != "broker,controller" {
		t.Error("kafka: want apache/kafka in KRaft combined mode")
	}
	if nd.Build["target"] != "notifierd" || compose.Services["targetsim"].Build["target"] != "targetsim" {
		t.Error("notifierd and targetsim must build the Dockerfile's targets of the same names")
	}
	if !slices.Contains(nd.Volumes, "./notifierd.yaml:/etc/notifierd/config.yaml:ro") || !slices.Equal(nd.Command, []string{"--config", "/etc/notifierd/config.yaml"}) {
		t.Errorf("notifierd must run with compose/notifierd.yaml as --config: %v %v", nd.Command, nd.Volumes)
	}
	_, port, _ := strings.Cut(cfg.Admin.Listen, ":")
	if !strings.HasPrefix(cfg.Admin.Listen, "0.0.0.0:") || !slices.Contains(nd.Ports, port+":"+port) {
		t.Errorf("admin.listen %s is not published (%v)", cfg.Admin.Listen, nd.Ports)
	}
	grace, err := time.ParseDuration(nd.StopGracePeriod)
	if err != nil || grace < cfg.Shutdown.Timeout+5*time.Second {
		t.Errorf("stop_grace_period %q must exceed shutdown.timeout %s by 5 s", nd.StopGracePeriod, cfg.Shutdown.Timeout)
	}
	for _, u := range []string{cfg.Target.URL, cfg.Target.EdgeURL} {
		if !strings.HasPrefix(u, "http://targetsim:8090/") {
			t.Errorf("target URL %s does not point at the simulator", u)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile("systemd/notifierd.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		keys[k] = append(keys[k], v)
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "",
		"KillSignal": "SIGTERM", "Restart": "on-failure",
	} {
		if len(keys[k]) != 1 || keys[k][0] != want {
			t.Errorf("%s=%v, want %s", k, keys[k], want)
		}
	}
	if !strings.Contains(strings.Join(keys["ExecStart"], ""), " --config /etc/notifierd/config.yaml") {
		t.Errorf("ExecStart %v", keys["ExecStart"])
	}
	stop, err := time.ParseDuration(strings.Join(keys["TimeoutStopSec"], ""))
	if def := config.Default().Shutdown.Timeout; err != nil || stop < def+5*time.Second {
		t.Errorf("TimeoutStopSec %v must exceed the default shutdown.timeout %s by 5 s", keys["TimeoutStopSec"], def)
	}
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{
		"CGO_ENABLED=0", `-X main.version=${VERSION}`, "ARG VERSION", "./cmd/notifierd", "./cmd/targetsim",
		"AS targetsim", "USER nonroot:nonroot", "EXPOSE 9464",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	froms := regexp.MustCompile(`(?m)^FROM .*$`).FindAllString(df, -1)
	last := froms[len(froms)-1]
	if !strings.Contains(last, "distroless/static") || !strings.HasSuffix(last, "AS notifierd") {
		t.Errorf("the default (last) stage is %q, want the distroless static notifierd stage", last)
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \["/usr/local/bin/notifierd"\]\s*\z`).MatchString(df) {
		t.Error("the Dockerfile must end with ENTRYPOINT [\"/usr/local/bin/notifierd\"]")
	}
	_, port, err := net.SplitHostPort(config.Default().Admin.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(df, "EXPOSE "+port+"\n") {
		t.Errorf("the Dockerfile does not EXPOSE %s, notifierd's admin port", port)
	}
	var chart struct {
		AdminPort int `yaml:"adminPort"`
	}
	readYAML(t, chartDir+"/values.yaml", &chart)
	if strconv.Itoa(chart.AdminPort) != port {
		t.Errorf("the chart's adminPort %d is not notifierd's admin port %s", chart.AdminPort, port)
	}
	compose, err := os.ReadFile("compose/notifierd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(compose), "listen: 0.0.0.0:"+port) {
		t.Errorf("the compose configuration does not listen on notifierd's admin port %s", port)
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".cache"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The alert and the dashboard compare with the bounds the daemon exports; the chart spells
// out the defaults, so it must follow config.Default().
func TestBufferBoundsFollowDefaults(t *testing.T) {
	def := config.Default().Batch

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/alerts.yaml", &rules)
	found := false
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "NotifierdBufferNearlyFull" {
				continue
			}
			found = true
			if !strings.Contains(r.Expr, "notifierd_buffered_events > 0.9 * notifierd_buffer_limit_events") || !strings.Contains(r.Expr, "notifierd_buffered_bytes > 0.9 * notifierd_buffer_limit_bytes") {
				t.Errorf("NotifierdBufferNearlyFull %q does not compare with the exported bounds", r.Expr)
			}
		}
	}
	if !found {
		t.Error("no NotifierdBufferNearlyFull alert")
	}

	// The dashboard draws the bounds the daemon exports, so it keeps no copy of the defaults.
	raw, err := os.ReadFile("grafana/notifierd.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, metric := range []string{"notifierd_buffer_limit_events", "notifierd_buffer_limit_bytes"} {
		if !strings.Contains(string(raw), metric) {
			t.Errorf("the dashboard does not draw %s, the bound the daemon exports", metric)
		}
	}
	if strings.Contains(string(raw), "$max_buffered") {
		t.Error("the dashboard still uses a fixed copy of the buffer bounds")
	}

	var values struct {
		Config struct {
			Batch struct {
				MaxBufferedEvents int   `yaml:"maxBufferedEvents"`
				MaxBufferedBytes  int64 `yaml:"maxBufferedBytes"`
			} `yaml:"batch"`
		} `yaml:"config"`
	}
	readYAML(t, chartDir+"/values.yaml", &values)
	if values.Config.Batch.MaxBufferedEvents != def.MaxBufferedEvents || values.Config.Batch.MaxBufferedBytes != def.MaxBufferedBytes {
		t.Errorf("chart values.yaml batch bounds %+v differ from notifierd's defaults", values.Config.Batch)
	}
}
