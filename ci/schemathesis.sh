#!/usr/bin/env bash
# Fuzzes a running hub against api-spec/openapi.yaml with schemathesis (PyPI), as several roles
# in turn, and fails on any 5xx answer ("no input produces a 500"). It starts
# `msht-hub serve --dev` on a free loopback port with a temporary data folder, and stops it.
# The hub_admin pass runs last: it may rewrite the demo agencies' identity providers.
#
# Usage: ci/schemathesis.sh [MAX_EXAMPLES]   (default 10 per operation and phase)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ci/lib.sh
source "$ROOT/ci/lib.sh"

MAX_EXAMPLES=${1:-10}
SCHEMATHESIS_VERSION="4.32.5"
venv="$ROOT/ci/.venv-schemathesis"
if [ ! -x "$venv/bin/schemathesis" ]; then
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
hub="$ROOT/target/debug/msht-hub"
# One principal per role sends every request of a pass: budgets that let the fuzzer explore
# the API rather than the rate limiter (tests/api/limits.rs covers the limiter).
MSHT_HUB__RATE_LIMIT__PRINCIPAL_PER_SECOND=100000 MSHT_HUB__RATE_LIMIT__PRINCIPAL_BURST=100000 \
  MSHT_HUB__RATE_LIMIT__CLIENT_PER_SECOND=100000 MSHT_HUB__RATE_LIMIT__CLIENT_BURST=100000 \
  "$hub" serve --dev --data-dir "$data" --bind "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
pid=$!
cleanup() {
  ci_kill_pid "$pid" msht-hub msht-hub
  rm -rf "$data"
}
trap cleanup EXIT
ci_wait_for "msht-hub" "$pid" 120 "$data/serve.log" curl -fsS "http://127.0.0.1:$port/api/v1/readyz"

failed=0
for who in "police practitioner" "mash ig_officer" "ngo practitioner" "mash agency_admin" \
  "- hub_auditor" "- hub_admin"; do
  set -- $who
  if [ "$1" = "-" ]; then
    token=$("$hub" dev-token --data-dir "$data" --role "$2" --lifetime 7200)
  else
    token=$("$hub" dev-token --data-dir "$data" --agency "$1" --role "$2" --lifetime 7200)
  fi
  ci_log "schemathesis as $who"
  # Run from the temporary folder, so schemathesis keeps its cache there, not in the checkout.
  if ! (cd "$data" && "$venv/bin/schemathesis" run "$ROOT/api-spec/openapi.yaml" \
    --url "http://127.0.0.1:$port" -H "Authorization: Bearer $token" \
    --checks not_a_server_error --max-examples "$MAX_EXAMPLES" --no-color >"$data/st.log" 2>&1); then
    failed=1
    cat "$data/st.log"
  else
    grep -E "generated" "$data/st.log" || true
  fi
done
if grep -q '"status":5' "$data/serve.log"; then
  echo "the hub answered 5xx:"
  grep '"status":5' "$data/serve.log" | head -20
  failed=1
fi
[ "$failed" -eq 0 ] && echo "schemathesis: no server errors"
exit "$failed"
