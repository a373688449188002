"""Run as a script: one CycleGAN step on one device (batch 2) and under MirroredStrategy on two
logical CPUs (batch 1 each), from the same weights; prints the largest weight difference as JSON.

The CPU must be split before TensorFlow initialises, hence a separate process. The optimizers
are swapped for plain SGD: Adam's step does not depend on the gradient's scale (and turns the
float noise of exactly-zero gradients, such as a bias before instance norm, into full steps), so
only SGD shows whether the replicas' gradients add up to the single device's.
"""

import json
import sys
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import tiny_config  # noqa: E402

import keras  # noqa: E402

from cyclegan.model import CycleGAN  # noqa: E402


def with_sgd(model: CycleGAN) -> CycleGAN:
    model.g_optimizer = keras.optimizers.SGD(0.5)
    model.d_optimizer = keras.optimizers.SGD(0.5)
    model.g_optimizer.build(model.generator_variables)
    model.d_optimizer.build(model.discriminator_variables)
    return model


def main():
    config = tiny_config("train.pool_size=0")
    rng = np.random.default_rng(0)
    healthy = np.tanh(rng.normal(size=(2, 32, 32, 1))).astype(np.float32)
    cancer = np.tanh(rng.normal(size=(2, 32, 32, 1))).astype(np.float32)
    data = tf.data.Dataset.from_tensors((healthy, cancer))

    single = with_sgd(CycleGAN(config))
    single.compile(jit_compile=False)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = with_sgd(CycleGAN(config))
        mirrored.compile(jit_compile=False)
        scaled_lrs = CycleGAN(tiny_config("train.scale_lr=true")).learning_rates()
    pairs = list(zip(single.generator_variables + single.discriminator_variables,
                     mirrored.generator_variables + mirrored.discriminator_variables))
    for source, target in pairs:
        target.assign(source)

    initial = [np.asarray(source) for source, _ in pairs]
    single_logs = single.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    mirrored_logs = mirrored.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    weight_difference = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in pairs)
    largest_update = max(float(np.max(np.abs(np.asarray(a) - b))) for (a, _), b in zip(pairs, initial))
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "max_weight_difference": weight_difference,
        "single_loss": single_logs["generators/total"][0],
        "mirrored_loss": mirrored_logs["generators/total"][0],
        "steps": [int(single.step.numpy()), int(mirrored.step.numpy())],
        "largest_update": largest_update,
        "scaled_lrs": scaled_lrs,
    }))


if __name__ == "__main__":
    main()
