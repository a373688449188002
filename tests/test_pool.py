import numpy as np
import pytest
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


def _stored(pool):
    return sorted(np.asarray(pool.images)[:, 0, 0, 0].tolist())


def test_tfgan_rule_stores_every_new_image_and_returns_the_one_taken_out_half_the_time():
    pool = HistoryPool(5, (2, 2, 1), "pool", mode="tfgan")
    for i in range(5):
        assert float(pool.query(_image(i), tf.constant([2, i]))[0, 0, 0, 0]) == i
    returned_old = 0
    for i in range(400):
        value = 100 + i
        before = _stored(pool)
        out = float(pool.query(_image(value), tf.constant([2, 1000 + i]))[0, 0, 0, 0])
        after = _stored(pool)
        assert value in after and len(after) == 5
        removed = sorted(set(before) - set(after))
        assert len(removed) == 1  # one stored image taken out for the new one, whatever is returned
        if out != value:
            returned_old += 1
            assert out == removed[0]
    assert 150 <= returned_old <= 250  # Binomial(400, 0.5): 5 sd either side


def test_cyclegan_rule_stores_a_new_image_only_when_it_returns_an_old_one():
    pool = HistoryPool(5, (2, 2, 1), "pool", mode="cyclegan")
    for i in range(5):
        pool.query(_image(i), tf.constant([4, i]))
    kept = 0
    for i in range(200):
        value = 100 + i
        before = _stored(pool)
        out = float(pool.query(_image(value), tf.constant([4, 1000 + i]))[0, 0, 0, 0])
        if out == value:
            kept += 1
            assert _stored(pool) == before
        else:
            assert value in _stored(pool) and out in before and out not in _stored(pool)
    assert 50 <= kept <= 150


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="tfgan"):
        HistoryPool(5, (2, 2, 1), "pool", mode="fifo")


@pytest.mark.parametrize("mode", ["cyclegan", "tfgan"])
def test_a_pool_works_inside_a_mirrored_replica(mode):
    """Sync-on-read variables have no scatter updates in a replica context; the pool must not need them."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        pool = HistoryPool(2, (2, 2, 1), "pool", mode=mode)

    @tf.function
    def query(value, seed):
        return strategy.run(pool.query, args=(_image(value), seed))

    returned = [float(strategy.experimental_local_results(query(float(i), tf.constant([3, i])))[0][0, 0, 0, 0])
                for i in range(6)]
    assert returned[:2] == [0.0, 1.0] and int(pool.count.read_value()) == 2
    stored = set(np.asarray(pool.images.read_value())[:, 0, 0, 0].tolist())
    assert len(stored) == 2 and stored <= set(range(6))


XLA_QUERIES = """
import sys
import tensorflow as tf
from cyclegan.pool import HistoryPool

pool = HistoryPool(4, (6, 6, 1), "pool", sys.argv[1])
query = tf.function(pool.query, jit_compile=True)
for step in range(24):
    query(tf.fill((1, 6, 6, 1), float(step)), tf.constant([7, step], tf.int32))
print(int(pool.count.numpy()))
"""


@pytest.mark.parametrize("mode", ["cyclegan", pytest.param("tfgan", marks=pytest.mark.slow)])
def test_a_pool_compiled_by_xla_compiles_once(mode, tmp_path):
    """XLA compiles one executable for every fill level and random index (an index used as a
    slice bound would be a compile-time constant: a new executable for each value). Both modes
    replace through the same code; the fast suite runs one."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cache = tmp_path / "xla"
    env = {**os.environ, "TF_XLA_FLAGS": f"--tf_xla_persistent_cache_directory={cache}"}
    done = subprocess.run([sys.executable, "-c", XLA_QUERIES, mode], env=env, capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "4"  # filled, then 20 queries on a full pool
    assert len([path for path in cache.rglob("*") if path.is_file()]) == 1
