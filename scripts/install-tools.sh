#!/usr/bin/env bash
# install-tools.sh: the deploy tooling CI and developers need, pinned, into git-ignored caches.
#
#   .cache/bin/helm, kubeconform, promtool   built from their Go modules with `go install`
#   .cache/schemas/kubernetes/v<K8S>-local-strict/*.json
#                                           Kubernetes JSON schemas, offline (see below)
#   .cache/schemas/crds/<group>/<kind>_<version>.json
#                                           schemas of the CRDs the chart can render
#                                           (ServiceMonitor, PodMonitor, ScaledObject)
#
# Nothing is downloaded except through the package registries' own clients: the Go module
# proxy (`go install`, `go mod download`) and PyPI (`pip download`). Every step is skipped
# when its output is already there for the same pinned version, so reruns take a second.
#
# Where the schemas come from (kubeconform normally fetches them from the internet):
#   * Kubernetes built-in kinds: the PyPI package kubernetes-validate ships the JSON schemas of
#     Kubernetes 1.25 to 1.37 generated from the API's OpenAPI documents ("local" layout:
#     one file per kind plus a shared _definitions.json). deploy/tools/schemas unpacks the
#     versions we validate against from the wheel and rewrites their absolute $refs into
#     relative ones, so kubeconform resolves them from disk.
#   * CRDs: the CustomResourceDefinitions published inside the Go modules of KEDA
#     (config/crd/bases) and the Prometheus Operator (example/prometheus-operator-crd),
#     converted by deploy/tools/schemas from openAPIV3Schema to JSON schema, strict
#     (no unknown fields: the API server would silently prune them).
#
# Environment: TOOLS_DIR (default <repo>/.cache), K8S_SCHEMA_VERSIONS (default below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${TOOLS_DIR:-$ROOT/.cache}
BIN=$TOOLS_DIR/bin
SCHEMAS=$TOOLS_DIR/schemas

HELM_MODULE=helm.sh/helm/v3
HELM_VERSION=v3.22.0
KUBECONFORM_MODULE=github.com/yannh/kubeconform
KUBECONFORM_VERSION=v0.8.0
PROMETHEUS_MODULE=github.com/prometheus/prometheus # promtool; Go module v0.316.0 is Prometheus 3.x
PROMETHEUS_VERSION=v0.316.0

K8S_SCHEMAS_PYPI=kubernetes-validate
K8S_SCHEMAS_PYPI_VERSION=1.37.0
# The oldest and the newest Kubernetes minor the chart is checked against.
K8S_SCHEMA_VERSIONS=${K8S_SCHEMA_VERSIONS:-v1.29.0,v1.37.0}
KEDA_MODULE=github.com/kedacore/keda/v2
KEDA_VERSION=v2.21.0
PROMOP_MODULE=github.com/prometheus-operator/prometheus-operator
PROMOP_VERSION=v0.85.0

say() { echo "install-tools: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

mkdir -p "$BIN" "$SCHEMAS"

# go_tool NAME PACKAGE MODULE_VERSION [BUILD_TAGS]: go install PACKAGE@VERSION into $BIN
# unless the stamp says this version is already there.
go_tool() {
  local name=$1 pkg=$2 version=$3 tags=${4:-} stamp=$BIN/.$1.version start=$SECONDS
  if [[ -x $BIN/$name && -f $stamp && $(<"$stamp") == "$pkg@$version $tags" ]]; then
    return 0
  fi
  say "go install ${tags:+-tags $tags }$pkg@$version"
  GOBIN=$BIN GOFLAGS=-buildvcs=false go install ${tags:+-tags "$tags"} "$pkg@$version" ||
    die "go install $pkg@$version failed"
  echo "$pkg@$version $tags" >"$stamp"
  say "$name $version installed in $((SECONDS - start)) s"
}

go_tool helm "$HELM_MODULE/cmd/helm" "$HELM_VERSION"
go_tool kubeconform "$KUBECONFORM_MODULE/cmd/kubeconform" "$KUBECONFORM_VERSION"
# remove_all_sd: leave out the cloud service-discovery plugins (AWS, Azure, GCE, ...), which
# promtool's rule checks never use and which would triple the build time.
go_tool promtool "$PROMETHEUS_MODULE/cmd/promtool" "$PROMETHEUS_VERSION" remove_all_sd

# module_dir MODULE VERSION: the module's directory in the Go module cache (downloaded if needed).
module_dir() {
  local dir
  dir=$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n $dir && -d $dir ]] || die "go mod download $1@$2 gave no directory"
  echo "$dir"
}

schema_stamp="$K8S_SCHEMAS_PYPI==$K8S_SCHEMAS_PYPI_VERSION $K8S_SCHEMA_VERSIONS $KEDA_MODULE@$KEDA_VERSION $PROMOP_MODULE@$PROMOP_VERSION $(cat "$ROOT"/deploy/tools/schemas/*.go | sha256sum | cut -c1-16)"
if [[ ! -f $SCHEMAS/.stamp || $(<"$SCHEMAS/.stamp") != "$schema_stamp" ]]; then
  start=$SECONDS
  wheel_dir=$TOOLS_DIR/pypi
  wheel=$wheel_dir/kubernetes_validate-$K8S_SCHEMAS_PYPI_VERSION-py3-none-any.whl
  if [[ ! -f $wheel ]]; then
    say "pip download $K8S_SCHEMAS_PYPI==$K8S_SCHEMAS_PYPI_VERSION (Kubernetes JSON schemas)"
    command -v python3 >/dev/null || die "python3 is needed to run pip"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$wheel_dir" \
      "$K8S_SCHEMAS_PYPI==$K8S_SCHEMAS_PYPI_VERSION" || die "pip download $K8S_SCHEMAS_PYPI failed"
    [[ -f $wheel ]] || die "pip downloaded no $wheel"
  fi
  keda=$(module_dir "$KEDA_MODULE" "$KEDA_VERSION")
  promop=$(module_dir "$PROMOP_MODULE" "$PROMOP_VERSION")
  rm -rf "$SCHEMAS.tmp"
  (cd "$ROOT" && go run ./deploy/tools/schemas \
    -wheel "$wheel" -versions "$K8S_SCHEMA_VERSIONS" -out "$SCHEMAS.tmp" \
    "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
    "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" \
    "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
    "$promop/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
    "$promop/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml") ||
    die "could not build the schemas"
  echo "$schema_stamp" >"$SCHEMAS.tmp/.stamp"
  rm -rf "$SCHEMAS"
  mv "$SCHEMAS.tmp" "$SCHEMAS"
  say "schemas ready in $SCHEMAS ($((SECONDS - start)) s)"
fi
