"""The orders a training step updates the four networks in (`train.update_order`), as one table.

- "alternating" (experiment 1, `train_batch` in models/breast_cycle_gan_graph.py): four updates
  on one batch, g_h2c -> d_cancer -> g_c2h -> d_healthy, each with its own forward pass on the
  weights as updated so far. A generator's loss is the whole cycle objective plus its own
  adversarial term; each discriminator judges the pooled fake of the generator pass before it.
- "sequential" (experiment 2, TF-GAN's sequential train hooks): one pass updates both
  generators from one batch; a second pass on the *next* batch, with the updated generators'
  fakes, updates both discriminators. A step reads two batches of each domain.
- "joint" (neither original's; the fastest): one pass updates both generators, and the
  discriminators are updated on the same batch and fakes.

Adam's bias-correction counter (`train.adam_counter`, see adam.py) decides how the networks share
optimizers:
- "per_update", the originals': one counter per optimizer instance, advanced by every network
  update it applies. alternating: one optimizer for all four networks (step k: t = 4k-3 for
  g_h2c, 4k-2 d_cancer, 4k-1 g_c2h, 4k d_healthy); sequential and joint: one optimizer for the
  generators (h2c first: t = 2k-1, then c2h: 2k) and one for the discriminators (d_cancer
  first, then d_healthy), as TF-GAN's x2y-then-y2x.
- "per_step", Keras': every optimizer's counter is the step number.
The optimizers' names are the keys a checkpoint stores them under.
"""

from __future__ import annotations

from dataclasses import dataclass

from cyclegan.config import TrainConfig, variant_table
from cyclegan.domains import C2H, CANCER, DISCRIMINATORS, GENERATORS, H2C, HEALTHY, discriminator, generator

Turns = dict[str, tuple[tuple[str, ...], ...]]  # optimizer name -> the networks each turn of one `apply` updates


@dataclass(frozen=True)
class UpdateOrder:
    step_method: str  # the CycleGAN method that runs one step on the step's batches
    batches_per_step: int  # batches of each domain one step reads
    generator_passes: int  # generator forward passes a step makes: one per generator, or one for both
    turns: dict[str, Turns]  # train.adam_counter -> the optimizers and their turns


ALTERNATING = (generator(H2C), discriminator(CANCER), generator(C2H), discriminator(HEALTHY))
_SHARED_BY_ROLE = {  # sequential and joint: one optimizer for the generators, one for the discriminators
    "per_update": {"g_optimizer": tuple((network,) for network in GENERATORS),
                   "d_optimizer": tuple((network,) for network in DISCRIMINATORS)},
    "per_step": {"g_optimizer": (GENERATORS,), "d_optimizer": (DISCRIMINATORS,)},
}

UPDATE_ORDERS = variant_table("train.update_order", {
    "alternating": UpdateOrder(
        "_alternating_step", batches_per_step=1, generator_passes=2,
        turns={"per_update": {"optimizer": (ALTERNATING,)},
               "per_step": {f"{network}_optimizer": ((network,),) for network in ALTERNATING}}),
    "sequential": UpdateOrder("_sequential_step", batches_per_step=2, generator_passes=1, turns=_SHARED_BY_ROLE),
    "joint": UpdateOrder("_joint_step", batches_per_step=1, generator_passes=1, turns=_SHARED_BY_ROLE),
})


def update_order(train: TrainConfig) -> UpdateOrder:
    return UPDATE_ORDERS[train.update_order]


def optimizer_turns(train: TrainConfig) -> Turns:
    """Each optimizer's name -> the networks one of its `apply` calls updates, grouped by turn.

    A phase (the networks one gradient computation updates) always belongs to one optimizer.
    """
    return update_order(train).turns[train.adam_counter]
