#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubeadm, kubemark, kubectl), the etcd / etcdctl that kubeadm pairs with each minor
# and the konnectivity proxy-server / proxy-agent whose client that minor's kube-apiserver links,
# from Go modules, for tests. Test tooling only: nothing here ships in the product.
#
#   bash scripts/kube-bins.sh              # every version pinned under test/kube-bins/
#   bash scripts/kube-bins.sh 1.37         # one minor (or 1.37.2 / v1.37.2) and its etcd
#   eval "$(bash scripts/kube-bins.sh)"    # sets KUBE_BIN_DIR
#
# Sources: one wrapper Go module per Kubernetes minor (test/kube-bins/v1.NN), per etcd minor
# (test/kube-bins/etcd-v3.N) and per konnectivity minor (test/kube-bins/konnectivity-v0.N). Their
# go.mod/go.sum pin every module (k8s.io/kubernetes, its staging modules replaced by their
# published v0.NN.P tags, etcd, sigs.k8s.io/apiserver-network-proxy), so builds use -mod=readonly
# and fetch only from the Go module proxy. Each go.mod's `tool` block names the commands built.
#
# Output, cached by version (a binary already there that reports the right version is kept):
#   ${HM_KUBE_BIN_CACHE:-<repo>/.cache/kube-bins}/v1.37.2/{kube-apiserver,kube-controller-manager,kube-scheduler,kubeadm,kubemark,kubectl}
#   ${HM_KUBE_BIN_CACHE:-<repo>/.cache/kube-bins}/etcd-v3.7.0/{etcd,etcdctl}
#   ${HM_KUBE_BIN_CACHE:-<repo>/.cache/kube-bins}/konnectivity-v0.36.0/{proxy-server,proxy-agent}
# Progress goes to stderr, one line per binary built or found, then the total time. The only
# line on stdout is the last one, `KUBE_BIN_DIR=<cache dir>/<newest version asked for>` (where
# the process kubelet finds kube-apiserver & co.), so callers can eval stdout.
#
# Build flags follow upstream's release build (hack/lib/golang.sh, hack/lib/version.sh):
# CGO_ENABLED=0, -trimpath, tags selinux,notest,grpcnotrace, -s -w, and the version -X flags on
# both k8s.io/component-base/version and k8s.io/client-go/pkg/version, so `kube-apiserver
# --version` prints `Kubernetes v1.37.2` and `kubeadm version -o short` prints `v1.37.2`.
# buildDate is the module's publication time on the proxy, so rebuilds are byte-for-byte
# stable for a given Go toolchain. gitCommit is left unset (the module proxy does not carry it),
# as upstream does when it is unknown. etcd gets its version from its own source.
# The six Kubernetes commands are built by one `go build` so they share compiled packages;
# a minor took 19 min 51 s from a cold Go build cache on the 2-core machine while the test
# suite ran beside it (nice 10); etcd then took 28 s, sharing most packages. konnectivity
# (proxy-server and proxy-agent: one `go build`, upstream's flags, CGO_ENABLED=0 and no tags)
# shares little with them (it pins client-go v0.36.1, grpc v1.81.1): 1 min 50 s from an empty
# Go build cache and module cache on the quiet 2-core machine (nice 10); under 0.1 s cached.
# It has no version flag: the version check reads the module version Go embeds in each binary
# (the `mod sigs.k8s.io/apiserver-network-proxy v0.36.0` line of `go version -m`).
# The builds run one after another: each `go build` already keeps both cores of CI busy.
#
# Go: the wrappers' go.mod `go` line is the minimum (1.26.2 today, konnectivity's). If `go` is
# missing it installs Debian's golang-go with apt-get (needs root). If the go found is older than needed:
#   - Go >= 1.21 switches itself: this script runs it with GOTOOLCHAIN=auto (overriding a
#     GOTOOLCHAIN=local from the environment), which fetches the toolchain named by go.mod
#     from the Go module proxy (module golang.org/toolchain).
#   - Go < 1.21 (Debian 12's golang-go is 1.19) knows no GOTOOLCHAIN, so the script does the
#     same by hand: `go mod download golang.org/toolchain@v0.0.1-go<ver>.<os>-<arch>` from the
#     module proxy, restores the executable bits the module cache drops, and uses that go.
#
# Environment: HM_KUBE_BIN_CACHE (cache dir), HM_KUBE_BIN_NICE (nice level of the builds,
# default 10).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WRAPPERS="$ROOT/test/kube-bins"
CACHE=${HM_KUBE_BIN_CACHE:-$ROOT/.cache/kube-bins}
NICE=${HM_KUBE_BIN_NICE:-10}
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubeadm kubemark kubectl)
# Which etcd wrapper goes with which Kubernetes minor: kubeadm's DefaultEtcdVersion /
# SupportedEtcdVersion in cmd/kubeadm/app/constants/constants.go of that release (checked
# against the downloaded source whenever the script builds).
declare -A ETCD_FOR_MINOR=([1.37]=etcd-v3.7 [1.36]=etcd-v3.6)
# Which konnectivity wrapper goes with which minor: the release whose konnectivity-client is the
# one k8s.io/kubernetes requires (go.mod of v1.37.2: konnectivity-client v0.36.0). A minor without
# an entry gets no konnectivity build (1.36.3 links v0.34.0; the tests tunnel the newest minor).
declare -A KONNECTIVITY_FOR_MINOR=([1.37]=konnectivity-v0.36)

