#!/usr/bin/env bash
# Start/stop the throw-away postgres instance used by msht-hub's tests. See ci/lib.sh.
#   ci/postgres.sh run COMMAND...   |   eval "$(ci/postgres.sh start)" ... ci/postgres.sh stop
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_service_main postgres "$@"
