#!/usr/bin/env bash
# Run the lint and the test suite the way CI does: bash scripts/test.sh [pytest arguments]
# R1CI_DATA_DIR defaults to ../shared/data next to the checkout; torch uses one thread per process.
# "No tests collected" (pytest exit status 5) counts as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export R1CI_DATA_DIR="${R1CI_DATA_DIR:-$(realpath -m ../shared/data)}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# Lint and format first (ruff, configured in pyproject.toml): fast, and a failure names file and line.
"${PYTHON:-python3}" -m ruff check --no-cache .
"${PYTHON:-python3}" -m ruff format --no-cache --check .

rc=0
"${PYTHON:-python3}" -m pytest -q -rs "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "[test] error: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
