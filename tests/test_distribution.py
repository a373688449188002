import json
import subprocess
import sys
from pathlib import Path

import pytest


def test_mirrored_step_equals_one_device_with_the_global_batch():
    script = Path(__file__).with_name("distributed_step.py")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["steps"] == [1, 1]
    assert result["largest_update"] > 1e-4  # the step changed the weights
    assert result["max_weight_difference"] < 1e-5
    assert result["mirrored_loss"] == pytest.approx(result["single_loss"], rel=1e-5)
    # train.scale_lr multiplies both learning rates by the replica count (exp1: 2e-4 each)
    assert result["scaled_lrs"] == pytest.approx({"generator": 4e-4, "discriminator": 4e-4})
