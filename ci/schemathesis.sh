#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a running hub with every check (`--checks all`: no 5xx,
# documented statuses, content types and headers, response schemas, schema-valid requests
# accepted and schema-invalid ones refused, missing headers and authentication, wrong
# methods, the spec's links followed in stateful sequences), as each of six roles in turn,
# and fails on any failure. Widened expectations, each for a rule JSON Schema cannot state,
# are in ci/schemathesis.toml. It starts `msht-hub serve --dev` on a free loopback port with a
# temporary data folder, and stops it. The hub_admin pass runs last: it may rewrite the demo
# agencies' identity providers.
#
# Usage: ci/schemathesis.sh [MAX_EXAMPLES]   (default 3 per operation and phase: the six
#        passes then take about four minutes on two cores)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ci/lib.sh
source "$ROOT/ci/lib.sh"

MAX_EXAMPLES=${1:-3}
SCHEMATHESIS_VERSION="4.32.5"
venv="$ROOT/ci/.venv-schemathesis"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  ci_need_cmd python3 python3
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    ci_apt_install python3-venv
    python3 -m venv "$venv"
  fi
  ci_log "pip install schemathesis==$SCHEMATHESIS_VERSION into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi

cargo build --quiet --bin msht-hub
data=$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-fuzz.XXXXXX")
port=$(ci_free_port)
hub="${CARGO_TARGET_DIR:-$ROOT/target}/debug/msht-hub"
# One principal per role sends every request of a pass: budgets that let the fuzzer explore
# the API rather than the rate limiter (tests/api/limits.rs covers the limiter).
MSHT_HUB__RATE_LIMIT__PRINCIPAL_PER_SECOND=100000 MSHT_HUB__RATE_LIMIT__PRINCIPAL_BURST=100000 \
  MSHT_HUB__RATE_LIMIT__CLIENT_PER_SECOND=100000 MSHT_HUB__RATE_LIMIT__CLIENT_BURST=100000 \
  "$hub" serve --dev --data-dir "$data" --bind "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
pid=$!
cleanup() {
  ci_kill_pid "$pid" msht-hub msht-hub
  if [ -n "${MSHT_CI_KEEP_LOGS:-}" ]; then ci_log "kept $data"; else rm -rf "$data"; fi
}
trap cleanup EXIT
ci_wait_for "msht-hub" "$pid" 120 "$data/serve.log" curl -fsS "http://127.0.0.1:$port/api/v1/readyz"

# pass ROLE... : one schemathesis pass as a dev token of ROLE (`AGENCY ROLE`, or an operator
# ROLE); writes its summary line to $data/<role>.line and its log to $data/st-<role>.log.
pass() {
  local token role name log t0 rc=0 cases last links
  if [ $# -eq 1 ]; then
    token=$("$hub" dev-token --data-dir "$data" --role "$1" --lifetime 7200)
    role="$1"
  else
    token=$("$hub" dev-token --data-dir "$data" --agency "$1" --role "$2" --lifetime 7200)
    role="$1 $2"
  fi
  name=${role// /-}
  log="$data/st-$name.log"
  t0=$(ci_now_ms)
  # Run from the temporary folder, so schemathesis keeps its cache there, not in the checkout.
  (cd "$data" && "$venv/bin/schemathesis" --config-file "$ROOT/ci/schemathesis.toml" run \
    "$ROOT/api-spec/openapi.yaml" --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" --checks all --max-examples "$MAX_EXAMPLES" \
    --seed 16 --no-color >"$log" 2>&1) || rc=$?
  cases=$(grep -Eo '[0-9]+ generated' "$log" | tail -n 1 | cut -d' ' -f1)
  last=$(grep -E '^=+ .* in [0-9.]+s =+$' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')
  links=$(grep -Eo '[0-9]+ covered / [0-9]+' "$log" | tail -n 1 | sed 's| covered / |/|')
  printf '%-22s %6s cases  links %-6s %-36s %s\n' "$role" "${cases:-?}" "${links:-?}" \
    "${last:-no summary}" "$(ci_elapsed "$t0")" >"$data/$name.line"
  return "$rc"
}

failed=0
# The agency roles and the auditor run side by side (each reads and writes only what its own
# token reaches); the hub_admin pass runs alone, last.
ci_log "schemathesis as police practitioner, mash ig_officer, ngo practitioner, mash agency_admin, hub_auditor"
pids=()
pass police practitioner & pids+=($!)
pass mash ig_officer & pids+=($!)
pass ngo practitioner & pids+=($!)
pass mash agency_admin & pids+=($!)
pass hub_auditor & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || failed=1; done
ci_log "schemathesis as hub_admin"
pass hub_admin || failed=1
if [ "$failed" -ne 0 ]; then
  for log in "$data"/st-*.log; do
    if ! grep -qE '^=+ .*(passed|warnings?) in [0-9.]+s =+$' "$log" ||
      grep -qE '^=+ .*(failure|error)' "$log"; then
      printf '\n---- %s\n' "$(basename "$log")"
      cat "$log"
    fi
  done
fi
if grep -q '"status":5' "$data/serve.log"; then
  echo "the hub answered 5xx:"
  grep '"status":5' "$data/serve.log" | head -20
  failed=1
fi
printf '\nschemathesis --checks all, per role (max-examples %s):\n' "$MAX_EXAMPLES"
for r in police-practitioner mash-ig_officer ngo-practitioner mash-agency_admin hub_auditor hub_admin; do
  sed 's/^/  /' "$data/$r.line" 2>/dev/null || echo "  $r: no result"
done
[ "$failed" -eq 0 ] && echo "schemathesis: every check passed as every role"
exit "$failed"
