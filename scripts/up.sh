#!/usr/bin/env bash
# Starts Harbormaster on embedded defaults: the all-in-one process (api and worker), PGlite in
# ./.data, the local Redis, the sandbox seed and the simulated clouds, from the dev tree (the
# production build leaves the sandbox out). The first start prints the admin API token once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build.mjs --with-sandbox
exec node --enable-source-maps dist/services/all-in-one/src/main.js
