import numpy as np
import tensorflow as tf

from cyclegan.pool import HistoryPool


def _image(value):
    return tf.fill((1, 2, 2, 1), float(value))


def test_returns_inputs_until_full_then_swaps_about_half():
    pool = HistoryPool(5, (2, 2, 1), "pool")
    for i in range(5):
        out = pool.query(_image(i), tf.constant([1, i]))
        assert float(out[0, 0, 0, 0]) == i
    assert int(pool.count) == 5

    queries = 400
    swapped = 0
    for i in range(queries):
        value = 100 + i
        out = float(pool.query(_image(value), tf.constant([1, 1000 + i]))[0, 0, 0, 0])
        if out != value:
            swapped += 1
            assert out < value  # a stored, older image
    # Binomial(400, 0.5): mean 200, sd 10; 5 sd either side.
    assert 150 <= swapped <= 250
    stored = set(np.asarray(pool.images)[:, 0, 0, 0].tolist())
    assert len(stored) == 5


def test_same_seed_same_choices():
    def run():
        pool = HistoryPool(2, (2, 2, 1), "pool")
        return [float(pool.query(_image(i), tf.constant([3, i]))[0, 0, 0, 0]) for i in range(30)]
    assert run() == run()


def test_zero_size_passes_through():
    pool = HistoryPool(0, (2, 2, 1), "pool")
    batch = tf.random.normal((3, 2, 2, 1))
    np.testing.assert_array_equal(pool.query(batch, tf.constant([0, 0])), batch)
