#!/usr/bin/env bash
# Start/stop the throw-away smtp instance used by msht-hub's tests. See ci/lib.sh.
#   ci/smtp.sh run COMMAND...   |   eval "$(ci/smtp.sh start)" ... ci/smtp.sh stop
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_service_main smtp "$@"
