"""The CycleGAN: four networks, two history pools, their optimizers and one training step.

Domains: healthy (A) and cancer (B). `g_h2c` injects malignant features, `g_c2h` removes them;
`d_healthy` / `d_cancer` judge each domain. Batches are (healthy, cancer) pairs of float
tensors (B, H, W, C) in [-1, 1], unpaired.

A step updates the four networks in `train.update_order`:
- "alternating" (experiment 1, `train_batch` in models/breast_cycle_gan_graph.py): four updates
  on one batch, g_h2c -> d_cancer -> g_c2h -> d_healthy, each with its own forward pass on the
  weights as updated so far. A generator's loss is the whole cycle objective plus its own
  adversarial term; each discriminator judges the pooled fake of the generator pass before it.
- "sequential" (experiment 2, TF-GAN's sequential train hooks): one pass updates both
  generators from one batch; a second pass on the *next* batch, with the updated generators'
  fakes, updates both discriminators. A step consumes two batches of each domain, given as
  ((healthy, cancer), (next_healthy, next_cancer)).
- "joint" (neither original's; the fastest): one pass updates both generators, and the
  discriminators are updated on the same batch and fakes.

Adam's bias-correction counter (`train.adam_counter`, see adam.py):
- "per_update", the originals': one counter per optimizer instance, advanced by every network
  update it applies. alternating: one optimizer for all four networks (step k: t = 4k-3 for
  g_h2c, 4k-2 d_cancer, 4k-1 g_c2h, 4k d_healthy); sequential and joint: one optimizer for the
  generators (h2c first: t = 2k-1, then c2h: 2k) and one for the discriminators (d_cancer
  first, then d_healthy), as TF-GAN's x2y-then-y2x.
- "per_step", Keras': every optimizer's counter is the step number.

Losses are per-replica means divided by the number of replicas, because the optimizers sum
gradients across replicas. Create the model inside the strategy's scope: the optimizers are
built eagerly here, which MirroredStrategy needs, and `train.scale_lr` reads the replica count.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from cyclegan import losses, precision
from cyclegan.adam import TurnTakingAdam
from cyclegan.config import ExperimentConfig, TrainConfig
from cyclegan.networks import build_networks
from cyclegan.pool import HistoryPool
from cyclegan.schedules import ConstantThenLinearDecay

GENERATORS = ("g_h2c", "g_c2h")
DISCRIMINATORS = ("d_cancer", "d_healthy")
ALTERNATING_ORDER = ("g_h2c", "d_cancer", "g_c2h", "d_healthy")

# Builds one optimizer: (name, turns: the variable lists one `apply` updates in turn) -> built optimizer.
OptimizerFactory = Callable[[str, list[list]], keras.optimizers.Optimizer]


def optimizer_turns(train: TrainConfig) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each optimizer's name -> the networks one of its `apply` calls updates, grouped by turn.

    A phase (the networks one gradient computation updates) always belongs to one optimizer.
    """
    per_update = train.adam_counter == "per_update"
    if train.update_order == "alternating":
        if per_update:
            return {"optimizer": (ALTERNATING_ORDER,)}
        return {f"{network}_optimizer": ((network,),) for network in ALTERNATING_ORDER}
    if per_update:
        return {"g_optimizer": tuple((network,) for network in GENERATORS),
                "d_optimizer": tuple((network,) for network in DISCRIMINATORS)}
    return {"g_optimizer": (GENERATORS,), "d_optimizer": (DISCRIMINATORS,)}


