#!/usr/bin/env bash
# The one command that runs every test: sets up what is missing, builds, type-checks, and runs
# the suite twice: against the simulators (kubesim, the node simulator) and against the real
# Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler, kubeadm, kubemark's
# hollow kubelet and etcd, built from Go modules by scripts/kube-bins.sh), with real Redis,
# PostgreSQL, PGlite, sshd and Chromium in both.
#
#   npm test                      both suites
#   npm test -- <vitest args>     the simulated suite only, with those arguments
#   HM_TEST_SUITES=real npm test  the real-binaries suite only (simulated | real | all)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

suites=${HM_TEST_SUITES:-all}
[ $# -eq 0 ] || suites=simulated
case "$suites" in all|simulated|real) ;; *) echo "HM_TEST_SUITES must be simulated, real or all" >&2; exit 2 ;; esac

# The binaries build (or are found in the cache) while the simulated suite runs: the build is
# CPU-bound and niced, the suite mostly waits on processes and timers, so the two overlap well
# on two cores. Its log goes to a file and is shown only when it fails.
bins_pid=
if [ "$suites" != simulated ]; then
  mkdir -p .cache
  # Its own process group (setsid), so stopping the tests stops the go builds it started too.
  setsid bash scripts/kube-bins.sh > .cache/kube-bins.env 2> .cache/kube-bins.log &
  bins_pid=$!
fi
wait_for_bins() {
  if ! wait "$bins_pid"; then
    cat .cache/kube-bins.log >&2
    echo "building the real Kubernetes binaries failed (log above; .cache/kube-bins.log)" >&2
    exit 1
  fi
  grep -E '^(found|built) |done in' .cache/kube-bins.log || true
  eval "$(tail -n 1 .cache/kube-bins.env)"
  export KUBE_BIN_DIR
}
trap '[ -z "$bins_pid" ] || kill -- "-$bins_pid" 2>/dev/null || true' EXIT

node scripts/build.mjs --with-sandbox
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p services/portal/tsconfig.json

status=0
if [ "$suites" != real ]; then
  HM_TEST_BUILT=1 npx vitest run "$@" || status=$?
fi
if [ "$suites" != simulated ]; then
  wait_for_bins
  bins_pid=
  echo "real-binaries suite with KUBE_BIN_DIR=$KUBE_BIN_DIR"
  HM_TEST_BUILT=1 npx vitest run --config vitest.real.config.ts || status=$?
fi
exit "$status"
