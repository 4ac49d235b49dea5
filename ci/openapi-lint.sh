#!/usr/bin/env bash
# Lints api-spec/openapi.yaml with Redocly CLI (npm @redocly/cli, pinned by
# ci/redocly/package-lock.json, installed into ci/redocly/node_modules on first use) using the
# recommended rules (ci/redocly/redocly.yaml). Fails on any error; warnings are printed.
#
# Usage: ci/openapi-lint.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ci/lib.sh
source "$ROOT/ci/lib.sh"

dir="$ROOT/ci/redocly"
if [ ! -x "$dir/node_modules/.bin/redocly" ] ||
  [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
  ci_need_cmd node nodejs
  ci_need_cmd npm npm
  ci_log "npm ci in ci/redocly"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
ci_log "redocly $("$dir/node_modules/.bin/redocly" --version 2>/dev/null | tail -n 1) lint api-spec/openapi.yaml"
rc=0
out=$("$dir/node_modules/.bin/redocly" lint --config "$dir/redocly.yaml" --format=stylish \
  api-spec/openapi.yaml 2>&1) || rc=$?
# (the banner boxes Redocly prints about Node.js versions are left out)
printf '%s\n' "$out" | grep -v -e '[╔║╚]' -e '^[[:space:]]*$' || true
exit "$rc"
