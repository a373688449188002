"""FLOPs of one CycleGAN training step, counted from the networks' layer shapes.

Counting rules (a multiply-add is 2 FLOPs):

- Only convolutions and transposed convolutions are counted. A convolution with output
  (H', W', C_out) and a k x k kernel over C_in channels costs 2 * H' * W' * k * k * C_in * C_out;
  a transposed convolution costs the same expression over its *input* grid (H, W), which is what
  its implementation (the input gradient of a convolution) computes. Zero taps of padded or
  strided windows count, as the kernels compute them. Instance norm, activations, paddings,
  resizes, biases, losses, spectral norm's power iteration, the pool and the optimizer updates
  are elementwise or tiny and are left out (about 1 % of the step's arithmetic at exp1's size);
  a layer of any other type is an error, so that a new one is not silently counted as 0.
- Backward, per layer: the kernel gradient and the input gradient each cost one forward.
  TensorFlow prunes the gradients a step does not use, so a pass costs its forward, + the
  kernel gradient if its network is being updated, + the input gradient of every layer whose
  input depends on a network being updated (a pass on real images, or on the translation of a
  network that is not being updated, skips its first layer's).
- Per `train.update_order` (see CycleGAN), with G / D one network's forward and g0 / d0 its
  first convolution:
    * joint: the generator update runs 4 generator passes, all updated (12G - 2g0: the two on
      real images need no first-layer input gradient), and 2 discriminator passes on the
      fakes, forward and input gradient (4D); the discriminator update runs 4 discriminator
      passes on real images and pooled fakes, forward, kernel and input gradient but the first
      layer's (4 x (3D - d0));
    * sequential: joint, plus 2 generator forwards that make the discriminators' fakes from
      the second batch (2G);
    * alternating: each generator update runs its own 4 generator passes: its network on the
      real image and on the other's translation (3G - g0 each), the other network on its
      translation (forward and input gradient, 2G) and on the real image (forward only, G),
      and 1 discriminator pass (2D); so 2 x (9G - 2g0 + 2D) for the two, plus the same
      4 x (3D - d0) for the discriminator updates.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from cyclegan.config import ExperimentConfig
from cyclegan.gan.update_orders import update_order
from cyclegan.nets.layers import Conv, InstanceNorm, LeakyReLU, ReflectionPad2D
from cyclegan.nets.networks import PatchDiscriminator, ResidualBlock, ResnetGenerator, build_networks

# The layers left out by the rules above (UpSampling2D: a x2 resize, elementwise).
UNCOUNTED = (InstanceNorm, ReflectionPad2D, layers.ZeroPadding2D, layers.UpSampling2D, LeakyReLU, layers.ReLU,
             layers.Identity)


@dataclass(frozen=True)
class ConvCost:
    """One convolution of a network: its forward FLOPs per image and its input shape (H, W, C)."""

    name: str
    input_shape: tuple[int, int, int]
    flops: int


def conv_flops(layer: Conv, input_shape: tuple[int, int, int]) -> int:
    """Forward FLOPs of `layer` on one image of shape (H, W, C_in)."""
    height, width, in_channels = input_shape
    if layer.transpose:
        grid = height * width
    else:
        _, out_height, out_width, _ = layer.compute_output_shape((1, height, width, in_channels))
        grid = out_height * out_width
    return 2 * grid * layer.kernel_size ** 2 * in_channels * layer.filters


def conv_costs(network: keras.Layer, input_shape: tuple[int, int, int]) -> list[ConvCost]:
    """Every convolution `network` applies to one (H, W, C) input, in call order."""
    costs: list[ConvCost] = []
    _walk(network, (1, *input_shape), costs)
    return costs


def _walk(layer: keras.Layer, shape: tuple, costs: list[ConvCost]) -> tuple:
    """Follow `layer`'s call order from a (1, H, W, C) input, recording convolutions; returns the output shape."""
    if isinstance(layer, Conv):
        costs.append(ConvCost(layer.path, tuple(shape[1:]), conv_flops(layer, tuple(shape[1:]))))
        return layer.compute_output_shape(shape)
    if isinstance(layer, ResnetGenerator):
        parts = (layer.encoder, layer.residual_blocks, layer.decoder, layer.head)
    elif isinstance(layer, PatchDiscriminator):
        parts = (layer.body,)
    elif isinstance(layer, keras.Sequential):
        parts = tuple(layer.layers)
    elif isinstance(layer, ResidualBlock):
        _walk(layer.body, shape, costs)  # block + input: the shape is kept
        return shape
    elif isinstance(layer, UNCOUNTED):
        return tuple(layer.compute_output_shape(shape))
    else:
        raise TypeError(f"no FLOP rule for layer {layer.name!r} of type {type(layer).__name__}; "
                        "count it in flops.py (or add it to UNCOUNTED)")
    for part in parts:
        shape = _walk(part, shape, costs)
    return shape


def train_step_flops(config: ExperimentConfig, networks=None) -> dict[str, int]:
    """FLOPs of one training step per image pair of the global batch, by the rules above.

    `networks` are (g_h2c, g_c2h, d_healthy, d_cancer) as built by `build_networks(config)`
    (built here when not given). Returns generator_forward, discriminator_forward (one pass on
    one image each) and step (everything one step of `train.update_order` computes for one
    healthy + cancer pair; the sequential order's second pair is in it).
    """
    generator, _, discriminator, _ = networks or build_networks(config)
    g_costs = conv_costs(generator, config.image_shape)
    d_costs = conv_costs(discriminator, config.image_shape)
    g, g0 = sum(cost.flops for cost in g_costs), g_costs[0].flops
    d, d0 = sum(cost.flops for cost in d_costs), d_costs[0].flops
    discriminator_updates = 4 * (3 * d - d0)
    order = update_order(config.train)
    if order.generator_passes == 2:
        generator_updates = 2 * (9 * g - 2 * g0 + 2 * d)
    else:
        generator_updates = 12 * g - 2 * g0 + 4 * d + (2 * g if order.batches_per_step == 2 else 0)
    return {"generator_forward": g, "discriminator_forward": d, "step": generator_updates + discriminator_updates}
