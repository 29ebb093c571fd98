#!/usr/bin/env bash
# Benchmarks: medians and ratios, printed for the closing notes. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build.mjs --with-sandbox --no-portal
npx vitest bench --run "$@"
