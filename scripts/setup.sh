#!/usr/bin/env bash
# Everything a fresh Debian machine needs before Harbormaster runs or is tested:
# Node check, npm dependencies, Debian packages and the local Redis and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node >= 20.19 is required, found "+process.versions.node); process.exit(1) }'

stamp=node_modules/.harbormaster-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "installing npm dependencies"
  # `npm install` rather than `npm ci`: the registry mirror here lists no other-platform
  # optional binaries (@swc/core-darwin-*, …), which `npm ci` counts as a stale lock file.
  # The lock file still pins every version installed.
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

bash scripts/ensure-services.sh
