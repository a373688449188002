"""Each update order and Adam counter against a plain re-implementation of the originals' semantics.

The reference below is written from the original code's behaviour, not from cyclegan/gan/model.py:
eager TensorFlow, every network update in the original's order with its own forward pass where
the original makes one, and TF1's Adam (one beta^t pair per optimizer instance, advanced after
every `apply_gradients` call). Two steps of a tiny model must match it; a reference with the
wrong semantics must not.

Both run eagerly. A compiled step computes the same thing, but oneDNN's fused kernels sum in
another order, and Adam's first steps magnify those float differences in near-zero gradients:
the compiled and the eager run of the *same* model then differ by up to 8e-3 after two steps of
the tiny experiment-2 model (measured; 1e-4 with TF_ENABLE_ONEDNN_OPTS=0).

Adam with the originals' epsilon (1e-8) turns the float noise of near-zero gradients (about
1e-9, e.g. of a bias before instance norm) into steps of random size, which would differ between
any two implementations. The tiny configs here use epsilon 1e-6 and drop the biases before
instance norm (`conv_bias=unnormalised`), so that every weight can be compared closely.
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.domains import C2H, H2C
from cyclegan.gan import losses
from cyclegan.gan.model import CycleGAN
from cyclegan.gan.update_orders import UPDATE_ORDERS, optimizer_turns, update_order
from cyclegan.nets import instance_norm
from cyclegan.nets.networks import build_networks
from tests.helpers import TF1Adam, tiny_config

STEPS = 2


@pytest.fixture(autouse=True)
def instance_norm_by_separate_ops(monkeypatch):
    """Instance norm by separate ops in both the model and the reference. The model's
    discriminators judge real and pooled images in one batch of two, the reference's one image at
    a time; the fused kernel normalises a batch of two by another route than a batch of one, and on
    a 2-core AMD EPYC (AVX2) that rounding, magnified by Adam's first steps, moved the tiny exp2
    discriminators' weights by up to 8.6e-3 (separate ops: 9e-5). The two implementations agree to
    float tolerance (tests/test_instance_norm.py)."""
    monkeypatch.setenv(instance_norm.ENVIRONMENT_VARIABLE, "moments")
    instance_norm.fastest.cache_clear()
    yield
    instance_norm.fastest.cache_clear()
GENERATOR_LR, DISCRIMINATOR_LR = 0.01, 0.004  # large and different: wrong counters or rates show
TOLERANCE = 2e-4  # largest weight difference allowed (measured: 6e-7 to 5e-5); a step moves weights up to 0.01


class Reference:
    """The four networks trained by the originals' rules; `counter` "tf1" shares Adam instances
    as the originals did, "keras" gives every network its own, advanced once a step."""

    def __init__(self, config, weights, counter):
        self.config = config
        nets = build_networks(config)
        for network, values in zip(nets, weights):
            network.set_weights(values)
        self.g_h2c, self.g_c2h, self.d_healthy, self.d_cancer = nets
        train = config.train

        def make():
            return TF1Adam(train.beta_1, train.beta_2, train.adam_epsilon)

        if counter == "keras":
            self.adam = {name: make() for name in ("g_h2c", "g_c2h", "d_healthy", "d_cancer")}
        elif train.update_order == "alternating":
            shared = make()  # experiment 1: one AdamOptimizer minimises all four losses
            self.adam = dict.fromkeys(("g_h2c", "g_c2h", "d_healthy", "d_cancer"), shared)
        else:
            generators, discriminators = make(), make()  # TF-GAN: one per network family
            self.adam = {"g_h2c": generators, "g_c2h": generators,
                         "d_healthy": discriminators, "d_cancer": discriminators}

    def lsgan_generator(self, logits):
        return self.config.loss.generator_adversarial_weight * tf.reduce_mean((logits - 1) ** 2)

    def lsgan_discriminator(self, real_logits, fake_logits):
        loss = self.config.loss
        return (loss.discriminator_real_weight * tf.reduce_mean((real_logits - 1) ** 2)
                + loss.discriminator_fake_weight * tf.reduce_mean(fake_logits ** 2))

    def cycle(self, healthy, cancer):
        """The cycle objective from fresh passes; returns (objective, fake_cancer, fake_healthy)."""
        loss = self.config.loss
        fake_cancer, fake_healthy = self.g_h2c(healthy), self.g_c2h(cancer)
        def l1(x, y):
            return tf.reduce_mean(tf.abs(x - y))

        cycle = [l1(healthy, self.g_c2h(fake_cancer)), l1(cancer, self.g_h2c(fake_healthy))]
        identity = [l1(healthy, fake_cancer), l1(cancer, fake_healthy)]
        combine = sum if loss.cycle_reduction == "sum" else (lambda pair: (pair[0] + pair[1]) / 2)
        total = loss.cycle_weight * (combine(cycle) + loss.identity_weight * combine(identity))
        return total, fake_cancer, fake_healthy

    def update(self, name, tape, loss, lr):
        network = getattr(self, name)
        self.adam[name].apply_gradients(tape.gradient(loss, network.trainable_variables),
                                        network.trainable_variables, lr)

    def alternating_step(self, healthy, cancer):
        """Experiment 1's train_batch: g_A, d_B, g_B, d_A, each on the weights updated so far."""
        with tf.GradientTape() as tape:
            objective, fake_cancer, _ = self.cycle(healthy, cancer)
            loss = objective + self.lsgan_generator(self.d_cancer(fake_cancer))
        self.update("g_h2c", tape, loss, GENERATOR_LR)
        with tf.GradientTape() as tape:
            loss = self.lsgan_discriminator(self.d_cancer(cancer), self.d_cancer(fake_cancer))
        self.update("d_cancer", tape, loss, DISCRIMINATOR_LR)
        with tf.GradientTape() as tape:
            objective, _, fake_healthy = self.cycle(healthy, cancer)
            loss = objective + self.lsgan_generator(self.d_healthy(fake_healthy))
        self.update("g_c2h", tape, loss, GENERATOR_LR)
        with tf.GradientTape() as tape:
            loss = self.lsgan_discriminator(self.d_healthy(healthy), self.d_healthy(fake_healthy))
        self.update("d_healthy", tape, loss, DISCRIMINATOR_LR)

    def two_run_step(self, batch, discriminator_batch):
        """TF-GAN: one run updates both generators (x2y then y2x, from one set of gradients);
        another, on `discriminator_batch`, both discriminators on fresh fakes."""
        healthy, cancer = batch
        with tf.GradientTape(persistent=True) as tape:
            objective, fake_cancer, fake_healthy = self.cycle(healthy, cancer)
            h2c_loss = objective + self.lsgan_generator(self.d_cancer(fake_cancer))
            c2h_loss = objective + self.lsgan_generator(self.d_healthy(fake_healthy))
        h2c_grads = tape.gradient(h2c_loss, self.g_h2c.trainable_variables)
        c2h_grads = tape.gradient(c2h_loss, self.g_c2h.trainable_variables)
        self.adam["g_h2c"].apply_gradients(h2c_grads, self.g_h2c.trainable_variables, GENERATOR_LR)
        self.adam["g_c2h"].apply_gradients(c2h_grads, self.g_c2h.trainable_variables, GENERATOR_LR)
        healthy, cancer = discriminator_batch
        if discriminator_batch is not batch:
            fake_cancer, fake_healthy = self.g_h2c(healthy), self.g_c2h(cancer)
        with tf.GradientTape(persistent=True) as tape:
            cancer_loss = self.lsgan_discriminator(self.d_cancer(cancer), self.d_cancer(fake_cancer))
            healthy_loss = self.lsgan_discriminator(self.d_healthy(healthy), self.d_healthy(fake_healthy))
        cancer_grads = tape.gradient(cancer_loss, self.d_cancer.trainable_variables)
        healthy_grads = tape.gradient(healthy_loss, self.d_healthy.trainable_variables)
        self.adam["d_cancer"].apply_gradients(cancer_grads, self.d_cancer.trainable_variables, DISCRIMINATOR_LR)
        self.adam["d_healthy"].apply_gradients(healthy_grads, self.d_healthy.trainable_variables, DISCRIMINATOR_LR)

    def weights(self):
        return [np.asarray(v) for net in (self.g_h2c, self.g_c2h, self.d_healthy, self.d_cancer)
                for v in net.trainable_variables]


