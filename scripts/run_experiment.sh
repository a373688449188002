#!/usr/bin/env bash
# Usage: scripts/run_experiment.sh EXPERIMENT [--run-dir DIR] [--data DIR] [--quick] [--set K=V ...] [train flags]
# Bootstraps Python, makes and prepares the built-in phantom when no data is given, then trains.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
experiment="$1"; shift
config="experiments/$experiment.json"
run_dir=""; data=""; quick=0; overrides=(); passthrough=()
while (($#)); do
  case "$1" in
    --run-dir) run_dir="$2"; shift 2 ;;
    --run-dir=*) run_dir="${1#*=}"; shift ;;
    --data) data="$2"; shift 2 ;;
    --data=*) data="${1#*=}"; shift ;;
    --quick) quick=1; shift ;;
    --set) overrides+=("$2"); shift 2 ;;
    --set=*) overrides+=("${1#*=}"); shift ;;
    -h|--help)
      cat <<USAGE
Usage: $(basename "${RUN_SCRIPT:-$0}") [--run-dir DIR] [--data DIR] [--quick] [--set section.key=value ...] [train flags]
Trains experiments/$experiment.json (resuming when --run-dir already holds checkpoints).
  --run-dir DIR   run folder (default runs/$experiment, or runs/$experiment-quick with --quick)
  --data DIR      prepared dataset; without it the built-in phantom is made and prepared
  --quick         the same architecture family, small: 64-pixel images, 8 filters,
                  2 residual blocks, 200 steps (minutes on 2 CPU cores)
  --set K=V       override any config field, e.g. --set train.max_steps=70000
Other flags go to 'python -m cyclegan train' (e.g. --strategy mirrored, --no-progress).
USAGE
      exit 0 ;;
    *) passthrough+=("$1"); shift ;;
  esac
done
source scripts/bootstrap.sh

if ((quick)); then
  # Same architecture family, small: 64-pixel images, 8 filters, 2 residual blocks, 200 steps.
  width=64; [[ "$experiment" == exp2* ]] && width=52
  quick_overrides=(data.height=64 "data.width=$width" data.eval_images=2 generator.filters=8
    generator.residual_blocks=2 discriminator.filters=8 train.max_steps=200 train.checkpoint_every=100
    train.image_every=25 train.log_every=10)
  overrides=("${quick_overrides[@]}" "${overrides[@]}")
  run_dir="${run_dir:-runs/$experiment-quick}"
fi
run_dir="${run_dir:-runs/$experiment}"
set_args=(); for item in "${overrides[@]}"; do set_args+=(--set "$item"); done

if [[ -z "$data" ]]; then
  size="$(python -c 'import sys; from cyclegan.runtime.startup import start_tensorflow_quietly; start_tensorflow_quietly()
from cyclegan.config import load_config
c = load_config(sys.argv[1], sys.argv[2:]); print(f"{c.data.height}x{c.data.width}")' "$config" "${overrides[@]}")"
  data="data/prepared/phantom-$size"
  current="$(python -c 'import json, sys; from cyclegan.data.dataset import MANIFEST_VERSION
print(int(json.load(open(sys.argv[1])).get("version") == MANIFEST_VERSION))' "$data/manifest.json" 2>/dev/null || echo 0)"
  if [[ "$current" != 1 ]]; then
    echo "No --data given and no current prepared phantom at $data: making the built-in synthetic phantom." >&2
    echo "(Real datasets: see data/README.md, then pass --data data/prepared/NAME.)" >&2
    if [[ ! -d data/phantom/healthy ]]; then
      python -m cyclegan phantom --out data/phantom --count 48 --seed 42
    fi
    python -m cyclegan prepare --source folder:data/phantom --size "$size" --out "$data" --overwrite
  fi
fi

python -m cyclegan train --config "$config" --data "$data" --run-dir "$run_dir" "${set_args[@]}" "${passthrough[@]}"
echo "Watch it: tensorboard --logdir $run_dir/tensorboard --samples_per_plugin images=100000"
