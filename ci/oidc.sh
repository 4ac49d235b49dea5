#!/usr/bin/env bash
# Start/stop the throw-away oidc instance used by msht-hub's tests. See ci/lib.sh.
#   ci/oidc.sh run COMMAND...   |   eval "$(ci/oidc.sh start)" ... ci/oidc.sh stop
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_service_main oidc "$@"
