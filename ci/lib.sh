# shellcheck shell=bash
# Helpers that start and stop the real external components used by msht-hub's tests:
# PostgreSQL, oidc-provider (Node) and aiosmtpd (Python). Source this file from bash:
#
#   source ci/lib.sh
#   trap ci_stop_all EXIT
#   ci_postgres_start   # exports MSHT_HUB_TEST_POSTGRES_URL
#   ci_oidc_start       # exports MSHT_HUB_TEST_OIDC_{ISSUER,CLIENT_ID,CLIENT_SECRET,AUDIENCE}
#   ci_smtp_start       # exports MSHT_HUB_TEST_SMTP_URL, MSHT_HUB_TEST_SMTP_MAILDIR
#   ...
#   ci_postgres_stop; ci_oidc_stop; ci_smtp_stop   # or ci_stop_all
#
# PostgreSQL runs with fsync, synchronous_commit and full_page_writes off (fast, not crash-safe)
# unless MSHT_CI_POSTGRES_DURABLE=1, which keeps the durable defaults (ci/bench.sh sets it).
#
# Every service listens on 127.0.0.1 only, on a free port (override with MSHT_CI_POSTGRES_PORT,
# MSHT_CI_OIDC_PORT, MSHT_CI_SMTP_PORT), keeps its data and log in a fresh temp folder, and is
# stopped by its *_stop function (idempotent, also unsets the exported variables).
# Missing software is installed on first use (apt-get, npm ci, pip in a venv).
#
# The functions change no shell options of the caller except through `set -e` semantics: they
# return non-zero on failure, so callers with `set -e` stop there.

CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ---------------------------------------------------------------------------------------------
# generic helpers

ci_log() { printf '[ci %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

ci_die() {
  ci_log "ERROR: $*"
  return 1
}

ci_now_ms() { date +%s%3N; }

# ci_elapsed START_MS -> "1.234s"
ci_elapsed() {
  local ms=$(($(ci_now_ms) - $1))
  printf '%d.%03ds' $((ms / 1000)) $((ms % 1000))
}

ci_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

CI_APT_UPDATED=""
# ci_apt_install PKG... : install Debian packages (non-interactive, one apt-get update per shell).
ci_apt_install() {
  command -v apt-get >/dev/null || ci_die "apt-get not found; install $* by hand" || return 1
  ci_log "apt-get install $*"
  if [ -z "$CI_APT_UPDATED" ]; then
    ci_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    CI_APT_UPDATED=1
  fi
  ci_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null || return 1
}

# ci_need_cmd CMD PKG : make sure CMD exists, installing the Debian package PKG if not.
ci_need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  ci_apt_install "$2" || return 1
  command -v "$1" >/dev/null 2>&1 || ci_die "$1 still missing after installing $2"
}

# ci_port_in_use PORT : true when something accepts TCP connections on 127.0.0.1:PORT.
ci_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ci_free_port : print a loopback TCP port nobody listens on. Picks from 20000-32767, below
# Linux's ephemeral range, so outgoing connections do not take it in the meantime.
ci_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12768))
    if ! ci_port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  ci_die "no free loopback port found"
}

