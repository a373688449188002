"""FLOP counting refuses a layer it has no rule for (the counts themselves: test_bench.py)."""

import keras
import pytest

from cyclegan.nets.layers import Conv
from cyclegan.perf.flops import conv_costs


def test_an_unknown_layer_is_an_error_not_zero_flops():
    network = keras.Sequential([Conv(4, 3, padding="same"), keras.layers.Dense(4, name="dense")])
    with pytest.raises(TypeError, match="no FLOP rule for layer 'dense' of type Dense"):
        conv_costs(network, (8, 8, 1))


def test_known_layers_count_only_their_convolutions():
    network = keras.Sequential([keras.layers.ZeroPadding2D(1), Conv(4, 3), keras.layers.ReLU()])
    [cost] = conv_costs(network, (8, 8, 1))
    assert cost.input_shape == (10, 10, 1) and cost.flops == 2 * 8 * 8 * 3 * 3 * 1 * 4
