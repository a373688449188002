"""The CycleGAN: four networks, two history pools, two optimizers and one training step.

Domains: healthy (A) and cancer (B). `g_h2c` injects malignant features, `g_c2h` removes them;
`d_healthy` / `d_cancer` judge each domain. Batches are (healthy, cancer) pairs of float
tensors (B, H, W, C) in [-1, 1], unpaired.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from cyclegan import losses, precision
from cyclegan.config import ExperimentConfig
from cyclegan.networks import build_networks
from cyclegan.pool import HistoryPool
from cyclegan.schedules import ConstantThenLinearDecay


class CycleGAN(keras.Model):
    """CycleGAN with a custom `train_step` that runs under any `tf.distribute` strategy.

    One step runs each network pass the maths needs exactly once: 4 generator passes (both
    translations, both reconstructions) and 2 discriminator passes on the translations, from
    which both generators are updated (cycle term counted once); then 4 discriminator passes
    (real images and pooled fakes) from which both discriminators are updated. Nothing else is
    computed: image panels, artefact scores and checkpoints run in callbacks between steps.
    Losses are per-replica means divided by the number of replicas, because the optimizers sum
    gradients across replicas.

    `steps_per_unit` converts the config's schedule unit to steps (steps per epoch for
    "epochs", 1 for "steps"). Create it inside the strategy's scope: the optimizers are built
    eagerly here, which MirroredStrategy needs, and `train.scale_lr` reads the strategy's
    replica count. The networks are built under `train.mixed_precision`'s dtype policy; with
    float16 the optimizers scale the losses dynamically.
    """

    def __init__(self, config: ExperimentConfig, steps_per_unit: int = 1):
        super().__init__(name="cyclegan")
        self.config = config
        with precision.dtype_policy(config.train.mixed_precision):
            self.g_h2c, self.g_c2h, self.d_healthy, self.d_cancer = build_networks(config)
        self.pool_healthy = HistoryPool(config.train.pool_size, config.image_shape, "pool_healthy")
        self.pool_cancer = HistoryPool(config.train.pool_size, config.image_shape, "pool_cancer")
        train = config.train
        lr_factor = tf.distribute.get_strategy().num_replicas_in_sync if train.scale_lr else 1
        self.g_optimizer = self._optimizer(train.generator_lr * lr_factor, steps_per_unit, "g_optimizer")
        self.d_optimizer = self._optimizer(train.discriminator_lr * lr_factor, steps_per_unit, "d_optimizer")
        self.g_optimizer.build(self.generator_variables)
        self.d_optimizer.build(self.discriminator_variables)
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to do: networks and optimizers are built in __init__.

        Keras' TensorFlow trainer otherwise builds a model created under a strategy from a first
        batch averaged across replicas, which fails under MultiWorkerMirroredStrategy for a
        (healthy, cancer) pair (keras-team/keras#20585) and reads a batch it throws away.
        """

    def _optimizer(self, base_lr: float, steps_per_unit: int, name: str) -> keras.optimizers.Optimizer:
        """Adam on the lr schedule, with dynamic loss scaling under float16."""
        train = self.config.train
        schedule = ConstantThenLinearDecay(base_lr, train.duration, train.decay_start, steps_per_unit)
        adam = keras.optimizers.Adam(schedule, beta_1=train.beta_1, beta_2=train.beta_2, name=name)
        return precision.with_loss_scaling(adam, train.mixed_precision)

    @property
    def generator_variables(self):
        return self.g_h2c.trainable_variables + self.g_c2h.trainable_variables

    @property
    def discriminator_variables(self):
        return self.d_healthy.trainable_variables + self.d_cancer.trainable_variables

    @property
    def step(self) -> tf.Variable:
        """Completed training steps (the generator optimizer's iteration count)."""
        return self.g_optimizer.iterations

    def learning_rates(self) -> dict[str, float]:
        """Current generator and discriminator learning rates."""
        return {"generator": float(tf.convert_to_tensor(self.g_optimizer.learning_rate)),
                "discriminator": float(tf.convert_to_tensor(self.d_optimizer.learning_rate))}

    def checkpoint(self) -> tf.train.Checkpoint:
        """Everything a resumed run needs: networks, optimizers (with the step) and pools."""
        return tf.train.Checkpoint(
            g_h2c=self.g_h2c, g_c2h=self.g_c2h, d_healthy=self.d_healthy, d_cancer=self.d_cancer,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            pool_healthy=self.pool_healthy, pool_cancer=self.pool_cancer)

    def translate(self, images, direction: str, training: bool = False):
        """images (B, H, W, C) -> (translated, reconstructed), direction "h2c" or "c2h"."""
        forward, backward = (self.g_h2c, self.g_c2h) if direction == "h2c" else (self.g_c2h, self.g_h2c)
        translated = forward(images, training=training)
        return translated, backward(translated, training=training)

    def train_step(self, data):
        healthy, cancer = data
        loss_cfg = self.config.loss
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        with tf.GradientTape() as tape:
            fake_cancer, cycled_healthy = self.translate(healthy, "h2c", training=True)
            fake_healthy, cycled_cancer = self.translate(cancer, "c2h", training=True)
            terms = losses.cycle_objective(loss_cfg, healthy, cancer, fake_cancer, fake_healthy,
                                           cycled_healthy, cycled_cancer)
            adversarial_h2c = losses.generator_adversarial(
                self.d_cancer(fake_cancer, training=True), loss_cfg.generator_adversarial_weight)
            adversarial_c2h = losses.generator_adversarial(
                self.d_healthy(fake_healthy, training=True), loss_cfg.generator_adversarial_weight)
            generator_total = terms["cycle_total"] + adversarial_h2c + adversarial_c2h
            replica_share = precision.scale_loss(self.g_optimizer, generator_total / replicas)
        gradients = tape.gradient(replica_share, self.generator_variables)
        self.g_optimizer.apply(gradients, self.generator_variables)

        seed = self._pool_seed()
        pooled_cancer = self.pool_cancer.query(tf.stop_gradient(fake_cancer), seed)
        pooled_healthy = self.pool_healthy.query(tf.stop_gradient(fake_healthy), seed + [0, 1])
        with tf.GradientTape() as tape:
            d_healthy_real = losses.discriminator_real(
                self.d_healthy(healthy, training=True), loss_cfg.discriminator_real_weight)
            d_healthy_fake = losses.discriminator_fake(
                self.d_healthy(pooled_healthy, training=True), loss_cfg.discriminator_fake_weight)
            d_cancer_real = losses.discriminator_real(
                self.d_cancer(cancer, training=True), loss_cfg.discriminator_real_weight)
            d_cancer_fake = losses.discriminator_fake(
                self.d_cancer(pooled_cancer, training=True), loss_cfg.discriminator_fake_weight)
            discriminator_total = d_healthy_real + d_healthy_fake + d_cancer_real + d_cancer_fake
            replica_share = precision.scale_loss(self.d_optimizer, discriminator_total / replicas)
        gradients = tape.gradient(replica_share, self.discriminator_variables)
        self.d_optimizer.apply(gradients, self.discriminator_variables)

        logs = {
            "g_h2c/adversarial": adversarial_h2c,
            "g_c2h/adversarial": adversarial_c2h,
            "generators/total": generator_total,
            "d_healthy/real": d_healthy_real,
            "d_healthy/fake": d_healthy_fake,
            "d_healthy/total": d_healthy_real + d_healthy_fake,
            "d_cancer/real": d_cancer_real,
            "d_cancer/fake": d_cancer_fake,
            "d_cancer/total": d_cancer_real + d_cancer_fake,
        }
        logs.update({f"generators/{name}": value for name, value in terms.items()})
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages logs across workers along axis 0, which a scalar does not have.
            return {name: tf.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def _pool_seed(self):
        """Stateless seed (2,) unique to this run's seed, step and replica."""
        replica = tf.distribute.get_replica_context()
        replica_id = 0 if replica is None else replica.replica_id_in_sync_group
        step = tf.cast(self.d_optimizer.iterations, tf.int32)
        return tf.stack([tf.constant(self.config.seed, tf.int32) + 1_000_003 * replica_id, 2 * step])
