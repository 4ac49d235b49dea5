#!/usr/bin/env bash
# How many fsync-family calls the hub makes for N sequential POST /incidents (default 40),
# each answered 201 before the next is sent: with group commit and synchronous = FULL every
# answered write is on disk, so the count is at least N (one WAL sync per commit) and close
# to it when the checkpointer is idle. Runs `serve --dev` under strace on a free loopback port
# with a fresh data folder and the delivery worker off (so only the request path is counted),
# and stops it afterwards.
#
# Usage: benches/fsync.sh [N]   (builds the debug binary; needs strace: apt-get install strace)
set -euo pipefail
N=${1:-40}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v strace >/dev/null || { echo "strace not found (apt-get install strace)" >&2; exit 1; }
cargo build -q --bin msht-hub
BIN="$ROOT/target/debug/msht-hub"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-fsync.XXXXXX")"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  # strace's child is the hub: stop it, and strace ends with it.
  [ -z "${PID:-}" ] || pkill -P "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
MSHT_HUB__DELIVERY__WORKER_ENABLED=false \
  strace -f -qq -e trace=fsync,fdatasync,sync_file_range -o "$DIR/strace.log" \
  "$BIN" serve --dev --data-dir "$DIR/data" --bind "127.0.0.1:$PORT" >"$DIR/hub.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=$("$BIN" dev-token --data-dir "$DIR/data" --agency police --role practitioner)
sleep 1
before=$(grep -c 'sync' "$DIR/strace.log" || true)
ok=0
for i in $(seq "$N"); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/v1/incidents" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"reference\":\"FSYNC-$i\",\"occurred_at\":\"2026-11-20T22:00:00Z\",\"area\":\"E08000025\",
         \"exploitation_types\":[\"criminal\"],\"threats\":[\"county_lines\"],\"classification\":\"official\",
         \"narrative\":\"fsync count\",\"victims\":[{\"reference\":\"V1\",\"age\":15,
         \"consent_to_share\":\"not_required\",\"consent_absent_reason\":\"would_prejudice_protection\"}]}")
  [ "$code" = 201 ] && ok=$((ok + 1))
done
after=$(grep -c 'sync' "$DIR/strace.log" || true)
echo "$ok of $N sequential POST /incidents answered 201; fsync/fdatasync calls meanwhile: $((after - before))"
echo "  by call: $(sed -n "$((before + 1)),\$p" "$DIR/strace.log" | grep -o 'f[a-z]*sync' | sort | uniq -c | tr '\n' ' ')"