started=$SECONDS
tmp_dirs=()
trap 'rm -rf "${tmp_dirs[@]}"' EXIT
log() { printf '%s\n' "$*" >&2; }
die() { log "kube-bins: $*"; exit 1; }

# The version a wrapper go.mod requires for module $2 (reads the file; needs no Go).
mod_version() { awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1/go.mod"; }

# ---- which versions ---------------------------------------------------------------------------
minors=()
while read -r minor; do minors+=("$minor"); done < <(
  cd "$WRAPPERS" && for dir in v1.*/; do [ -f "$dir/go.mod" ] && basename "$dir" | sed 's/^v//'; done | sort -rV)
[ ${#minors[@]} -gt 0 ] || die "no wrapper modules under $WRAPPERS"
if [ $# -gt 0 ]; then
  wanted=()
  for arg in "$@"; do
    arg=${arg#v}
    minor=$(printf '%s' "$arg" | cut -d. -f1,2)
    [ -d "$WRAPPERS/v$minor" ] || die "no wrapper module for Kubernetes $arg (have: ${minors[*]})"
    pinned=$(mod_version "$WRAPPERS/v$minor" k8s.io/kubernetes)
    if [ "$arg" != "$minor" ] && [ "v$arg" != "$pinned" ]; then
      die "Kubernetes v$arg is not pinned; test/kube-bins/v$minor pins $pinned"
    fi
    wanted+=("$minor")
  done
  minors=("${wanted[@]}")
fi

# ---- version checks (run the binary; no Go needed) -------------------------------------------
reports_version() { # binary name expected-version
  local bin=$1 name=$2 want=$3 out
  [ -x "$bin" ] || return 1
  case "$name" in
    kubeadm) out=$(timeout 30 "$bin" version -o short 2>/dev/null) || return 1
             [ "$out" = "$want" ] ;;
    kubectl) out=$(timeout 30 "$bin" version --client 2>/dev/null) || return 1
             grep -qx "Client Version: $want" <<<"$out" ;;
    etcd) out=$(timeout 30 "$bin" --version 2>/dev/null) || return 1
          grep -qx "etcd Version: ${want#v}" <<<"$out" ;;
    etcdctl) out=$(timeout 30 "$bin" version 2>/dev/null) || return 1
             grep -qx "etcdctl version: ${want#v}" <<<"$out" ;;
    proxy-server|proxy-agent) # no version flag: the build info Go embeds (`go version -m`)
             timeout 30 "$bin" --help >/dev/null 2>&1 || return 1
             LC_ALL=C grep -qaF "$(printf 'mod\tsigs.k8s.io/apiserver-network-proxy\t%s\t' "$want")" "$bin" ;;
    *) out=$(timeout 30 "$bin" --version 2>/dev/null) || return 1
       grep -qx "Kubernetes $want" <<<"$out" ;;
  esac
}

