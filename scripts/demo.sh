#!/usr/bin/env bash
# Installs seatgate and its simulator into .venv (when missing or out of date) and runs
# `seatgate demo`: the Jira simulator, a private Redis, one grant worker and one proxy.
# Extra arguments go to `seatgate demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
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
