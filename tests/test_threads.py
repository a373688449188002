"""The CPU thread counts: the rule, the environment override, and that a process really runs with them."""

import json
import os
import subprocess
import sys

import pytest

from cyclegan.runtime.threads import ENVIRONMENT_VARIABLE, cpu_cores, layout


@pytest.mark.parametrize("cores, expected", [(1, (1, 1)), (2, (2, 1)), (3, (2, 1)), (8, (2, 4)), (64, (2, 32))])
def test_each_of_two_concurrent_ops_gets_its_share_of_the_cores(cores, expected):
    assert layout(cores, gpu_visible=False, setting=None) == expected
    inter_op, intra_op = expected
    assert inter_op * intra_op <= cores or cores == 1


def test_tensorflow_keeps_its_defaults_where_a_gpu_runs_the_step_or_the_user_asks():
    assert layout(16, gpu_visible=True, setting=None) is None
    assert layout(2, gpu_visible=False, setting="tensorflow") is None
    assert layout(2, gpu_visible=False, setting=" TensorFlow ") is None


def test_the_environment_sets_both_counts_and_refuses_anything_else():
    assert layout(2, gpu_visible=False, setting="3,2") == (3, 2)
    assert layout(2, gpu_visible=True, setting="1, 4") == (1, 4)
    for bad in ("2", "2,0", "a,b", "2,1,1", "-1,2"):
        with pytest.raises(ValueError, match=f"{ENVIRONMENT_VARIABLE}=.*two positive counts INTER,INTRA"):
            layout(2, gpu_visible=False, setting=bad)


SHOW_THREADS = """
import json
from cyclegan.runtime import threads
import tensorflow as tf
threads.configure()
tf.constant(1.0) + 1.0  # the runtime starts with the counts
threads.configure()  # a second call in a running process changes nothing and does not fail
print(json.dumps(threads.describe()))
"""


@pytest.mark.parametrize("setting", [None, "3,1"])
def test_a_process_runs_with_the_counts_it_configured(setting):
    env = {key: value for key, value in os.environ.items() if key != ENVIRONMENT_VARIABLE}
    if setting:
        env[ENVIRONMENT_VARIABLE] = setting
    done = subprocess.run([sys.executable, "-c", SHOW_THREADS], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {None: layout(cpu_cores(), False, None), "3,1": (3, 1)}[setting]
    assert (counts["inter_op"], counts["intra_op"]) == expected
