#!/usr/bin/env bash
# Mutation testing (cosmic-ray) of the modules the paper's numbers rest on, each against its tests.
# Usage: scripts/mutation.sh [MODULE ...]   MODULE as in the table below, e.g. gan/pool (default: all).
# Works in a scratch copy of the checkout (cosmic-ray edits files in place); writes, per module,
# mutation/<module>.txt (every mutant: killed or survived, with its diff) and prints the killed share.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/bootstrap.sh
python -m pip show cosmic-ray >/dev/null 2>&1 || python -m pip install -q "cosmic-ray==8.7.0"

declare -A TESTS=(  # module (under cyclegan/) -> the tests that target it; --noconftest where they need
                   # neither TensorFlow nor the shared fixtures (tests/conftest.py imports TensorFlow: ~10 s a mutant)
    [gan/pool]="tests/test_pool.py"
    [gan/losses]="tests/test_losses.py"
    [gan/schedules]="--noconftest tests/test_schedules.py"
    [gan/adam]="tests/test_adam.py tests/test_update_order.py"
    [gan/update_orders]="tests/test_update_order.py tests/test_bench.py::test_exp1_flops_match_a_count_by_hand"
    [grid_scores]="--noconftest tests/test_grid_scores.py tests/test_artifacts.py"
    [analysis/onset/scores]="--noconftest tests/test_onset.py"
    [analysis/readers/roc]="--noconftest tests/test_roc.py"
    [analysis/readers/mrmc]="--noconftest tests/test_mrmc.py"
    [analysis/readers/design]="--noconftest tests/test_design.py"
    [data/synthetic_masks]="--noconftest tests/data/test_synthetic_masks.py"
)
MODULES=("$@")
[ ${#MODULES[@]} -gt 0 ] || MODULES=(gan/pool gan/losses gan/schedules gan/adam gan/update_orders grid_scores
                                     analysis/onset/scores analysis/readers/roc analysis/readers/mrmc
                                     analysis/readers/design data/synthetic_masks)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
git ls-files -z | tar -c --null -T - | tar -x -C "$SCRATCH"
mkdir -p "$ROOT/mutation"
cd "$SCRATCH"
for module in "${MODULES[@]}"; do
    [ -n "${TESTS[$module]:-}" ] || { echo "unknown module $module; known: ${!TESTS[*]}" >&2; exit 2; }
    name=${module//\//.}
    cat > "$name.toml" <<CONFIG
[cosmic-ray]
module-path = "cyclegan/$module.py"
timeout = 300.0
excluded-modules = []
test-command = "python -m pytest -x -q ${TESTS[$module]}"
[cosmic-ray.distributor]
name = "local"
CONFIG
    cosmic-ray init "$name.toml" "$name.sqlite"
    cosmic-ray --verbosity ERROR baseline "$name.toml"
    cosmic-ray exec "$name.toml" "$name.sqlite"
    cr-report --show-output --show-diff "$name.sqlite" > "$ROOT/mutation/$name.txt"
    echo "$module: $(tail -n 3 "$ROOT/mutation/$name.txt" | tr '\n' ' ')"
done
