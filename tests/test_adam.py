"""TurnTakingAdam against TF1's `tf.train.AdamOptimizer` (tests/helpers.py, written from its documented update).

TF1's Adam keeps one beta-power pair per instance and advances it after every `apply_gradients`
call; one `apply` of a TurnTakingAdam built with n turns must equal n such calls in turn order.
The rates here are large and the gradients random, so that a wrong t, a wrong moment or a wrong
bias correction moves the weights far beyond float32 rounding.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.gan.adam import TurnTakingAdam
from tests.helpers import TF1Adam

SHAPES = [(3, 2), (4,), (2, 2, 2)]  # one variable per network, updated in turns 0, 1, 2


def _variables(rng):
    return [keras.Variable(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _run(turns, steps, rates, beta_1=0.5, beta_2=0.999, epsilon=1e-3, start=0, seed=0):
    """Weights after `steps` applies of TurnTakingAdam over `turns` (lists of variable indices), and
    the TF1 reference's (float64) after the same gradients, one apply_gradients call per turn."""
    rng = np.random.default_rng(seed)
    variables = _variables(rng)
    weights = [tf.Variable(variable.numpy().astype(float)) for variable in variables]
    adam = TurnTakingAdam(rates[0], beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    adam.build_turns([[variables[index] for index in turn] for turn in turns])
    adam.iterations.assign(start)
    reference = TF1Adam(beta_1, beta_2, epsilon, t=start * len(turns))
    order = [index for turn in turns for index in turn]
    for step in range(steps):
        gradients = {index: rng.normal(scale=0.1 + index, size=SHAPES[index]).astype("float32") for index in order}
        adam.learning_rate = rates[step]
        adam.apply([gradients[index] for index in order], [variables[index] for index in order])
        for turn in turns:
            reference.apply_gradients([gradients[index].astype(float) for index in turn],
                                      [weights[index] for index in turn], rates[step])
    return [variable.numpy() for variable in variables], [weight.numpy() for weight in weights]


def _assert_close(actual, expected):
    for index, (got, want) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"variable {index}")


@pytest.mark.parametrize("turns", [[[0, 1, 2]], [[0], [1, 2]], [[0], [1], [2]], [[2, 0], [1]]])
@pytest.mark.parametrize("beta_2", [0.999, 0.3])  # the originals' and one below 0.5, where 1 % beta is not 1 - beta
def test_one_apply_is_one_tf1_apply_gradients_call_per_turn(turns, beta_2):
    actual, expected = _run(turns, steps=4, rates=[0.05, 0.05, 0.02, 0.08], beta_2=beta_2)
    _assert_close(actual, expected)


def test_one_turn_is_keras_adam():
    rng = np.random.default_rng(1)
    ours, theirs = _variables(rng), _variables(np.random.default_rng(1))
    turn_taking = TurnTakingAdam(0.03, beta_1=0.5, beta_2=0.9, epsilon=1e-4)
    turn_taking.build_turns([ours])
    keras_adam = keras.optimizers.Adam(0.03, beta_1=0.5, beta_2=0.9, epsilon=1e-4)
    keras_adam.build(theirs)
    for _ in range(5):
        gradients = [rng.normal(size=shape).astype("float32") for shape in SHAPES]
        turn_taking.apply(gradients, ours)
        keras_adam.apply(gradients, theirs)
    _assert_close([v.numpy() for v in ours], [v.numpy() for v in theirs])


def test_late_steps_keep_the_bias_correction():
    """After ~700 calls beta_2^t falls below 0.5 (beta_2 = 0.999) and beta_1^t is 0: corrections that agree
    with 1 − beta^t only early in a run show there."""
    actual, expected = _run([[0], [1, 2]], steps=2, rates=[0.05, 0.05], start=400)
    _assert_close(actual, expected)
    actual, expected = _run([[0, 1, 2]], steps=1, rates=[0.05], beta_1=0.9, start=3000)
    _assert_close(actual, expected)


def test_the_turn_counter_is_not_the_step_counter():
    """Two turns: the second network's t is 2k, not k; the reference with one call per apply tells them apart."""
    actual, _ = _run([[0], [1, 2]], steps=3, rates=[0.05] * 3, beta_2=0.9)
    _, one_call = _run([[0, 1, 2]], steps=3, rates=[0.05] * 3, beta_2=0.9)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(actual[1:], one_call[1:])) > 1e-3
