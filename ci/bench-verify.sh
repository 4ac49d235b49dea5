#!/usr/bin/env bash
# Audit verification benchmark: `cargo bench --bench audit` (benches/audit.rs) builds a log of
# MSHT_HUB_BENCH_VERIFY_ENTRIES entries (default 1,000,000) the way the hub does, verifies it
# on SQLite and on a throw-away PostgreSQL started DURABLE (fsync, synchronous_commit and
# full_page_writes on; see ci/lib.sh), and prints verify MB/s beside raw SHA-256 MB/s over the
# same bytes with their ratio. PostgreSQL is stopped on exit.
#
# Usage: ci/bench-verify.sh [CARGO BENCH ARGS...]
#   MSHT_HUB_BENCH_APPENDS=0 skips the append runs (default 2000 appends per run).
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
unset MSHT_HUB_TEST_POSTGRES_URL
cargo bench --bench audit "$@"
