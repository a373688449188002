#!/usr/bin/env bash
# Experiment 2 of the paper. Flags: --run-dir DIR, --data DIR, --quick, --set section.key=value.
RUN_SCRIPT="$0" exec "$(dirname "$0")/scripts/run_experiment.sh" exp2 "$@"
