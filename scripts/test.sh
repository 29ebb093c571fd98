#!/usr/bin/env bash
# The one command that runs every test: sets up what is missing, builds, type-checks and runs
# the whole suite against real Redis, PostgreSQL, PGlite, etcd, sshd and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build.mjs
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p services/portal/tsconfig.json
HM_TEST_BUILT=1 npx vitest run "$@"
