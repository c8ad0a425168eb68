#!/usr/bin/env bash
# Builds the Kubernetes control plane the tests run (kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl in one multi-call binary), etcd and helm from Go modules into
# .cache/bin. A binary is rebuilt only when its inputs (go.mod, go.sum, main.go, Go version,
# version stamp) change: a stamp file beside it holds their hash.
set -euo pipefail

KUBE_VERSION=v1.36.3
HELM_VERSION=v3.22.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/.cache/bin"
mkdir -p "$bin"

if command -v go >/dev/null 2>&1; then go=go
elif [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go
else echo "build.sh: Go not found (install Go >= 1.26 or put it on PATH)" >&2; exit 1; fi
go_version="$("$go" env GOVERSION)"

# Builds are long and the machines are shared: stay polite.
go_nice() { nice -n 10 "$go" "$@"; }

now() { date +%s.%N; }
took() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f s", e - s }'; }

inputs_hash() { # hash of the module's sources plus what shapes the binary
  (cd "$1" && cat go.mod go.sum main.go; echo "$go_version $2") | sha256sum | cut -d' ' -f1
}

up_to_date() { # binary exists and was built from the same inputs
  [ -x "$bin/$1" ] && [ -f "$bin/$1.stamp" ] && [ "$(cat "$bin/$1.stamp")" = "$2" ]
}

build_module() { # name, module dir, extra version text, go build args...
  local name="$1" dir="$2" version="$3"; shift 3
  local hash start
  hash="$(inputs_hash "$dir" "$version")"
  if up_to_date "$name" "$hash"; then echo "$name: up to date ($bin/$name)"; return; fi
  echo "$name: building from $dir (first build takes minutes, later ones use Go's build cache)"
  start="$(now)"
  rm -f "$bin/$name.stamp"
  # -mod=readonly: go.sum is committed; a build must not silently change it.
  (cd "$dir" && go_nice build -mod=readonly -trimpath "$@" -o "$bin/$name.tmp" .)
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$hash" >"$bin/$name.stamp"
  echo "$name: built in $(took "$start")"
}

minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
build_module kube "$here/go/kube" "$KUBE_VERSION" -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean"
# Names the multi-call binary answers to, for people who want `kubectl` on their PATH.
for component in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  ln -sf kube "$bin/$component"
done

build_module etcd "$here/go/etcd" "" -ldflags "-s -w"

# go install leaves helm's version at its source default ("v3.22"): stamp the full one.
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
helm_stamp="$(echo "$HELM_VERSION $go_version $helm_ldflags" | sha256sum | cut -d' ' -f1)"
if up_to_date helm "$helm_stamp"; then
  echo "helm: up to date ($bin/helm)"
else
  echo "helm: installing $HELM_VERSION"
  start="$(now)"
  rm -f "$bin/helm.stamp"
  GOBIN="$bin" go_nice install -trimpath -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  echo "$helm_stamp" >"$bin/helm.stamp"
  echo "helm: built in $(took "$start")"
fi
