#!/usr/bin/env bash
# Builds the Go binaries of the test environment from the wrapper modules in test/env/go/ into
# ${MESHWAVE_CACHE_DIR:-~/.cache/meshwave}/<component>-<version>/ (skipped when already there).
#   build-go.sh [etcd|kwok|kube|helm|jaeger|all]...
# Versions are the ones pinned in the wrapper modules' go.mod files; change them there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MESHWAVE_CACHE_DIR:-$HOME/.cache/meshwave}"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=readonly"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

modver() { # module directory, module path -> version pinned in go.mod
  (cd "$here/go/$1" && go list -m -f '{{.Version}}' "$2")
}

build() { # name, module dir, out dir, ldflags, packages...
  local name="$1" dir="$2" out="$3" ldflags="$4"; shift 4
  if [[ -f "$out/.complete" ]]; then echo "build-go: $name cached in $out"; return 0; fi
  mkdir -p "$out"
  exec 9>"$out/.lock"
  flock 9
  if [[ -f "$out/.complete" ]]; then echo "build-go: $name cached in $out"; return 0; fi
  echo "build-go: building $name into $out"
  local t0=$SECONDS
  local o="$out/"; [[ "$name" == etcd ]] && o="$out/etcd"
  (cd "$here/go/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$o" "$@")
  touch "$out/.complete"
  echo "build-go: $name built in $((SECONDS - t0))s"
  exec 9>&-
}

build_etcd() {
  local v; v="$(modver etcd go.etcd.io/etcd/server/v3)"
  local out="$cache/etcd-$v"
  # -o names the binary: go would call it "server" (last path element that is not a major version)
  build etcd etcd "$out" "" go.etcd.io/etcd/server/v3
}

build_kwok() {
  local v; v="$(modver kwok sigs.k8s.io/kwok)"
  local out="$cache/kwok-$v"
  build kwok kwok "$out" "-X sigs.k8s.io/kwok/pkg/consts.Version=$v" sigs.k8s.io/kwok/cmd/kwok
  # kwok's own node and pod stages ship inside its module; take them from the module cache at this version
  if [[ ! -f "$out/stages/.complete" ]]; then
    local src; src="$(cd "$here/go/kwok" && go mod download sigs.k8s.io/kwok && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
    mkdir -p "$out/stages"
    cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
      "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$out/stages/"
    chmod 644 "$out/stages/"*.yaml
    touch "$out/stages/.complete"
  fi
}

build_kube() {
  local v; v="$(modver kube k8s.io/kubernetes)"
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local p=k8s.io/component-base/version
  build kube kube "$cache/kube-$v" \
    "-X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}

build_helm() {
  local v; v="$(modver helm helm.sh/helm/v4)"
  build helm helm "$cache/helm-$v" "-X helm.sh/helm/v4/internal/version.version=$v" helm.sh/helm/v4/cmd/helm
}

build_jaeger() {
  local v; v="$(modver jaeger github.com/jaegertracing/jaeger)"
  # the v2 binary (an OpenTelemetry collector distribution), the trace backend of the tests
  build jaeger jaeger "$cache/jaeger-$v" "" github.com/jaegertracing/jaeger/cmd/jaeger
}

targets=("$@"); [[ ${#targets[@]} -eq 0 ]] && targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    kube) build_kube ;;
    helm) build_helm ;;
    jaeger) build_jaeger ;;
    all) build_etcd; build_kwok; build_kube; build_helm; build_jaeger ;;
    *) echo "build-go: unknown target $t" >&2; exit 2 ;;
  esac
done
