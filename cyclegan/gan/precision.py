"""Mixed precision (`train.mixed_precision`): the Keras dtype policy the networks are built under,
and dynamic loss scaling for float16.

Under "bfloat16" or "float16" the convolutions, activations and paddings compute in that dtype
while every variable stays float32. The networks' own outputs (the generator's skip and tanh, the
discriminator's logits), instance-norm statistics and all losses stay float32 (see networks.py,
layers.py, losses.py). float16 needs loss scaling, bfloat16 does not (it has float32's range).
"""

from __future__ import annotations

import contextlib

import keras

from cyclegan.config import variant_table

POLICIES = variant_table("train.mixed_precision", {"off": "float32", "bfloat16": "mixed_bfloat16",
                                                   "float16": "mixed_float16"})


def compute_dtype(mode: str) -> str:
    """The dtype convolutions compute in: "float32", "bfloat16" or "float16"."""
    return keras.DTypePolicy(_policy(mode)).compute_dtype


def _policy(mode: str) -> str:
    if mode not in POLICIES:
        raise ValueError(f"mixed precision must be one of {', '.join(POLICIES)}; got {mode!r}")
    return POLICIES[mode]


@contextlib.contextmanager
def dtype_policy(mode: str):
    """Layers created inside the block get `mode`'s dtype policy.

    Keras' policy is global; the previous one is restored on leaving, so building one model in
    mixed precision changes nothing for models built later.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(_policy(mode))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def with_loss_scaling(optimizer: keras.optimizers.Optimizer, mode: str) -> keras.optimizers.Optimizer:
    """`optimizer` wrapped in dynamic loss scaling when `mode` is "float16", else unchanged.

    An update whose gradients overflow is skipped (and the scale halved): the optimizer's own
    counter then stays where it was, while the CycleGAN's step still advances.
    """
    if _policy(mode) == POLICIES["float16"]:
        return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{optimizer.name}_loss_scale")
    return optimizer


def scale_loss(optimizer: keras.optimizers.Optimizer, loss):
    """The loss to differentiate: multiplied by the current loss scale if `optimizer` scales
    losses (its `apply` divides the gradients by the same scale), else `loss` itself."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss
