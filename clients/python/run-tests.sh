#!/usr/bin/env bash
# The Python client's checks, from scratch: a virtual environment in clients/python/.venv with the
# package installed from its pyproject.toml (and the pinned test dependencies), mypy in strict
# mode on the package, the examples and the tests, then pytest, whose tests start the real keygate
# binary: $KEYGATE_BIN, by default target/debug/keygate of this repository
# (cargo build -p keygate --bin keygate).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
KEYGATE_BIN="${KEYGATE_BIN:-$root/target/debug/keygate}"
case "$KEYGATE_BIN" in
    /*) ;;
    *) KEYGATE_BIN="$PWD/$KEYGATE_BIN" ;;
esac
export KEYGATE_BIN
if [ ! -x "$KEYGATE_BIN" ]; then
    echo "no keygate binary at $KEYGATE_BIN: run 'cargo build -p keygate --bin keygate' or set KEYGATE_BIN" >&2
    exit 1
fi

cd "$here"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
if ! .venv/bin/python -c "" 2>/dev/null; then
    rm -rf .venv
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -r requirements-test.txt
# A real install, as a user makes it: the tests import the installed package.
.venv/bin/python -m pip install --quiet --force-reinstall --no-deps ".[fastapi,flask,starlette]"
.venv/bin/python -m pip check

echo "mypy (strict): package, examples, tests"
.venv/bin/python -m mypy
echo "pytest, against $KEYGATE_BIN"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
