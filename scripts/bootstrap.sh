#!/usr/bin/env bash
# Sourced by the project's scripts: puts the right Python on PATH.
# Uses the active virtualenv if there is one; otherwise creates .venv (once, and again when
# requirements.txt changes) and installs requirements.txt into it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${VIRTUAL_ENV:-}" ]]; then
  echo "Using the active virtualenv $VIRTUAL_ENV" >&2
else
  venv="$root/.venv"
  stamp="$venv/.requirements.sha256"
  wanted="$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)"
  if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    echo "Setting up $venv from requirements.txt (first run: a few minutes) ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt"
    echo "$wanted" > "$stamp"
  fi
  export VIRTUAL_ENV="$venv"
  export PATH="$venv/bin:$PATH"
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
