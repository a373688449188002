"""CycleGAN loss terms as small pure functions on float tensors.

Every function reduces with a mean over all elements of its inputs (batch, height, width,
channels) and returns a float32 scalar, whatever the input dtype.
"""

from __future__ import annotations

import tensorflow as tf

from cyclegan.config import LossConfig


def _f32(x):
    return tf.cast(x, tf.float32)


def generator_adversarial(disc_fake, weight: float):
    """LSGAN generator term: weight * mean((D(fake) - 1)^2)."""
    return weight * tf.reduce_mean(tf.square(_f32(disc_fake) - 1.0))


def discriminator_real(disc_real, weight: float):
    """LSGAN discriminator term on real images: weight * mean((D(real) - 1)^2)."""
    return weight * tf.reduce_mean(tf.square(_f32(disc_real) - 1.0))


def discriminator_fake(disc_fake, weight: float):
    """LSGAN discriminator term on (pooled) fakes: weight * mean(D(fake)^2)."""
    return weight * tf.reduce_mean(tf.square(_f32(disc_fake)))


def mean_absolute(x, y):
    """mean|x - y|: the cycle term (x vs its reconstruction) and the identity term (x vs its translation)."""
    return tf.reduce_mean(tf.abs(_f32(x) - _f32(y)))


def combine_directions(healthy_term, cancer_term, reduction: str):
    """Join the two directions' terms: their sum (exp1) or their mean (exp2)."""
    total = healthy_term + cancer_term
    return total if reduction == "sum" else total / 2.0


def cycle_objective(config: LossConfig, healthy, cancer, fake_cancer, fake_healthy,
                    cycled_healthy, cycled_cancer) -> dict[str, tf.Tensor]:
    """Cycle (+ identity) part of the generators' loss.

    total = cycle_weight * [combine(cycle_h, cycle_c) + identity_weight * combine(identity_h, identity_c)]
    where identity compares an image with its own translation (experiment 2's term,
    models/breast_cycle_gan/custom/gan.py).
    Returns the unweighted per-direction terms and the weighted `cycle_total`.
    """
    terms = {
        "cycle_healthy": mean_absolute(healthy, cycled_healthy),
        "cycle_cancer": mean_absolute(cancer, cycled_cancer),
    }
    total = combine_directions(terms["cycle_healthy"], terms["cycle_cancer"], config.cycle_reduction)
    if config.identity_weight:
        terms["identity_healthy"] = mean_absolute(healthy, fake_cancer)
        terms["identity_cancer"] = mean_absolute(cancer, fake_healthy)
        total += config.identity_weight * combine_directions(
            terms["identity_healthy"], terms["identity_cancer"], config.cycle_reduction)
    terms["cycle_total"] = config.cycle_weight * total
    return terms
