"""What the onset study's small convolutions cost on this CPU, and whether stacking runs helps.

`python -m benchmarks.small_convs` prints two tables, every time the best of 9 calls of a
tf.function, with the project's CPU threads (cyclegan/runtime/threads.py; on 2 cores, 2 ops at
once with 1 thread each):
  per op    one 3x3 convolution's forward, kernel gradient and input gradient on (1, H, W, C)
            -> C, timed as a chain of 50 dependent ops (so one op at a time): microseconds per op and
            GFLOP/s; (1, 4, 4, 8) is the fixed cost of an op that does almost no work
  stacked   8 layers of 3x3 convolution + LeakyReLU, forward and both gradients, for S runs of
            one architecture: as S separate convolutions in one graph or as one grouped
            convolution over the runs' concatenated channels, each against one run alone
"""

from __future__ import annotations

import time

import tensorflow as tf

from cyclegan.runtime import threads

CHAIN = 50  # dependent ops per timed call
LAYERS = 8
PER_OP_SHAPES = ((4, 8), (64, 8), (32, 16), (16, 32), (128, 16))  # (H = W, C): the small and medium plans' layers
STACKED_SHAPES = ((64, 8), (32, 16), (16, 32), (128, 16), (64, 32))
RUNS = (3, 4, 8)


def best_ms(function, *args, calls: int = 9) -> float:
    """The fastest of `calls` calls of `function(*args)` (after one untimed), in milliseconds."""
    tf.nest.map_structure(lambda tensor: tensor.numpy(), function(*args))
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        tf.nest.map_structure(lambda tensor: tensor.numpy(), function(*args))
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def conv_chain(kind: str, size: int, channels: int):
    """(a tf.function, its arguments): CHAIN dependent ops of `kind` (forward, kernel, input) on
    (1, size, size, channels) with a 3x3 kernel."""
    strides = [1, 1, 1, 1]
    kernel_shape = [3, 3, channels, channels]

    @tf.function
    def chain(images, kernel, upstream):
        for _ in range(CHAIN):
            if kind == "forward":
                images = tf.nn.conv2d(images, kernel, 1, "SAME")
            elif kind == "kernel":
                kernel = tf.raw_ops.Conv2DBackpropFilter(input=images, filter_sizes=kernel_shape,
                                                         out_backprop=upstream, strides=strides, padding="SAME")
                images = images + kernel[0, 0, 0, 0]  # the next op depends on this one
            else:
                images = tf.raw_ops.Conv2DBackpropInput(input_sizes=[1, size, size, channels], filter=kernel,
                                                        out_backprop=images, strides=strides, padding="SAME")
        return images

    images, upstream = (tf.random.stateless_normal((1, size, size, channels), seed=[seed, 0]) for seed in (1, 2))
    return chain, (images, 0.1 * tf.random.stateless_normal(kernel_shape, seed=[3, 0]), upstream)


def stacked_steps(size: int, channels: int, runs: int):
    """(separate, grouped, images): two tf.functions computing, for `runs` runs of LAYERS 3x3
    convolution + LeakyReLU layers on (1, size, size, channels), the gradients of the summed outputs
    with respect to every kernel and input; `separate` takes a list of the runs' images, `grouped`
    their concatenation along channels. Both return [input gradients, kernel gradients by layer],
    each concatenated over the runs, so they are comparable."""
    images = [tf.random.stateless_normal((1, size, size, channels), seed=[run, 0]) for run in range(runs)]
    kernels = [[tf.Variable(0.2 * tf.random.stateless_normal((3, 3, channels, channels), seed=[run, layer + 1]))
                for layer in range(LAYERS)] for run in range(runs)]
    grouped_kernels = [tf.Variable(tf.concat([kernels[run][layer] for run in range(runs)], -1))
                       for layer in range(LAYERS)]

    def output_sum(features, layer_kernels):
        for kernel in layer_kernels:
            features = tf.nn.leaky_relu(tf.nn.conv2d(features, kernel, 1, "SAME"), 0.2)
        return tf.reduce_sum(features)

    @tf.function
    def separate(run_images):
        with tf.GradientTape() as tape:
            tape.watch(run_images)
            total = tf.add_n([output_sum(x, k) for x, k in zip(run_images, kernels)])
        image_grads, kernel_grads = tape.gradient(total, (run_images, kernels))
        return [tf.concat(image_grads, -1)] + [tf.concat([kernel_grads[run][layer] for run in range(runs)], -1)
                                               for layer in range(LAYERS)]

    @tf.function
    def grouped(stacked):
        with tf.GradientTape() as tape:
            tape.watch(stacked)
            total = output_sum(stacked, grouped_kernels)
        return tape.gradient(total, [stacked] + grouped_kernels)

    return separate, grouped, images


def per_op_lines() -> list[str]:
    lines = ["per op, one at a time: microseconds per op (GFLOP/s)"]
    for size, channels in PER_OP_SHAPES:
        flops = 2 * size * size * 9 * channels * channels
        cells = []
        for kind in ("forward", "kernel", "input"):
            chain, arguments = conv_chain(kind, size, channels)
            microseconds = 1e3 * best_ms(chain, *arguments) / CHAIN
            cells.append(f"{kind} {microseconds:6.1f} us ({flops / microseconds / 1e3:5.1f})")
        lines.append(f"  {size:3d} x {size:<3d} x {channels:2d}: " + ", ".join(cells))
    return lines


def stacked_lines() -> list[str]:
    lines = [f"stacked, {LAYERS} layers forward + gradients: ms per layer; per run against one run alone"]
    for size, channels in STACKED_SHAPES:
        separate, _, images = stacked_steps(size, channels, 1)
        alone = best_ms(separate, images) / LAYERS
        for runs in RUNS:
            separate, grouped, images = stacked_steps(size, channels, runs)
            apart = best_ms(separate, images) / LAYERS
            together = best_ms(grouped, tf.concat(images, -1)) / LAYERS
            lines.append(f"  {size:3d} x {size:<3d} x {channels:2d}, {runs} runs: one alone {alone:6.3f}, "
                         f"separate {apart:6.3f} ({runs * alone / apart:4.2f}x), "
                         f"grouped {together:6.3f} ({runs * alone / together:4.2f}x)")
    return lines


def main() -> None:
    threads.configure()
    counts = threads.describe()
    print(f"{counts['inter_op']} ops at once, {counts['intra_op']} thread(s) each", flush=True)
    for line in per_op_lines() + stacked_lines():
        print(line, flush=True)


if __name__ == "__main__":
    main()