class CycleGAN(keras.Model):
    """CycleGAN with a custom `train_step` that runs under any `tf.distribute` strategy.

    `steps_per_unit` converts the config's schedule unit to steps (steps per epoch for
    "epochs", 1 for "steps"). `make_optimizer` replaces the config's Adam (tests use plain
    SGD); learning rates still come from the config's schedule. The networks are built under
    `train.mixed_precision`'s dtype policy; with float16 the optimizers scale losses dynamically.
    """

    def __init__(self, config: ExperimentConfig, steps_per_unit: int = 1,
                 make_optimizer: OptimizerFactory | None = None):
        super().__init__(name="cyclegan")
        self.config = config
        train = config.train
        with precision.dtype_policy(train.mixed_precision):
            self.g_h2c, self.g_c2h, self.d_healthy, self.d_cancer = build_networks(config)
        self.networks = {network.name: network for network in (self.g_h2c, self.g_c2h, self.d_healthy, self.d_cancer)}
        self.pool_healthy = HistoryPool(train.pool_size, config.image_shape, "pool_healthy", train.pool_mode)
        self.pool_cancer = HistoryPool(train.pool_size, config.image_shape, "pool_cancer", train.pool_mode)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",  # completed steps
                                      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        # The first step whose losses were not all finite on some replica (0: none yet); read by the
        # NaN guard once per execution, so that it needs no step's logs but the last.
        self.first_nonfinite_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="first_nonfinite_step",
                                                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        lr_factor = tf.distribute.get_strategy().num_replicas_in_sync if train.scale_lr else 1
        self.schedules = {
            "generator": ConstantThenLinearDecay(train.generator_lr * lr_factor, train.duration,
                                                 train.decay_start, steps_per_unit),
            "discriminator": ConstantThenLinearDecay(train.discriminator_lr * lr_factor, train.duration,
                                                     train.decay_start, steps_per_unit),
        }
        self.optimizers, self.optimizer_of = {}, {}
        for name, turns in optimizer_turns(train).items():
            variable_turns = [[v for network in group for v in self.networks[network].trainable_variables]
                              for group in turns]
            inner = (make_optimizer or self._adam)(name, variable_turns)
            optimizer = precision.with_loss_scaling(inner, train.mixed_precision)
            optimizer.build([v for variables in variable_turns for v in variables])
            self.optimizers[name] = optimizer
            self.optimizer_of.update({network: optimizer for group in turns for network in group})
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to do: networks and optimizers are built in __init__.

        Keras' TensorFlow trainer otherwise builds a model created under a strategy from a first
        batch averaged across replicas, which fails under MultiWorkerMirroredStrategy for a
        (healthy, cancer) pair (keras-team/keras#20585) and reads a batch it throws away.
        """

    def _adam(self, name: str, variable_turns: list[list]) -> TurnTakingAdam:
        train = self.config.train
        adam = TurnTakingAdam(0.0, beta_1=train.beta_1, beta_2=train.beta_2, epsilon=train.adam_epsilon,
                              name=name)
        adam.build_turns(variable_turns)
        return adam

    @property
    def generator_variables(self):
        return self.g_h2c.trainable_variables + self.g_c2h.trainable_variables

    @property
    def discriminator_variables(self):
        return self.d_healthy.trainable_variables + self.d_cancer.trainable_variables

    def learning_rates(self) -> dict[str, float]:
        """The generator and discriminator learning rates of the next step."""
        return {role: float(schedule(self.step)) for role, schedule in self.schedules.items()}

    def checkpoint(self) -> tf.train.Checkpoint:
        """Everything a resumed run needs: step, networks (under their names, as `RunDir.generators`
        reads them back), optimizers and pools."""
        return tf.train.Checkpoint(step=self.step, **self.networks, **self.optimizers,
                                   pool_healthy=self.pool_healthy, pool_cancer=self.pool_cancer)

    def translate(self, images, direction: str, training: bool = False):
        """images (B, H, W, C) -> (translated, reconstructed), direction "h2c" or "c2h"."""
        forward, backward = (self.g_h2c, self.g_c2h) if direction == "h2c" else (self.g_c2h, self.g_h2c)
        translated = forward(images, training=training)
        return translated, backward(translated, training=training)

    def train_step(self, data):
        order = self.config.train.update_order
        if order == "alternating":
            logs = self._alternating_step(*data)
        elif order == "sequential":
            logs = self._two_phase_step(*data)
        else:
            logs = self._two_phase_step(data)
        self.step.assign_add(1)
        self._record_nonfinite(logs)
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages logs across workers along axis 0, which a scalar does not have.
            return {name: tf.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def _record_nonfinite(self, logs: dict) -> None:
        """Set first_nonfinite_step to this step if it is unset and a loss in `logs` is NaN or Inf
        on any replica."""
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(value)) for value in logs.values()])
        replica = tf.distribute.get_replica_context()
        nonfinite_replicas = replica.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
        first = tf.where((nonfinite_replicas > 0) & (self.first_nonfinite_step == 0), self.step,
                         self.first_nonfinite_step)
        self.first_nonfinite_step.assign(first)

    def _alternating_step(self, healthy, cancer) -> dict:
        """g_h2c, d_cancer, g_c2h, d_healthy in turn on one batch. The logged cycle terms are
        those of g_h2c's pass; `generators/total` adds both passes' adversarial terms to them."""
        with tf.GradientTape() as tape:
            h2c_total, logs, fakes = self._generator_pass(healthy, cancer, ("h2c",))
            share = self._replica_share(h2c_total, "g_h2c")
        self._apply(tape, share, ("g_h2c",))
        logs.update(self._discriminator_update("cancer", cancer, fakes["h2c"]))
        with tf.GradientTape() as tape:
            c2h_total, c2h_logs, fakes = self._generator_pass(healthy, cancer, ("c2h",))
            share = self._replica_share(c2h_total, "g_c2h")
        self._apply(tape, share, ("g_c2h",))
        logs.update(self._discriminator_update("healthy", healthy, fakes["c2h"]))
        logs["g_c2h/adversarial"] = c2h_logs["g_c2h/adversarial"]
        logs["generators/total"] = h2c_total + logs["g_c2h/adversarial"]
        return logs

    def _two_phase_step(self, batch, discriminator_batch=None) -> dict:
        """Both generators from `batch`; then both discriminators, on `discriminator_batch` with
        the updated generators' fakes if one is given (sequential), else on `batch` with the
        fakes the generators were updated from (joint)."""
        healthy, cancer = batch
        with tf.GradientTape() as tape:
            total, logs, fakes = self._generator_pass(healthy, cancer, ("h2c", "c2h"))
            share = self._replica_share(total, "g_h2c")
        self._apply(tape, share, GENERATORS)
        logs["generators/total"] = total
        if discriminator_batch is not None:
            healthy, cancer = discriminator_batch
            fakes = {"h2c": self.g_h2c(healthy, training=True), "c2h": self.g_c2h(cancer, training=True)}
        seeds = self._pool_seeds()
        with tf.GradientTape() as tape:
            cancer_logs = self._discriminator_losses("cancer", cancer, fakes["h2c"], seeds["cancer"])
            healthy_logs = self._discriminator_losses("healthy", healthy, fakes["c2h"], seeds["healthy"])
            total = cancer_logs["d_cancer/total"] + healthy_logs["d_healthy/total"]
            share = self._replica_share(total, "d_cancer")
        self._apply(tape, share, DISCRIMINATORS)
        return {**logs, **cancer_logs, **healthy_logs}

    def _generator_pass(self, healthy, cancer, directions: tuple[str, ...]):
        """Both translations and reconstructions, the cycle objective and the adversarial term of
        each direction in `directions`. Returns (loss, logs, fakes by direction)."""
        fake_cancer, cycled_healthy = self.translate(healthy, "h2c", training=True)
        fake_healthy, cycled_cancer = self.translate(cancer, "c2h", training=True)
        terms = losses.cycle_objective(self.config.loss, healthy, cancer, fake_cancer, fake_healthy,
                                       cycled_healthy, cycled_cancer)
        logs = {f"generators/{name}": value for name, value in terms.items()}
        fakes = {"h2c": fake_cancer, "c2h": fake_healthy}
        judges = {"h2c": self.d_cancer, "c2h": self.d_healthy}
        total = terms["cycle_total"]
        for direction in directions:
            adversarial = losses.generator_adversarial(judges[direction](fakes[direction], training=True),
                                                       self.config.loss.generator_adversarial_weight)
            logs[f"g_{direction}/adversarial"] = adversarial
            total += adversarial
        return total, logs, fakes

    def _discriminator_update(self, domain: str, real, fake) -> dict:
        """One discriminator's update on real images and the pooled `fake`; returns its logs."""
        network = f"d_{domain}"
        with tf.GradientTape() as tape:
            logs = self._discriminator_losses(domain, real, fake, self._pool_seeds()[domain])
            share = self._replica_share(logs[f"{network}/total"], network)
        self._apply(tape, share, (network,))
        return logs

    def _discriminator_losses(self, domain: str, real, fake, seed) -> dict:
        """d_<domain>'s LSGAN terms on `real` and on `fake` passed through the domain's pool, judged
        in one call on both batches (exact: instance norm is per sample; with spectral norm, one
        power iteration)."""
        network = self.networks[f"d_{domain}"]
        pool = self.pool_healthy if domain == "healthy" else self.pool_cancer
        pooled = pool.query(tf.stop_gradient(fake), seed)
        loss = self.config.loss
        judged_real, judged_fake = tf.split(network(tf.concat([real, pooled], 0), training=True), 2)
        real_term = losses.discriminator_real(judged_real, loss.discriminator_real_weight)
        fake_term = losses.discriminator_fake(judged_fake, loss.discriminator_fake_weight)
        return {f"d_{domain}/real": real_term, f"d_{domain}/fake": fake_term,
                f"d_{domain}/total": real_term + fake_term}

    def _replica_share(self, loss, network: str):
        """This replica's part of `loss`, scaled for float16 by the optimizer of `network`."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return precision.scale_loss(self.optimizer_of[network], loss / replicas)

    def _apply(self, tape: tf.GradientTape, share, networks: tuple[str, ...]) -> None:
        """Update `networks` (one optimizer's) from `share`'s gradients at this step's rate."""
        variables = [v for network in networks for v in self.networks[network].trainable_variables]
        gradients = tape.gradient(share, variables)
        optimizer = self.optimizer_of[networks[0]]
        role = "generator" if networks[0] in GENERATORS else "discriminator"
        optimizer.learning_rate = self.schedules[role](self.step)
        optimizer.apply(gradients, variables)

    def _pool_seeds(self) -> dict:
        """Stateless seeds (2,) per domain, unique to this run's seed, step and replica."""
        replica = tf.distribute.get_replica_context()
        replica_id = 0 if replica is None else replica.replica_id_in_sync_group
        step = tf.cast(self.step, tf.int32)
        base = tf.stack([tf.constant(self.config.seed, tf.int32) + 1_000_003 * replica_id, 2 * step])
        return {"cancer": base, "healthy": base + [0, 1]}