# ---- Go toolchain -------------------------------------------------------------------------------
go_ready=
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
ensure_go() {
  [ -z "$go_ready" ] || return 0
  local need=0 v dir
  for dir in "$WRAPPERS"/*/; do
    v=$(awk '$1 == "go" { print $2; exit }' "$dir/go.mod")
    case "$v" in *.*.*) ;; *) v="$v.0" ;; esac
    version_ge "$v" "$need" && need=$v
  done
  if ! command -v go >/dev/null 2>&1; then
    log "go not found: installing Debian's golang-go"
    command -v apt-get >/dev/null || die "go is missing and apt-get is not available"
    [ "$(id -u)" = 0 ] || die "go is missing; installing golang-go with apt-get needs root"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >&2
    hash -r
  fi
  local have
  have=$(go env GOVERSION 2>/dev/null || go version | awk '{print $3}')
  have=${have#go}
  have=${have%%[ -]*}
  if ! version_ge "$have" "$need" && ! version_ge "$have" 1.21; then
    # Too old for GOTOOLCHAIN: fetch the toolchain module by hand, as Go >= 1.21 would.
    local goos goarch mod tmp
    goos=$(go env GOOS); goarch=$(go env GOARCH)
    mod="golang.org/toolchain@v0.0.1-go$need.$goos-$goarch"
    log "go $have is older than $need and predates GOTOOLCHAIN: fetching $mod"
    tmp=$(mktemp -d)
    dir=$(cd "$tmp" && GOFLAGS= GO111MODULE=on go mod download -json "$mod" | awk -F'"' '$2 == "Dir" { print $4 }')
    rm -rf "$tmp"
    [ -n "$dir" ] && [ -f "$dir/bin/go" ] || die "could not download $mod"
    # The module cache keeps no executable bits: restore them on bin/ and pkg/tool/ (the
    # files are ours, so the read-only directories need no change).
    [ -x "$dir/bin/go" ] || chmod 0555 "$dir"/bin/* "$dir"/pkg/tool/*/*
    export PATH="$dir/bin:$PATH"
    export GOROOT="$dir"
  fi
  # GOTOOLCHAIN=auto: a go older than the go.mod line switches to that toolchain (module proxy).
  export GOTOOLCHAIN=auto GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
  v=$(cd "$WRAPPERS/v${minors[0]}" && go env GOVERSION) || die "no usable Go toolchain"
  log "using $v ($(command -v go))"
  go_ready=1
}

# Builds the main packages $3... of wrapper module $1 into directory $2 in one `go build`.
go_build() {
  local wrapper=$1 out=$2 ldflags=$3 tags=$4
  shift 4
  (cd "$wrapper" && nice -n "$NICE" go build -trimpath -tags="$tags" -ldflags="$ldflags" -o "$out/" "$@")
}

mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock"
  flock 9
fi

# Sets `missing` to those of the binaries $3... in directory $1 that do not report version $2.
find_missing() {
  local dest=$1 version=$2 name
  shift 2
  missing=()
  for name in "$@"; do
    if reports_version "$dest/$name" "$name" "$version"; then
      log "found  $name $version  $dest/$name"
    else
      missing+=("$name")
    fi
  done
}

# Moves binaries $5... from build directory $1 to $2 once each reports version $3.
install_built() {
  local tmp=$1 dest=$2 version=$3 t0=$4 name
  shift 4
  for name in "$@"; do
    reports_version "$tmp/$name" "$name" "$version" || die "built $name does not report $version"
    mv -f "$tmp/$name" "$dest/$name"
    log "built  $name $version  $dest/$name ($((SECONDS - t0))s for the batch)"
  done
}

