import numpy as np
import pytest
import tensorflow as tf

from cyclegan.config import config_from_dict, load_config
from cyclegan.gan import losses

HEALTHY = np.array([[0.5, -0.5], [1.0, 0.0]], np.float32).reshape(1, 2, 2, 1)
CANCER = np.array([[0.0, 0.0], [0.25, -1.0]], np.float32).reshape(1, 2, 2, 1)
FAKE_CANCER = np.array([[0.5, 0.5], [0.0, 0.0]], np.float32).reshape(1, 2, 2, 1)
FAKE_HEALTHY = np.array([[0.0, 1.0], [0.25, -1.0]], np.float32).reshape(1, 2, 2, 1)
CYCLED_HEALTHY = np.array([[0.0, -0.5], [1.0, 1.0]], np.float32).reshape(1, 2, 2, 1)
CYCLED_CANCER = np.array([[0.0, 0.5], [0.25, -1.0]], np.float32).reshape(1, 2, 2, 1)
# By hand: cycle_h = (0.5 + 0 + 0 + 1) / 4 = 0.375; cycle_c = 0.5 / 4 = 0.125
# identity_h = |H - FC| = (0 + 1 + 1 + 0) / 4 = 0.5; identity_c = |C - FH| = (0 + 1 + 0 + 0) / 4 = 0.25


def test_lsgan_terms():
    disc = tf.constant([[0.0, 2.0], [1.0, 0.5]])
    assert float(losses.generator_adversarial(disc, 1.0)) == pytest.approx((1 + 1 + 0 + 0.25) / 4)
    assert float(losses.generator_adversarial(disc, 0.5)) == pytest.approx(0.5 * 2.25 / 4)
    assert float(losses.discriminator_real(disc, 0.5)) == pytest.approx(0.5 * 2.25 / 4)
    assert float(losses.discriminator_fake(disc, 0.5)) == pytest.approx(0.5 * (0 + 4 + 1 + 0.25) / 4)


def _objective(config):
    return {k: float(v) for k, v in losses.cycle_objective(
        config.loss, HEALTHY, CANCER, FAKE_CANCER, FAKE_HEALTHY, CYCLED_HEALTHY, CYCLED_CANCER).items()}


def test_exp1_cycle_is_a_sum_without_identity():
    terms = _objective(config_from_dict({}))
    assert terms["cycle_healthy"] == pytest.approx(0.375)
    assert terms["cycle_cancer"] == pytest.approx(0.125)
    assert terms["cycle_total"] == pytest.approx(10 * 0.375 + 10 * 0.125)
    assert "identity_healthy" not in terms


def test_the_experiment_files_reductions_are_applied():
    """Read from experiments/*.json, as runs read them (strings equal to, not the same as, the code's)."""
    for name, cycle_total in (("exp1", 10 * (0.375 + 0.125)), ("exp2", 10 * (0.375 + 0.125) / 2)):  # no identity
        assert _objective(load_config(f"experiments/{name}.json"))["cycle_total"] == pytest.approx(cycle_total)


def test_exp2_cycle_is_a_mean_plus_identity():
    config = config_from_dict({"loss": {"cycle_reduction": "mean", "identity_weight": 0.5}})
    terms = _objective(config)
    assert terms["identity_healthy"] == pytest.approx(0.5)
    assert terms["identity_cancer"] == pytest.approx(0.25)
    assert terms["cycle_total"] == pytest.approx(10 * ((0.375 + 0.125) / 2 + 0.5 * (0.5 + 0.25) / 2))


def test_losses_are_float32_for_half_precision_inputs():
    disc = tf.constant([[0.5]], tf.bfloat16)
    assert losses.generator_adversarial(disc, 1.0).dtype == tf.float32
