#!/usr/bin/env bash
# Installs what the tests need and runs them all. Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real: redis-server (integration), nginx (front
# proxy test) and Debian's chromium (browser tests). Installed only when missing.
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing ${need[*]}: install them (as root: apt-get install ${need[*]}); tests that need them will fail" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]' -e ./simulator

# Static checks first: formatting, lint and types over the whole tree (pyproject.toml says
# what each covers). Any failure stops here with the tool's own report.
for check in "ruff format --check ." "ruff check ." "mypy"; do
  if ! .venv/bin/python -m $check >/tmp/seatgate-check.$$ 2>&1; then
    cat /tmp/seatgate-check.$$ >&2
    rm -f /tmp/seatgate-check.$$
    echo "static check failed: $check" >&2
    exit 1
  fi
done
rm -f /tmp/seatgate-check.$$
echo "static checks passed: ruff format, ruff check, mypy"

set +e
.venv/bin/python -m pytest -p no:cacheprovider --durations=15 "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit $rc