# ---- Kubernetes -------------------------------------------------------------------------------
build_kube() { # minor
  local minor=$1 wrapper="$WRAPPERS/v$1" version dest name t0
  version=$(mod_version "$wrapper" k8s.io/kubernetes)
  [ -n "$version" ] || die "$wrapper/go.mod does not require k8s.io/kubernetes"
  dest="$CACHE/$version"
  find_missing "$dest" "$version" "${KUBE_CMDS[@]}"
  [ ${#missing[@]} -gt 0 ] || return 0

  ensure_go
  local src built major minor_num pkgs=() ldflags="" key val etcd_dir etcd_want kubeadm_etcd
  src=$(cd "$wrapper" && go mod download -json k8s.io/kubernetes | awk -F'"' '$2 == "Dir" { print $4 }')
  etcd_dir=${ETCD_FOR_MINOR[$minor]:-}
  if [ -n "$etcd_dir" ]; then
    etcd_want=$(mod_version "$WRAPPERS/$etcd_dir" go.etcd.io/etcd/server/v3)
    kubeadm_etcd=$(sed -n 's/^[[:space:]]*DefaultEtcdVersion[[:space:]]*=[[:space:]]*"\([^"-]*\).*/\1/p' \
      "$src/cmd/kubeadm/app/constants/constants.go")
    [ "v$kubeadm_etcd" = "$etcd_want" ] ||
      log "warning: kubeadm $version defaults to etcd $kubeadm_etcd but $etcd_dir pins $etcd_want"
  fi
  built=$(cd "$wrapper" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
  major=$(printf '%s' "${version#v}" | cut -d. -f1)
  minor_num=$(printf '%s' "${version#v}" | cut -d. -f2)
  for kv in "gitVersion=$version" "gitMajor=$major" "gitMinor=$minor_num" \
            "gitTreeState=clean" "buildDate=$built"; do
    key=${kv%%=*}; val=${kv#*=}
    ldflags+=" -X 'k8s.io/client-go/pkg/version.$key=$val' -X 'k8s.io/component-base/version.$key=$val'"
  done
  for name in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done

  local tmp
  mkdir -p "$dest"
  tmp=$(mktemp -d "$CACHE/.build-$version.XXXXXX")
  tmp_dirs+=("$tmp")
  log "building ${missing[*]} $version (one go build; ~20 min of 2 cores from a cold cache)"
  t0=$SECONDS
  go_build "$wrapper" "$tmp" "all=${ldflags# } -s -w" "selinux,notest,grpcnotrace" "${pkgs[@]}"
  install_built "$tmp" "$dest" "$version" "$t0" "${missing[@]}"
}

# ---- etcd -------------------------------------------------------------------------------------
build_etcd() { # wrapper dir name, e.g. etcd-v3.7
  local wrapper="$WRAPPERS/$1" version dest pkgs=() name t0 tmp
  version=$(mod_version "$wrapper" go.etcd.io/etcd/server/v3)
  [ -n "$version" ] || die "$wrapper/go.mod does not require go.etcd.io/etcd/server/v3"
  dest="$CACHE/etcd-$version"
  find_missing "$dest" "$version" etcd etcdctl
  [ ${#missing[@]} -gt 0 ] || return 0

  ensure_go
  for name in "${missing[@]}"; do
    case "$name" in
      etcd) pkgs+=(go.etcd.io/etcd/server/v3) ;; # package main at the server module root
      etcdctl) pkgs+=(go.etcd.io/etcd/etcdctl/v3) ;;
    esac
  done
  mkdir -p "$dest"
  tmp=$(mktemp -d "$CACHE/.build-etcd-$version.XXXXXX")
  tmp_dirs+=("$tmp")
  log "building ${missing[*]} $version"
  t0=$SECONDS
  go_build "$wrapper" "$tmp" "-s -w" "" "${pkgs[@]}"
  # go build names a binary after the path element before the /v3 suffix: server, etcdctl.
  [ ! -e "$tmp/server" ] || mv -f "$tmp/server" "$tmp/etcd"
  install_built "$tmp" "$dest" "$version" "$t0" "${missing[@]}"
}

# ---- konnectivity (apiserver-network-proxy) ----------------------------------------------------
build_konnectivity() { # wrapper dir name, e.g. konnectivity-v0.36
  local wrapper="$WRAPPERS/$1" version dest pkgs=() name t0 tmp
  version=$(mod_version "$wrapper" sigs.k8s.io/apiserver-network-proxy)
  [ -n "$version" ] || die "$wrapper/go.mod does not require sigs.k8s.io/apiserver-network-proxy"
  dest="$CACHE/konnectivity-$version"
  find_missing "$dest" "$version" proxy-server proxy-agent
  [ ${#missing[@]} -gt 0 ] || return 0

  ensure_go
  for name in "${missing[@]}"; do
    case "$name" in
      proxy-server) pkgs+=(sigs.k8s.io/apiserver-network-proxy/cmd/server) ;;
      proxy-agent) pkgs+=(sigs.k8s.io/apiserver-network-proxy/cmd/agent) ;;
    esac
  done
  mkdir -p "$dest"
  tmp=$(mktemp -d "$CACHE/.build-konnectivity-$version.XXXXXX")
  tmp_dirs+=("$tmp")
  log "building ${missing[*]} $version"
  t0=$SECONDS
  go_build "$wrapper" "$tmp" "-s -w" "" "${pkgs[@]}"
  # go build names them server and agent; upstream's images and Makefile call them proxy-*.
  [ ! -e "$tmp/server" ] || mv -f "$tmp/server" "$tmp/proxy-server"
  [ ! -e "$tmp/agent" ] || mv -f "$tmp/agent" "$tmp/proxy-agent"
  install_built "$tmp" "$dest" "$version" "$t0" "${missing[@]}"
}

for minor in "${minors[@]}"; do
  build_kube "$minor"
  etcd_dir=${ETCD_FOR_MINOR[$minor]:-}
  [ -n "$etcd_dir" ] || die "no etcd wrapper paired with Kubernetes $minor in ETCD_FOR_MINOR"
  build_etcd "$etcd_dir"
  konnectivity_dir=${KONNECTIVITY_FOR_MINOR[$minor]:-}
  [ -z "$konnectivity_dir" ] || build_konnectivity "$konnectivity_dir"
done

log "kube-bins: done in $((SECONDS - started))s"
# The sandbox's process kubelet runs $KUBE_BIN_DIR/kube-apiserver & co.: the newest version asked for.
printf 'KUBE_BIN_DIR=%q\n' "$CACHE/$(mod_version "$WRAPPERS/v${minors[0]}" k8s.io/kubernetes)"
