#!/usr/bin/env bash
# The IG console in a real browser: Debian's chromium and chromium-driver (apt), Selenium
# (PyPI, in a venv) and axe-core (npm), against `msht-hub serve --dev` whose demo police agency
# is re-registered to sign in through the real OpenID provider (ci/oidc/server.mjs, with an
# authorization-code client and its own login form). ci/browser/console.py signs in as an IG
# officer and walks the console, then as a practitioner who is refused. Screenshots and the
# axe-core results of every page are kept in the output folder:
#   ${MSHT_CI_OUTPUT_DIR:-target/ci-output}/browser/
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ci/lib.sh
source "$ROOT/ci/lib.sh"

SELENIUM_VERSION="4.38.0"
OUT="${MSHT_CI_OUTPUT_DIR:-$ROOT/target/ci-output}/browser"
rm -rf "$OUT"
mkdir -p "$OUT"

# The browser and its driver (Debian), Selenium (PyPI), axe-core (npm).
ci_need_cmd chromium chromium
ci_need_cmd chromedriver chromium-driver
# Fonts for readable screenshots (apt installs chromium without its recommended fonts here).
[ -d /usr/share/fonts/truetype/liberation ] || [ -d /usr/share/fonts/truetype/dejavu ] ||
  ci_apt_install fonts-liberation
ci_need_cmd curl curl
ci_need_cmd python3 python3
venv="$ROOT/ci/.venv-browser"
if ! "$venv/bin/python" -c "import selenium" >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    ci_apt_install python3-venv
    python3 -m venv "$venv"
  fi
  ci_log "pip install selenium==$SELENIUM_VERSION into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION" >&2
fi
if [ ! -f "$ROOT/ci/browser/node_modules/axe-core/axe.min.js" ] ||
  [ "$ROOT/ci/browser/package-lock.json" -nt "$ROOT/ci/browser/node_modules/.package-lock.json" ]; then
  ci_log "npm ci in ci/browser"
  (cd "$ROOT/ci/browser" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

cargo build --quiet --bin msht-hub
hub="${CARGO_TARGET_DIR:-$ROOT/target}/debug/msht-hub"
data=$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-browser.XXXXXX")
port=$(ci_free_port)
base="http://127.0.0.1:$port"
pid=""
cleanup() {
  ci_kill_pid "$pid" msht-hub msht-hub
  ci_oidc_stop
  if [ -n "${MSHT_CI_KEEP_LOGS:-}" ]; then ci_log "kept $data"; else rm -rf "$data"; fi
}
trap cleanup EXIT

# The provider knows the console's client: its redirect URI and where to return after sign-out.
export OIDC_CONSOLE_CLIENT_ID="msht-console"
export OIDC_CONSOLE_CLIENT_SECRET="console-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export OIDC_CONSOLE_REDIRECT_URIS="$base/console/callback"
export OIDC_CONSOLE_POST_LOGOUT_URIS="$base/console/sign-in?signed_out=1"
ci_oidc_start

"$hub" serve --dev --data-dir "$data" --bind "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
pid=$!
ci_wait_for "msht-hub" "$pid" 120 "$data/serve.log" curl -fsS "$base/api/v1/readyz"

api() { curl -fsS -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "${@:2}"; }
police_id=$(python3 -c 'import json,sys; print(next(a["id"] for a in json.load(open(sys.argv[1]))["agencies"] if a["slug"]=="police"))' "$data/dev-issuer/state.json")

# Something to find: an incident the demo police record (before they move issuer).
police=$("$hub" dev-token --data-dir "$data" --agency police --role practitioner)
api "$police" -X POST "$base/api/v1/incidents" -d '{"reference":"WMP-CI-1",
  "occurred_at":"2026-11-20T22:00:00Z","area":"E08000025","exploitation_types":["criminal"],
  "threats":["county_lines"],"classification":"official","narrative":"Found running drugs",
  "victims":[{"reference":"V1","age":15,"consent_to_share":"not_required",
  "consent_absent_reason":"would_prejudice_protection","safe_address":"1 Hidden Way"}]}' >/dev/null
auditor=$("$hub" dev-token --data-dir "$data" --role hub_auditor)
person_ref=$(api "$auditor" "$base/api/v1/audit/events?purpose=integrity_security&operation=collection&limit=50" |
  python3 -c 'import json,sys; print(next((r for e in json.load(sys.stdin)["items"] for r in e["subject_refs"]), ""))')

# The demo police now sign in through the real provider, with the console's client.
admin=$("$hub" dev-token --data-dir "$data" --role hub_admin)
api "$admin" -X PUT "$base/api/v1/agencies/$police_id/identity-provider" -d "{
  \"issuer\": \"$MSHT_HUB_TEST_OIDC_ISSUER\", \"audience\": \"$MSHT_HUB_TEST_OIDC_AUDIENCE\",
  \"roles_claim\": \"roles\", \"role_map\": {\"ig_officer\": \"ig_officer\", \"practitioner\": \"practitioner\"},
  \"console\": {\"client_id\": \"$OIDC_CONSOLE_CLIENT_ID\", \"client_secret\": \"$OIDC_CONSOLE_CLIENT_SECRET\",
                \"redirect_uri\": \"$base/console/callback\"}}" >/dev/null

ci_log "browser suite against $base (provider $MSHT_HUB_TEST_OIDC_ISSUER); output in $OUT"
rc=0
HUB="$base" OUT="$OUT" AXE="$ROOT/ci/browser/node_modules/axe-core/axe.min.js" \
  AGENCY="Demo West Midlands Police" PERSON_REF="$person_ref" SE_OFFLINE=true \
  "$venv/bin/python" "$ROOT/ci/browser/console.py" || rc=$?
if grep -q '"status":5' "$data/serve.log"; then
  echo "the hub answered 5xx:"
  grep '"status":5' "$data/serve.log" | head -20
  rc=1
fi
if grep -qi "$OIDC_CONSOLE_CLIENT_SECRET" "$data/serve.log"; then
  echo "the console's client secret reached the hub's log"
  rc=1
fi
ci_log "screenshots and axe-core results: $OUT"
exit "$rc"