def _config(order, counter, experiment):
    return tiny_config(f"train.update_order={order}", f"train.adam_counter={counter}",
                       f"train.generator_lr={GENERATOR_LR}", f"train.discriminator_lr={DISCRIMINATOR_LR}",
                       "train.adam_epsilon=1e-6", "generator.conv_bias=unnormalised",
                       "discriminator.conv_bias=unnormalised",
                       experiment=experiment)


def _batches(config, count):
    rng = np.random.default_rng(7)
    shape = (count, 1, *config.image_shape)
    return [np.tanh(rng.normal(size=shape)).astype(np.float32) for _ in range(2)]


def _train_model(config):
    """(initial weights per network, weights after STEPS steps, the batches used)."""
    keras.utils.set_random_seed(1)
    model = CycleGAN(config)
    model.compile(run_eagerly=True)
    nets = (model.g_h2c, model.g_c2h, model.d_healthy, model.d_cancer)
    initial = [net.get_weights() for net in nets]
    per_step = update_order(config.train).batches_per_step
    healthy, cancer = _batches(config, STEPS * per_step)
    if per_step == 2:
        data = ((healthy[0::2], cancer[0::2]), (healthy[1::2], cancer[1::2]))
    else:
        data = (healthy, cancer)
    model.fit(tf.data.Dataset.from_tensor_slices(data), epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False)
    assert int(model.step) == STEPS
    trained = [np.asarray(v) for net in nets for v in net.trainable_variables]
    return initial, trained, (healthy, cancer)


