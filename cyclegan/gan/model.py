"""The CycleGAN: four networks, two history pools, their optimizers and one training step.

Domains: healthy (A) and cancer (B). `g_h2c` injects malignant features, `g_c2h` removes them;
`d_healthy` / `d_cancer` judge each domain. Batches are (healthy, cancer) pairs of float
tensors (B, H, W, C) in [-1, 1], unpaired.

A step updates the four networks in `train.update_order` (update_orders.py: the orders, and how
the networks share optimizers by `train.adam_counter`).

Losses are per-replica means divided by the number of replicas, because the optimizers sum
gradients across replicas. Create the model inside the strategy's scope: the optimizers are
built eagerly here, which MirroredStrategy needs, and `train.scale_lr` reads the replica count.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from cyclegan.config import ExperimentConfig
from cyclegan.domains import (
    C2H,
    CANCER,
    DIRECTIONS,
    DISCRIMINATORS,
    DOMAINS,
    GENERATORS,
    H2C,
    HEALTHY,
    OUTPUT_DOMAIN,
    REVERSE,
    discriminator,
    generator,
    judge,
)
from cyclegan.gan import losses, precision
from cyclegan.gan.adam import TurnTakingAdam
from cyclegan.gan.pool import HistoryPool
from cyclegan.gan.schedules import ConstantThenLinearDecay
from cyclegan.gan.update_orders import optimizer_turns, update_order
from cyclegan.nets.networks import build_networks

# Builds one optimizer: (name, turns: the variable lists one `apply` updates in turn) -> built optimizer.
OptimizerFactory = Callable[[str, list[list]], keras.optimizers.Optimizer]


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
        self.pools = {domain: HistoryPool(train.pool_size, config.image_shape, f"pool_{domain}", train.pool_mode)
                      for domain in DOMAINS}
        self.pool_healthy, self.pool_cancer = self.pools[HEALTHY], self.pools[CANCER]
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

    def state(self) -> dict:
        """Everything a resumed run needs, under the names a checkpoint stores it by (runs/checkpoints.py):
        step, networks (g_h2c, g_c2h, d_healthy, d_cancer), optimizers and pools."""
        return {"step": self.step, **self.networks, **self.optimizers,
                **{pool.name: pool for pool in self.pools.values()}}

    def translate(self, images, direction: str, training: bool = False):
        """images (B, H, W, C) -> (translated, reconstructed) by `direction` (domains.DIRECTIONS)."""
        forward = self.networks[generator(direction)]
        backward = self.networks[generator(REVERSE[direction])]
        translated = forward(images, training=training)
        return translated, backward(translated, training=training)

    def train_step(self, data):
        logs = getattr(self, update_order(self.config.train).step_method)(data)
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

    def _alternating_step(self, batch) -> dict:
        """g_h2c, d_cancer, g_c2h, d_healthy in turn on one batch (healthy, cancer). The logged cycle
        terms are those of g_h2c's pass; `generators/total` adds both passes' adversarial terms to them."""
        healthy, cancer = batch
        reals = {HEALTHY: healthy, CANCER: cancer}
        logs, totals = {}, {}
        for direction in DIRECTIONS:
            with tf.GradientTape() as tape:
                totals[direction], pass_logs, fakes = self._generator_pass(healthy, cancer, (direction,))
                share = self._replica_share(totals[direction], self.optimizer_of[generator(direction)])
            self._apply(tape, share, (generator(direction),))
            logs = {**pass_logs, **logs}  # a term both passes log keeps the first pass's value
            domain = OUTPUT_DOMAIN[direction]
            logs.update(self._discriminator_update(domain, reals[domain], fakes[direction]))
        logs["generators/total"] = totals[H2C] + logs[f"{generator(C2H)}/adversarial"]
        return logs

    def _sequential_step(self, batches) -> dict:
        """batches: ((healthy, cancer), (next_healthy, next_cancer)); the generators update on the
        first, the discriminators on the second with the updated generators' fakes."""
        return self._two_phase_step(*batches)

    def _joint_step(self, batch) -> dict:
        return self._two_phase_step(batch)

    def _two_phase_step(self, batch, discriminator_batch=None) -> dict:
        """Both generators from `batch`; then both discriminators, on `discriminator_batch` with
        the updated generators' fakes if one is given (sequential), else on `batch` with the
        fakes the generators were updated from (joint)."""
        healthy, cancer = batch
        with tf.GradientTape() as tape:
            total, logs, fakes = self._generator_pass(healthy, cancer, DIRECTIONS)
            share = self._replica_share(total, self.optimizer_of[GENERATORS[0]])
        self._apply(tape, share, GENERATORS)
        logs["generators/total"] = total
        if discriminator_batch is not None:
            healthy, cancer = discriminator_batch
            fakes = {H2C: self.g_h2c(healthy, training=True), C2H: self.g_c2h(cancer, training=True)}
        reals = {HEALTHY: healthy, CANCER: cancer}
        seeds = self._pool_seeds()
        with tf.GradientTape() as tape:
            judged = {direction: self._discriminator_losses(OUTPUT_DOMAIN[direction], reals[OUTPUT_DOMAIN[direction]],
                                                            fakes[direction], seeds[OUTPUT_DOMAIN[direction]])
                      for direction in DIRECTIONS}
            total = sum(judged[direction][f"{judge(direction)}/total"] for direction in DIRECTIONS)
            share = self._replica_share(total, self.optimizer_of[DISCRIMINATORS[0]])
        self._apply(tape, share, DISCRIMINATORS)
        return {**logs, **judged[H2C], **judged[C2H]}

    def _generator_pass(self, healthy, cancer, directions: tuple[str, ...]):
        """Both translations and reconstructions, the cycle objective and the adversarial term of
        each direction in `directions`. Returns (loss, logs, fakes by direction)."""
        fake_cancer, cycled_healthy = self.translate(healthy, H2C, training=True)
        fake_healthy, cycled_cancer = self.translate(cancer, C2H, training=True)
        terms = losses.cycle_objective(self.config.loss, healthy, cancer, fake_cancer, fake_healthy,
                                       cycled_healthy, cycled_cancer)
        logs = {f"generators/{name}": value for name, value in terms.items()}
        fakes = {H2C: fake_cancer, C2H: fake_healthy}
        total = terms["cycle_total"]
        for direction in directions:
            adversarial = losses.generator_adversarial(self.networks[judge(direction)](fakes[direction], training=True),
                                                       self.config.loss.generator_adversarial_weight)
            logs[f"{generator(direction)}/adversarial"] = adversarial
            total += adversarial
        return total, logs, fakes

    def _discriminator_update(self, domain: str, real, fake) -> dict:
        """One discriminator's update on real images and the pooled `fake`; returns its logs."""
        network = discriminator(domain)
        with tf.GradientTape() as tape:
            logs = self._discriminator_losses(domain, real, fake, self._pool_seeds()[domain])
            share = self._replica_share(logs[f"{network}/total"], self.optimizer_of[network])
        self._apply(tape, share, (network,))
        return logs

    def _discriminator_losses(self, domain: str, real, fake, seed) -> dict:
        """d_<domain>'s LSGAN terms on `real` and on `fake` passed through the domain's pool, judged
        in one call on both batches (exact: instance norm is per sample; with spectral norm, one
        power iteration)."""
        name = discriminator(domain)
        pooled = self.pools[domain].query(tf.stop_gradient(fake), seed)
        loss = self.config.loss
        judged_real, judged_fake = tf.split(self.networks[name](tf.concat([real, pooled], 0), training=True), 2)
        real_term = losses.discriminator_real(judged_real, loss.discriminator_real_weight)
        fake_term = losses.discriminator_fake(judged_fake, loss.discriminator_fake_weight)
        return {f"{name}/real": real_term, f"{name}/fake": fake_term, f"{name}/total": real_term + fake_term}

    def _replica_share(self, loss, optimizer):
        """This replica's part of `loss`, scaled for float16 by `optimizer` (the one that applies it)."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return precision.scale_loss(optimizer, loss / replicas)

    def _apply(self, tape: tf.GradientTape, share, networks: tuple[str, ...]) -> None:
        """Update `networks` (one optimizer's) from `share`'s gradients at this step's rate."""
        variables = [v for network in networks for v in self.networks[network].trainable_variables]
        gradients = tape.gradient(share, variables)
        optimizer = self.optimizer_of[networks[0]]
        role = "generator" if networks[0] in GENERATORS else "discriminator"
        optimizer.learning_rate = self.schedules[role](self.step)
        optimizer.apply(gradients, variables)

    def _pool_seeds(self) -> dict:
        """Stateless seeds (2,) per domain, unique to this run's seed, step and replica.

        A pool draws its coin from a seed and its slot from the seed + 1 (gan/pool.py). The first
        element is even, so no run's slot seed is another run's coin seed (seeds 1, 2, 3 of a study
        draw independently), and the second counts two per step, one per domain."""
        replica = tf.distribute.get_replica_context()
        replica_id = 0 if replica is None else replica.replica_id_in_sync_group
        step = tf.cast(self.step, tf.int32)
        base = tf.stack([2 * (tf.constant(self.config.seed, tf.int32) + 1_000_003 * replica_id), 2 * step])
        return {CANCER: base, HEALTHY: base + [0, 1]}
