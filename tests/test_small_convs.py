"""benchmarks/small_convs.py compares like with like: its stacked runs' two forms compute the same
gradients, and its per-op chains run the ops they are named for."""

import numpy as np
import tensorflow as tf

from benchmarks import small_convs


def test_grouped_and_separate_runs_compute_the_same_gradients():
    separate, grouped, images = small_convs.stacked_steps(8, 4, 3)
    apart, together = separate(images), grouped(tf.concat(images, -1))
    assert len(apart) == len(together) == 1 + small_convs.LAYERS
    for expected, actual in zip(apart, together):
        assert expected.shape == actual.shape
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    assert float(tf.reduce_max(tf.abs(apart[1]))) > 0


def test_each_chain_runs_its_op_on_the_given_shape():
    chain, (images, kernel, upstream) = small_convs.conv_chain("forward", 6, 2)
    expected = images
    for _ in range(small_convs.CHAIN):
        expected = tf.nn.conv2d(expected, kernel, 1, "SAME")
    np.testing.assert_allclose(chain(images, kernel, upstream).numpy(), expected.numpy(), rtol=1e-4, atol=1e-6)
    for kind in ("kernel", "input"):
        chain, arguments = small_convs.conv_chain(kind, 6, 2)
        graph = chain.get_concrete_function(*arguments).graph
        op = {"kernel": "Conv2DBackpropFilter", "input": "Conv2DBackpropInput"}[kind]
        ops = [node for node in graph.get_operations() if node.type == op]
        assert len(ops) == small_convs.CHAIN
        assert all(node.outputs[0].consumers() for node in ops)  # each feeds the next: one op at a time
