#!/usr/bin/env bash
# GPU readiness in one go (under 8 minutes on one H100 / H200 once the Python environment is set up):
#   1. bench exp1 and exp2, each in float32, bfloat16, and XLA + bfloat16
#      (--set train.mixed_precision=bfloat16 --set train.jit_compile=true);
#   2. a 200-step exp1 training with MirroredStrategy on all visible GPUs, on the built-in phantom
#      prepared as scripts/run_experiment.sh prepares it;
#   3. the GPU-marked tests (pytest -m gpu).
# Writes one JSON file of results (--out, default gpu_check.json) and prints a summary; exits 0 when
# every phase ran (the speed targets are reported in the JSON, not required).
#
# Usage: benchmarks/gpu_check.sh [--smoke] [--out FILE] [--budget-s S] [--only CASES] [--work-dir DIR] [--dry-run]
#   --smoke      tiny sizes and few steps: checks the whole path on any machine, CPU-only included
#   --budget-s   seconds for everything (default 450, 420 with --smoke); a phase that runs out is
#                stopped and recorded as such, and later phases keep their reserved time
#   --only       comma-separated subset: exp1-float32, exp1-bfloat16, exp1-xla-bfloat16, the same
#                for exp2, train, gpu-tests
#   --dry-run    write the plan (commands, cases) into the JSON file, run nothing
# benchmarks/gpu_check.py documents every field of the JSON file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bootstrap.sh
exec python -m benchmarks.gpu_check "$@"
