#!/usr/bin/env bash
# Starts Harbormaster on embedded defaults: api and worker in one process, PGlite in ./.data,
# the local Redis, the sandbox seed and the simulated clouds. The first start prints the
# admin API token once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build.mjs
exec node --enable-source-maps dist/services/api/src/main.js