# ci_wait_for DESCRIPTION PID TIMEOUT_SECONDS LOGFILE COMMAND... : poll COMMAND every 0.1 s until
# it succeeds; fail early when PID dies, or after the timeout (printing the log either way).
ci_wait_for() {
  local what=$1 pid=$2 timeout=$3 logfile=$4
  shift 4
  local deadline=$(($(date +%s) + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      ci_log "$what exited before it was ready; its log ($logfile):"
      sed 's/^/    /' "$logfile" >&2 || true
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      ci_log "$what not ready after ${timeout}s; its log ($logfile):"
      sed 's/^/    /' "$logfile" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

# ci_pid_alive PID : the process exists and is not a zombie (a zombie that is not our child
# waits for init to reap it, which can take seconds).
ci_pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

# ci_kill_pid PID NAME [CMDLINE_WORD] : SIGTERM, wait up to 10 s, then SIGKILL. Only ever signals
# that one PID; with CMDLINE_WORD, only when its command line contains that word (guards against
# a recycled PID when the PID came from a state file).
ci_kill_pid() {
  local pid=$1 name=$2 word=${3:-}
  [ -n "$pid" ] || return 0
  ci_pid_alive "$pid" || return 0
  if [ -n "$word" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$word"; then
    ci_log "pid $pid is no longer $name; not signalling it"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    ci_pid_alive "$pid" || break
    sleep 0.1
  done
  if ci_pid_alive "$pid"; then
    ci_log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a throw-away cluster run as the `postgres` user (initdb refuses root).

CI_PG_DIR=""
CI_PG_PORT=""
CI_PG_BIN=""

ci_postgres_bindir() {
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    echo "$d"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    return 1
  fi
}

ci_postgres_install() {
  ci_postgres_bindir >/dev/null && command -v psql >/dev/null && return 0
  # Keep the Debian package from creating (and starting) its own cluster on port 5432.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    ci_apt_install postgresql-common || return 1
  fi
  if grep -q '^#\?\s*create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    ci_sudo sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' \
      /etc/postgresql-common/createcluster.conf
  fi
  ci_apt_install postgresql postgresql-client || return 1
  ci_postgres_bindir >/dev/null || ci_die "initdb not found after installing postgresql"
}

# Run a PostgreSQL server binary as the postgres user when we are root.
ci_pg_as_owner() (
  cd / # the postgres user may not be allowed into the caller's folder
  if [ "$(id -u)" -eq 0 ]; then
    exec runuser -u postgres -- "$@"
  else
    exec "$@"
  fi
)

ci_postgres_start() {
  local t0 attempt port dir fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${MSHT_CI_POSTGRES_DURABLE:-}" != 1 ] || fast=""
  t0=$(ci_now_ms)
  [ -z "$CI_PG_DIR" ] || ci_die "PostgreSQL already started ($CI_PG_DIR)" || return 1
  ci_postgres_install || return 1
  CI_PG_BIN="$(ci_postgres_bindir)"
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    ci_die "no 'postgres' user to run PostgreSQL as (install the postgresql package)" || return 1
  fi

  dir="$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-ci-pg.XXXXXX")"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  CI_PG_DIR="$dir"
  mkdir -p "$dir/sock"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/sock"

  if ! ci_pg_as_owner "$CI_PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
    ci_log "initdb failed:"
    sed 's/^/    /' "$dir/initdb.log" >&2
    ci_postgres_stop
    return 1
  fi
  # trust only on loopback TCP and the private unix socket folder
  cat >"$dir/data/pg_hba.conf" <<'EOF'
local   all all              trust
host    all all 127.0.0.1/32 trust
EOF

  for attempt in 1 2 3; do
    port="${MSHT_CI_POSTGRES_PORT:-$(ci_free_port)}" || return 1
    if ci_pg_as_owner "$CI_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock $fast -c max_connections=300" \
      start >"$dir/pg_ctl.log" 2>&1; then
      CI_PG_PORT=$port
      break
    fi
    ci_log "PostgreSQL did not start on port $port (attempt $attempt):"
    sed 's/^/    /' "$dir/postgres.log" >&2 2>/dev/null || true
    [ -z "${MSHT_CI_POSTGRES_PORT:-}" ] || break
  done
  if [ -z "$CI_PG_PORT" ]; then
    ci_postgres_stop
    return 1
  fi

  export MSHT_HUB_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$CI_PG_PORT/postgres"
  if ! psql "$MSHT_HUB_TEST_POSTGRES_URL" -XAtq -c 'select 1' >/dev/null; then
    ci_log "PostgreSQL started but psql cannot connect to $MSHT_HUB_TEST_POSTGRES_URL"
    ci_postgres_stop
    return 1
  fi
  ci_log "PostgreSQL $("$CI_PG_BIN/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$CI_PG_PORT in $(ci_elapsed "$t0") (data $dir)"
  ci_log "  MSHT_HUB_TEST_POSTGRES_URL=$MSHT_HUB_TEST_POSTGRES_URL"
}

ci_postgres_stop() {
  unset MSHT_HUB_TEST_POSTGRES_URL
  [ -n "$CI_PG_DIR" ] || return 0
  local dir=$CI_PG_DIR
  if [ -f "$dir/data/postmaster.pid" ]; then
    ci_pg_as_owner "$CI_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      ci_pg_as_owner "$CI_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 ||
      ci_log "could not stop PostgreSQL in $dir"
  fi
  if [ -n "${MSHT_CI_KEEP_LOGS:-}" ]; then
    ci_log "PostgreSQL stopped; kept $dir"
  else
    rm -rf "$dir"
    ci_log "PostgreSQL stopped"
  fi
  CI_PG_DIR=""
  CI_PG_PORT=""
}

# ---------------------------------------------------------------------------------------------
# oidc-provider (npm) driven by ci/oidc/server.mjs

CI_OIDC_PID=""
CI_OIDC_DIR=""

ci_oidc_install() {
  ci_need_cmd node nodejs || return 1
  ci_need_cmd npm npm || return 1
  ci_need_cmd curl curl || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then
    ci_log "WARNING: node $(node --version) is older than oidc-provider 9 supports (20+, 22 preferred)"
  fi
  # npm ci when node_modules is missing or older than the lock file
  if [ ! -f "$CI_DIR/oidc/node_modules/oidc-provider/package.json" ] ||
    [ "$CI_DIR/oidc/package-lock.json" -nt "$CI_DIR/oidc/node_modules/.package-lock.json" ]; then
    ci_log "npm ci in ci/oidc"
    (cd "$CI_DIR/oidc" && npm ci --no-audit --no-fund --loglevel=error) >&2 || return 1
  fi
}

ci_oidc_discovery_ok() {
  curl -fsS --max-time 2 "$1/.well-known/openid-configuration" | grep -q "\"issuer\":\"$1\""
}

ci_oidc_start() {
  local t0 attempt port issuer
  t0=$(ci_now_ms)
  [ -z "$CI_OIDC_PID" ] || ci_die "oidc-provider already started (pid $CI_OIDC_PID)" || return 1
  ci_oidc_install || return 1
  CI_OIDC_DIR="$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-ci-oidc.XXXXXX")"

  export MSHT_HUB_TEST_OIDC_CLIENT_ID="${MSHT_CI_OIDC_CLIENT_ID:-msht-interop}"
  export MSHT_HUB_TEST_OIDC_CLIENT_SECRET="${MSHT_CI_OIDC_CLIENT_SECRET:-interop-secret-0123456789abcdefghij}"
  export MSHT_HUB_TEST_OIDC_AUDIENCE="${MSHT_CI_OIDC_AUDIENCE:-urn:msht-hub:api}"

  for attempt in 1 2 3; do
    port="${MSHT_CI_OIDC_PORT:-$(ci_free_port)}" || return 1
    issuer="http://127.0.0.1:$port"
    OIDC_CLIENT_ID="$MSHT_HUB_TEST_OIDC_CLIENT_ID" \
      OIDC_CLIENT_SECRET="$MSHT_HUB_TEST_OIDC_CLIENT_SECRET" \
      OIDC_AUDIENCE="$MSHT_HUB_TEST_OIDC_AUDIENCE" \
      node "$CI_DIR/oidc/server.mjs" "$port" >"$CI_OIDC_DIR/oidc.log" 2>&1 &
    CI_OIDC_PID=$!
    if ci_wait_for "oidc-provider" "$CI_OIDC_PID" 30 "$CI_OIDC_DIR/oidc.log" \
      ci_oidc_discovery_ok "$issuer"; then
      break
    fi
    ci_kill_pid "$CI_OIDC_PID" oidc-provider
    CI_OIDC_PID=""
    [ -z "${MSHT_CI_OIDC_PORT:-}" ] || break
  done
  if [ -z "$CI_OIDC_PID" ]; then
    ci_oidc_stop
    return 1
  fi

  export MSHT_HUB_TEST_OIDC_ISSUER="$issuer"
  ci_log "oidc-provider $(node -p 'require("'"$CI_DIR"'/oidc/node_modules/oidc-provider/package.json").version') ready at $issuer (pid $CI_OIDC_PID) in $(ci_elapsed "$t0")"
  ci_log "  MSHT_HUB_TEST_OIDC_ISSUER=$MSHT_HUB_TEST_OIDC_ISSUER"
  ci_log "  MSHT_HUB_TEST_OIDC_CLIENT_ID=$MSHT_HUB_TEST_OIDC_CLIENT_ID"
  ci_log "  MSHT_HUB_TEST_OIDC_CLIENT_SECRET=$MSHT_HUB_TEST_OIDC_CLIENT_SECRET"
  ci_log "  MSHT_HUB_TEST_OIDC_AUDIENCE=$MSHT_HUB_TEST_OIDC_AUDIENCE"
}

ci_oidc_stop() {
  unset MSHT_HUB_TEST_OIDC_ISSUER MSHT_HUB_TEST_OIDC_CLIENT_ID MSHT_HUB_TEST_OIDC_CLIENT_SECRET \
    MSHT_HUB_TEST_OIDC_AUDIENCE
  if [ -n "$CI_OIDC_PID" ]; then
    ci_kill_pid "$CI_OIDC_PID" oidc-provider server.mjs
    CI_OIDC_PID=""
    ci_log "oidc-provider stopped"
  fi
  if [ -n "$CI_OIDC_DIR" ]; then
    if [ -n "${MSHT_CI_KEEP_LOGS:-}" ]; then ci_log "kept $CI_OIDC_DIR"; else rm -rf "$CI_OIDC_DIR"; fi
    CI_OIDC_DIR=""
  fi
}

# ---------------------------------------------------------------------------------------------
# aiosmtpd: SMTP sink writing every message to a Maildir (DIR/new/).

CI_SMTP_PID=""
CI_SMTP_DIR=""
CI_AIOSMTPD_VERSION="1.4.6"

# Print a python that can `import aiosmtpd` (version $CI_AIOSMTPD_VERSION), installing it into a
# venv under ci/.venv when the system python lacks it.
ci_smtp_python() {
  local py venv="$CI_DIR/.venv"
  for py in "$venv/bin/python" python3; do
    if command -v "$py" >/dev/null 2>&1 &&
      [ "$("$py" -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null)" = "$CI_AIOSMTPD_VERSION" ]; then
      command -v "$py"
      return 0
    fi
  done
  ci_need_cmd python3 python3 || return 1
  if [ ! -x "$venv/bin/python" ]; then
    ci_log "creating $venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      ci_apt_install python3-venv || return 1
      python3 -m venv "$venv" >&2 || return 1
    fi
  fi
  ci_log "pip install aiosmtpd==$CI_AIOSMTPD_VERSION into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "aiosmtpd==$CI_AIOSMTPD_VERSION" >&2 || return 1
  echo "$venv/bin/python"
}

ci_smtp_start() {
  local t0 attempt port py
  t0=$(ci_now_ms)
  [ -z "$CI_SMTP_PID" ] || ci_die "aiosmtpd already started (pid $CI_SMTP_PID)" || return 1
  py="$(ci_smtp_python)" || return 1
  CI_SMTP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/msht-hub-ci-smtp.XXXXXX")"
  # a complete Maildir: mailbox.Maildir only creates tmp/new/cur when the folder itself is new
  mkdir -p "$CI_SMTP_DIR/maildir/tmp" "$CI_SMTP_DIR/maildir/new" "$CI_SMTP_DIR/maildir/cur"

  for attempt in 1 2 3; do
    port="${MSHT_CI_SMTP_PORT:-$(ci_free_port)}" || return 1
    # -n: do not setuid to nobody (needed as root). `$!` is the python process itself.
    "$py" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox \
      "$CI_SMTP_DIR/maildir" >"$CI_SMTP_DIR/smtp.log" 2>&1 &
    CI_SMTP_PID=$!
    if ci_wait_for "aiosmtpd" "$CI_SMTP_PID" 30 "$CI_SMTP_DIR/smtp.log" \
      ci_smtp_banner_ok "$port"; then
      break
    fi
    ci_kill_pid "$CI_SMTP_PID" aiosmtpd
    CI_SMTP_PID=""
    [ -z "${MSHT_CI_SMTP_PORT:-}" ] || break
  done
  if [ -z "$CI_SMTP_PID" ]; then
    ci_smtp_stop
    return 1
  fi

  export MSHT_HUB_TEST_SMTP_URL="smtp://127.0.0.1:$port"
  export MSHT_HUB_TEST_SMTP_MAILDIR="$CI_SMTP_DIR/maildir"
  ci_log "aiosmtpd $CI_AIOSMTPD_VERSION ready on 127.0.0.1:$port (pid $CI_SMTP_PID) in $(ci_elapsed "$t0")"
  ci_log "  MSHT_HUB_TEST_SMTP_URL=$MSHT_HUB_TEST_SMTP_URL"
  ci_log "  MSHT_HUB_TEST_SMTP_MAILDIR=$MSHT_HUB_TEST_SMTP_MAILDIR"
}

# ci_smtp_banner_ok PORT : the server answers with a 220 greeting.
ci_smtp_banner_ok() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  IFS= read -r -t 2 line <&3 || exit 1
  printf 'QUIT\r\n' >&3 2>/dev/null
  [[ "$line" == 220* ]]
)

ci_smtp_stop() {
  unset MSHT_HUB_TEST_SMTP_URL MSHT_HUB_TEST_SMTP_MAILDIR
  if [ -n "$CI_SMTP_PID" ]; then
    ci_kill_pid "$CI_SMTP_PID" aiosmtpd aiosmtpd
    CI_SMTP_PID=""
    ci_log "aiosmtpd stopped"
  fi
  if [ -n "$CI_SMTP_DIR" ]; then
    if [ -n "${MSHT_CI_KEEP_LOGS:-}" ]; then ci_log "kept $CI_SMTP_DIR"; else rm -rf "$CI_SMTP_DIR"; fi
    CI_SMTP_DIR=""
  fi
}

# ---------------------------------------------------------------------------------------------

# Stop everything this shell started. Safe to call several times (use it in `trap ... EXIT`).
ci_stop_all() {
  ci_smtp_stop || true
  ci_oidc_stop || true
  ci_postgres_stop || true
}

# ---------------------------------------------------------------------------------------------
# Command-line front end shared by ci/postgres.sh, ci/oidc.sh and ci/smtp.sh:
#
#   ci/X.sh run CMD...   start, run CMD with the variables exported, stop (even on failure)
#   ci/X.sh start        start in the background, print `export VAR=...` lines on stdout
#                        (use: eval "$(ci/X.sh start)"); state goes to $MSHT_CI_STATE_DIR
#   ci/X.sh env          print the `export` lines of the running instance again
#   ci/X.sh stop         stop the instance recorded by `start`

CI_STATE_DIR="${MSHT_CI_STATE_DIR:-${TMPDIR:-/tmp}/msht-hub-ci-state-$(id -u)-$(printf %s "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" | cksum | cut -d" " -f1)}"

ci_service_vars() {
  case $1 in
    postgres) echo "CI_PG_DIR CI_PG_PORT CI_PG_BIN MSHT_HUB_TEST_POSTGRES_URL" ;;
    oidc) echo "CI_OIDC_PID CI_OIDC_DIR MSHT_HUB_TEST_OIDC_ISSUER MSHT_HUB_TEST_OIDC_CLIENT_ID MSHT_HUB_TEST_OIDC_CLIENT_SECRET MSHT_HUB_TEST_OIDC_AUDIENCE" ;;
    smtp) echo "CI_SMTP_PID CI_SMTP_DIR MSHT_HUB_TEST_SMTP_URL MSHT_HUB_TEST_SMTP_MAILDIR" ;;
    *) return 1 ;;
  esac
}

