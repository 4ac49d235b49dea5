#!/usr/bin/env bash
# Generates a Python client from api-spec/openapi.yaml with openapi-python-client (PyPI, pinned,
# in a venv under ci/.venv-client) and runs the README's first contact through it
# (ci/client_walkthrough.py: who am I, the agency list, an incident recorded and retried with
# its Idempotency-Key, the MASH's notification read, an NGO referral, an audit query and
# verify) against `msht-hub serve --dev` on a free loopback port with a temporary data folder.
#
# Usage: ci/client.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ci/lib.sh
source "$ROOT/ci/lib.sh"

GENERATOR_VERSION="0.29.1"
venv="$ROOT/ci/.venv-client"
if [ "$("$venv/bin/openapi-python-client" --version 2>/dev/null | awk '{print $NF}')" != "$GENERATOR_VERSION" ]; then
  ci_need_cmd python3 python3
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    ci_apt_install python3-venv
    python3 -m venv "$venv"
  fi
  ci_log "pip install openapi-python-client==$GENERATOR_VERSION into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "openapi-python-client==$GENERATOR_VERSION" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-client.XXXXXX")
pid=""
cleanup() {
  [ -z "$pid" ] || ci_kill_pid "$pid" msht-hub msht-hub
  if [ -n "${MSHT_CI_KEEP_LOGS:-}" ]; then ci_log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# No formatter hooks: the generated code is used as generated.
printf 'post_hooks: []\n' >"$work/generator.yaml"
ci_log "openapi-python-client $GENERATOR_VERSION generate (api-spec/openapi.yaml)"
(cd "$work" && "$venv/bin/openapi-python-client" generate --path "$ROOT/api-spec/openapi.yaml" \
  --config "$work/generator.yaml" --meta none --output-path msht_hub_client) >"$work/generate.log" 2>&1 ||
  { cat "$work/generate.log"; exit 1; }
grep -E '^WARNING' "$work/generate.log" | sed 's/^/  generator: /' >&2 || true

cargo build --quiet --bin msht-hub
hub="${CARGO_TARGET_DIR:-$ROOT/target}/debug/msht-hub"
port=$(ci_free_port)
"$hub" serve --dev --data-dir "$work/data" --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
ci_wait_for "msht-hub" "$pid" 120 "$work/serve.log" curl -fsS "http://127.0.0.1:$port/api/v1/readyz"

token() { "$hub" dev-token --data-dir "$work/data" "$@"; }
MSHT_URL="http://127.0.0.1:$port" \
  MSHT_TOKEN_ADMIN="$(token --role hub_admin)" \
  MSHT_TOKEN_POLICE="$(token --agency police --role practitioner)" \
  MSHT_TOKEN_MASH="$(token --agency mash --role practitioner)" \
  MSHT_TOKEN_NGO="$(token --agency ngo --role practitioner)" \
  MSHT_TOKEN_AUDITOR="$(token --role hub_auditor)" \
  PYTHONPATH="$work" "$venv/bin/python" "$ROOT/ci/client_walkthrough.py"
