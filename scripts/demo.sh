#!/usr/bin/env bash
# Installs seatgate and its simulator into .venv (when missing or out of date) and runs
# `seatgate demo`: the Jira simulator, a private Redis, one grant worker and one proxy.
# Extra arguments go to `seatgate demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "scripts/demo.sh: needs Python >= 3.11 as $PYTHON (found: $("$PYTHON" --version 2>&1 || echo none)); set PYTHON=/path/to/python3.11 or newer" >&2
    exit 2
  fi
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    echo "scripts/demo.sh: $PYTHON -m venv failed (on Debian or Ubuntu: apt-get install python3-venv)" >&2
    exit 2
  fi
fi
# A stamp of the package definitions: the source folders import from the repository root
# without being installed, so an import check cannot tell whether the dependencies are.
stamp=.venv/.seatgate-demo-installed
want=$(cat pyproject.toml simulator/pyproject.toml | cksum)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e . -e ./simulator
  echo "$want" >"$stamp"
fi
exec .venv/bin/python -m seatgate demo "$@"
