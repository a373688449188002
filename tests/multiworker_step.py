"""Run as a script: `train` a tiny CycleGAN in this process, as one worker of a localhost cluster
(TF_CONFIG set by the caller, per-replica batch 1) or alone (`--batch-size 2`, the workers'
combined batch).

    python -m tests.multiworker_step DATA RUN_DIR MAX_STEPS BATCH_SIZE    (from the repository root)

Prints one JSON line: the step range trained, whether this process was the chief, and its PID. The
optimizers are swapped for plain SGD: Adam's first steps hardly depend on the gradient's scale,
so only SGD shows whether the workers' gradients add up to one process's (see distributed_step.py).
"""

import json
import os
import sys

from cyclegan.gan import model as model_module
from cyclegan.train.training import train
from tests.helpers import sgd, tiny_config

SGD_LEARNING_RATE = 0.005  # small enough that 3 steps stay far from chaotic growth of float differences


def main():
    data, run_dir, max_steps, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    model_module.CycleGAN._adam = lambda self, name, turns: sgd(name, turns)
    config = tiny_config("train.pool_size=0", f"train.max_steps={max_steps}", f"train.batch_size={batch_size}",
                         "train.image_every=100", f"train.generator_lr={SGD_LEARNING_RATE}",
                         f"train.discriminator_lr={SGD_LEARNING_RATE}")
    result = train(config, data, run_dir, progress=False)
    print(json.dumps({"start_step": result.start_step, "end_step": result.end_step,
                      "chief": result.checkpoint is not None, "pid": os.getpid()}))


if __name__ == "__main__":
    main()
