#!/usr/bin/env bash
# check.sh: CI checks of the deployment artifacts with the pinned tools that
# scripts/install-tools.sh puts in .cache/bin (run it first; `make deploy-check` does both).
#
#   1. helm lint --strict the chart, with default values and with each ci/values-*.yaml
#   2. helm template the same value sets for the oldest and newest Kubernetes we support and
#      validate every object with kubeconform -strict against offline schemas (Kubernetes
#      kinds and the ServiceMonitor/PodMonitor/ScaledObject/TriggerAuthentication CRDs):
#      no object may be skipped for want of a schema
#   3. promtool check rules and promtool test rules on deploy/prometheus
#   4. systemd-analyze verify on deploy/systemd/notifierd.service (where systemd-analyze exists)
#
# deploy/deploy_test.go (go test) checks the meaning: rendered config loads with
# internal/config, probes and ports agree, grace period, metric names, refusals.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${TOOLS_DIR:-$ROOT/.cache}
BIN=$TOOLS_DIR/bin
SCHEMAS=$TOOLS_DIR/schemas
OUT=$TOOLS_DIR/deploy-check
CHART=$ROOT/deploy/helm/notifierd
K8S_VERSIONS=(1.29.0 1.37.0)

passed=0
failed=0
start=$SECONDS
ok() { passed=$((passed + 1)); echo "deploy-check: ok   $*"; }
bad() { failed=$((failed + 1)); echo "deploy-check: FAIL $*"; }

for tool in helm kubeconform promtool; do
  [[ -x $BIN/$tool ]] || { echo "deploy-check: $BIN/$tool missing: run scripts/install-tools.sh" >&2; exit 1; }
done
[[ -f $SCHEMAS/.stamp ]] || { echo "deploy-check: no schemas in $SCHEMAS: run scripts/install-tools.sh" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

value_sets=(default)
for f in "$CHART"/ci/values-*.yaml; do value_sets+=("$(basename "$f" .yaml)"); done

values_args() {
  [[ $1 == default ]] || echo "-f $CHART/ci/$1.yaml"
}

# 1. lint
for vs in "${value_sets[@]}"; do
  # shellcheck disable=SC2046
  if "$BIN/helm" lint --strict --quiet "$CHART" $(values_args "$vs") >"$OUT/lint-$vs.log" 2>&1; then
    ok "helm lint --strict ($vs)"
  else
    cat "$OUT/lint-$vs.log"
    bad "helm lint --strict ($vs)"
  fi
done

# 2. render and validate
for vs in "${value_sets[@]}"; do
  for kv in "${K8S_VERSIONS[@]}"; do
    manifest=$OUT/$vs-k8s$kv.yaml
    # shellcheck disable=SC2046
    if ! "$BIN/helm" template notifierd "$CHART" --namespace notifierd --kube-version "$kv" \
      $(values_args "$vs") >"$manifest" 2>"$OUT/template.err"; then
      cat "$OUT/template.err"
      bad "helm template ($vs, Kubernetes $kv)"
      continue
    fi
    if "$BIN/kubeconform" -strict -summary -output text -kubernetes-version "$kv" \
      -schema-location "$SCHEMAS/kubernetes/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
      -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
      "$manifest" >"$OUT/kubeconform.log" 2>&1 &&
      grep -q 'Invalid: 0, Errors: 0, Skipped: 0' "$OUT/kubeconform.log"; then
      ok "kubeconform -strict ($vs, Kubernetes $kv): $(grep -o '[0-9]* resources found' "$OUT/kubeconform.log")"
    else
      cat "$OUT/kubeconform.log"
      bad "kubeconform -strict ($vs, Kubernetes $kv)"
    fi
  done
done

# 3. alert rules
if (cd "$ROOT/deploy/prometheus" && "$BIN/promtool" check rules alerts.yaml) >"$OUT/promtool.log" 2>&1; then
  ok "promtool check rules ($(grep -o '[0-9]* rules found' "$OUT/promtool.log"))"
else
  cat "$OUT/promtool.log"
  bad "promtool check rules"
fi
if (cd "$ROOT/deploy/prometheus" && "$BIN/promtool" test rules alerts_test.yaml) >"$OUT/promtool-test.log" 2>&1; then
  ok "promtool test rules"
else
  cat "$OUT/promtool-test.log"
  bad "promtool test rules"
fi

# 4. systemd unit (systemd-analyze wants ExecStart to exist: point it at a stand-in binary)
if command -v systemd-analyze >/dev/null 2>&1; then
  unit_dir=$OUT/systemd
  mkdir -p "$unit_dir"
  sed "s|/usr/local/bin/notifierd|$(command -v true)|" "$ROOT/deploy/systemd/notifierd.service" >"$unit_dir/notifierd.service"
  if systemd-analyze verify "$unit_dir/notifierd.service" >"$OUT/systemd.log" 2>&1 && [[ ! -s $OUT/systemd.log ]]; then
    ok "systemd-analyze verify notifierd.service"
  else
    cat "$OUT/systemd.log"
    bad "systemd-analyze verify notifierd.service (any warning counts)"
  fi
else
  echo "deploy-check: skip systemd-analyze verify (not installed)"
fi

echo "deploy-check: $passed passed, $failed failed in $((SECONDS - start)) s (rendered manifests in $OUT)"
((failed == 0))
