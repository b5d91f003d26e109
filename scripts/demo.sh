#!/usr/bin/env bash
# Installs seatgate into .venv (if needed) and runs `seatgate demo`: the Jira simulator,
# a private Redis, one grant worker and one proxy. Extra arguments go to `seatgate demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import seatgate, proxy_addon, grant_worker" 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
exec .venv/bin/python -m seatgate demo "$@"