ci_service_print_exports() {
  local v
  for v in $(ci_service_vars "$1"); do
    case $v in MSHT_HUB_TEST_*) printf 'export %s=%q\n' "$v" "${!v}" ;; esac
  done
}

ci_service_main() {
  local name=$1 cmd=${2:-} state
  state="$CI_STATE_DIR/$name.state"
  shift 2 || shift $#
  case $cmd in
    start)
      [ ! -e "$state" ] || ci_die "$name already started by ci/$name.sh (state $state); stop it first" || return 1
      "ci_${name}_start" || return 1
      mkdir -p "$CI_STATE_DIR"
      local v
      for v in $(ci_service_vars "$name"); do printf '%s=%q\n' "$v" "${!v}"; done >"$state"
      ci_service_print_exports "$name"
      ;;
    env)
      [ -e "$state" ] || ci_die "$name is not running (no $state)" || return 1
      # shellcheck disable=SC1090
      source "$state"
      ci_service_print_exports "$name"
      ;;
    stop)
      if [ ! -e "$state" ]; then
        ci_log "$name: nothing to stop (no $state)"
        return 0
      fi
      # shellcheck disable=SC1090
      source "$state"
      "ci_${name}_stop"
      rm -f "$state"
      rmdir "$CI_STATE_DIR" 2>/dev/null || true
      ;;
    run)
      [ $# -gt 0 ] || ci_die "usage: ci/$name.sh run COMMAND [ARGS...]" || return 1
      # shellcheck disable=SC2064 # expand the function name now
      trap "ci_${name}_stop" EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
      "ci_${name}_start" || return 1
      "$@"
      ;;
    *)
      echo "usage: ci/$name.sh start|stop|env|run COMMAND [ARGS...]" >&2
      return 2
      ;;
  esac
}