def _reference(config, initial, batches, counter, order=None):
    reference = Reference(config, initial, counter)
    healthy, cancer = (tf.constant(x) for x in batches)
    order = order or config.train.update_order
    for step in range(STEPS):
        if order == "alternating":
            reference.alternating_step(healthy[step], cancer[step])
        elif order == "sequential":
            reference.two_run_step((healthy[2 * step], cancer[2 * step]), (healthy[2 * step + 1], cancer[2 * step + 1]))
        else:
            batch = (healthy[step], cancer[step])
            reference.two_run_step(batch, batch)
    return reference.weights()


def _largest_difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.mark.parametrize("order,counter,experiment,wrong", [
    # experiment 1: the shared counter (t = 4k-3 .. 4k) is not Keras' per-network one
    ("alternating", "per_update", "exp1", dict(counter="keras")),
    # experiment 2: the discriminators train on the next batch, not on the generators' batch. The
    # training script's networks: with exp2.json's spectral norm every call of a network runs a power
    # iteration, and the reference calls the discriminators once per input, the model once for both.
    ("sequential", "per_update", "exp2_script_defaults", dict(counter="tf1", order="joint")),
    # one apply for both networks of a phase, its counter the step number
    ("joint", "per_step", "exp1", dict(counter="tf1", order="alternating")),
])
def test_two_steps_match_the_reference(order, counter, experiment, wrong):
    config = _config(order, counter, experiment)
    initial, trained, batches = _train_model(config)
    expected = _reference(config, initial, batches, "tf1" if counter == "per_update" else "keras")
    assert _largest_difference(trained, expected) < TOLERANCE
    other = _reference(config, initial, batches, **wrong)
    assert _largest_difference(trained, other) > 20 * TOLERANCE  # the comparison can tell them apart


@pytest.mark.parametrize("order,counter,expected", [
    ("alternating", "per_update", {"optimizer": (("g_h2c", "d_cancer", "g_c2h", "d_healthy"),)}),
    ("alternating", "per_step", {f"{n}_optimizer": ((n,),) for n in ("g_h2c", "d_cancer", "g_c2h", "d_healthy")}),
    ("sequential", "per_update",
     {"g_optimizer": (("g_h2c",), ("g_c2h",)), "d_optimizer": (("d_cancer",), ("d_healthy",))}),
    ("joint", "per_step", {"g_optimizer": (("g_h2c", "g_c2h"),), "d_optimizer": (("d_cancer", "d_healthy"),)}),
])
def test_optimizers_and_their_turns(order, counter, expected):
    """Which optimizer updates which networks, and in how many turns (each turn one step of t)."""
    train = tiny_config(f"train.update_order={order}", f"train.adam_counter={counter}").train
    assert optimizer_turns(train) == expected


def test_alternating_logs_the_cycle_terms_of_g_h2c_s_pass():
    """g_c2h's pass recomputes the cycle terms after g_h2c's update; the logs keep g_h2c's, from the
    weights the step started with."""
    config = _config("alternating", "per_update", "exp1")
    keras.utils.set_random_seed(1)
    model = CycleGAN(config)
    healthy, cancer = (tf.constant(images[0]) for images in _batches(config, 1))

    def cycle_total():
        fake_cancer, cycled_healthy = model.translate(healthy, H2C, training=True)
        fake_healthy, cycled_cancer = model.translate(cancer, C2H, training=True)
        return float(losses.cycle_objective(config.loss, healthy, cancer, fake_cancer, fake_healthy,
                                            cycled_healthy, cycled_cancer)["cycle_total"])

    before = cycle_total()
    logged = float(model.train_step((healthy, cancer))["generators/cycle_total"])
    assert logged == pytest.approx(before, rel=1e-5)
    assert abs(cycle_total() - before) > 1e-3 * before  # the step's updates move it far beyond that tolerance


def _pool_draws(model, steps=8):
    """Every (coin, slot) seed the model's two pools draw from in its first `steps` steps."""
    draws = []
    for step in range(steps):
        model.step.assign(step)
        for seed in model._pool_seeds().values():
            draws += [tuple(seed.numpy()), tuple(seed.numpy() + 1)]
    return draws


def test_every_pool_draw_of_a_run_has_its_own_seed():
    """The pools draw their coin from a seed and their slot from seed + 1 (gan/pool.py); the two domains,
    the steps and the runs of a study's consecutive seeds must never share a draw, or the pools' choices
    would be correlated (batches of one image, the originals')."""
    config = tiny_config()
    draws = _pool_draws(CycleGAN(config))
    assert len(set(draws)) == len(draws) == 32
    next_seed = _pool_draws(CycleGAN(tiny_config(f"seed={config.seed + 1}")))
    assert not set(next_seed) & set(draws)


def test_the_table_of_orders_cannot_be_altered():
    """UPDATE_ORDERS is shared by every model and the FLOP count of a process; one run must not change it."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        UPDATE_ORDERS["joint"].batches_per_step = 2
