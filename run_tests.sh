#!/usr/bin/env bash
# The test command: bootstraps .venv if needed, then runs pytest (fast tests; `-m slow` for the rest).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec python -m pytest "$@"
