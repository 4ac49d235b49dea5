#!/usr/bin/env bash
# Runs `cargo bench --bench hub` (benches/hub.rs) on SQLite and on a throw-away PostgreSQL
# started DURABLE (fsync, synchronous_commit and full_page_writes on; see ci/lib.sh), whose
# admin URL goes to the bench as MSHT_HUB_BENCH_POSTGRES_URL, then `cargo bench --bench
# deliveries` (benches/deliveries.rs) on SQLite and on that PostgreSQL. PostgreSQL is stopped
# on exit.
#
# Usage: ci/bench.sh [CARGO BENCH ARGS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ci/lib.sh
source "$ROOT/ci/lib.sh"

trap ci_postgres_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
MSHT_CI_POSTGRES_DURABLE=1 ci_postgres_start
export MSHT_HUB_BENCH_POSTGRES_URL="$MSHT_HUB_TEST_POSTGRES_URL"
cargo bench --bench hub "$@"
MSHT_HUB_BENCH_POSTGRES_URL="" cargo bench --bench deliveries
cargo bench --bench deliveries
