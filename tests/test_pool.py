import json
import random

import numpy as np
import pytest
import tensorflow as tf

from cyclegan.gan.pool import HistoryPool


def _image(value):
    return tf.fill((1, 2, 2, 1), float(value))


def _from_config(mode: str) -> str:
    """The mode as a config file gives it: an equal string, not the literal itself."""
    return json.loads(json.dumps({"pool_mode": mode}))["pool_mode"]


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


@pytest.mark.parametrize("mode", ["cyclegan", "aliased", "tfgan"])
def test_every_slot_of_a_full_pool_is_replaced_in_time(mode):
    pool = HistoryPool(3, (2, 2, 1), "pool", mode)
    for i in range(3):
        pool.query(_image(i), tf.constant([5, i]))
    for i in range(60):  # a slot survives 60 queries with probability (5/6)^60 < 2e-5 (cyclegan, aliased)
        pool.query(_image(100 + i), tf.constant([5, 100 + i]))
    assert min(_stored(pool)) >= 100, "a slot still holds an image from the fill"


def test_same_seed_same_choices():
    def run():
        pool = HistoryPool(2, (2, 2, 1), "pool")
        return [float(pool.query(_image(i), tf.constant([3, i]))[0, 0, 0, 0]) for i in range(30)]
    assert run() == run()


def test_a_batch_is_pooled_image_by_image_and_the_pool_is_never_trained():
    pool = HistoryPool(4, (2, 2, 1), "pool", mode=_from_config("tfgan"))
    first = tf.concat([_image(value) for value in (1, 2, 3)], axis=0)
    np.testing.assert_array_equal(pool.query(first, tf.constant([6, 0])), first)  # filling: each image back
    assert int(pool.count) == 3 and _stored(pool)[1:] == [1, 2, 3]
    second = tf.concat([_image(value) for value in (4, 5, 6)], axis=0)
    out = pool.query(second, tf.constant([6, 1])).numpy()[:, 0, 0, 0]
    assert out.shape == (3,) and out[0] == 4 and int(pool.count) == 4  # the fourth image fills the last slot
    assert 6 in _stored(pool)  # the tfgan rule stores every image of a full pool
    assert pool.trainable_variables == () and len(pool.variables) == 2
    assert [HistoryPool(size, (2, 2, 1), "pool").images.shape[0] for size in (1, 3)] == [1, 3]  # a slot per image


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
    pool = HistoryPool(5, (2, 2, 1), "pool", mode=_from_config("cyclegan"))
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


# Experiment 1's pool as it ran: BreastGAN/experiment1, models/breast_cycle_gan_graph.py.

POOL_SIZE = 50
ORIGINAL_SHAPE = (1, 4, 4, 1)  # one (batch 1, H, W, 1) fake per row of the (pool_size, 1, H, W, 1) array


def original_fake_image_pool(num_fakes, fake, fake_pool, random=random):
    """`CycleGan.fake_image_pool` (lines 388-406) as written, `FLAGS.model.optimization.pool_size`
    being POOL_SIZE and `random` the module it draws from (lines 399-404 use random.random() and
    random.randint). `fake_pool` is a NumPy array np.zeros((pool_size, 1, H, W, 1)) (lines 269-272)."""
    if num_fakes < POOL_SIZE:
        fake_pool[num_fakes] = fake
        return fake
    else:
        p = random.random()
        if p > 0.5:
            random_id = random.randint(0, POOL_SIZE - 1)
            temp = fake_pool[random_id]
            fake_pool[random_id] = fake
            return temp
        else:
            return fake


def _fake(step):
    """The fake of `step`: every pixel a different value, no two steps alike."""
    return (1000.0 * (step + 1) + np.arange(np.prod(ORIGINAL_SHAPE))).reshape(ORIGINAL_SHAPE).astype(np.float32)


def _run_original(queries, rng, pool_function=original_fake_image_pool):
    """Fill a pool of POOL_SIZE, then query it `queries` times as train_batch does (num_fake_inputs
    advancing once a query); returns (how many queries took the swap branch, i.e. changed a row,
    and how many returned an old fake)."""
    fake_pool = np.zeros((POOL_SIZE,) + ORIGINAL_SHAPE)
    for step in range(POOL_SIZE):
        pool_function(step, _fake(step), fake_pool, rng)
    swaps = returned_old = 0
    for step in range(POOL_SIZE, POOL_SIZE + queries):
        fake = _fake(step)
        before = fake_pool.copy()
        returned = pool_function(step, fake, fake_pool, rng)
        changed = [i for i in range(POOL_SIZE) if not np.array_equal(before[i], fake_pool[i])]
        swaps += len(changed) == 1
        returned_old += not np.array_equal(returned, fake)
    return swaps, returned_old


def _copied_fake_image_pool(num_fakes, fake, fake_pool, random=random):
    """The same function with `temp` a copy of the row: the rule as its docstring means it (the
    `cyclegan` mode)."""
    if num_fakes < POOL_SIZE:
        fake_pool[num_fakes] = fake
        return fake
    if random.random() > 0.5:
        random_id = random.randint(0, POOL_SIZE - 1)
        temp = fake_pool[random_id].copy()
        fake_pool[random_id] = fake
        return temp
    return fake


def test_the_original_pool_swaps_half_the_time_and_never_returns_an_old_fake():
    """`temp = fake_pool[random_id]` is a view of the row the next line overwrites: the swap
    branch returns the new fake. A copy would have returned an old fake on every swap."""
    swaps, returned_old = _run_original(350, random.Random(1811))
    assert 128 <= swaps <= 222  # Binomial(350, 0.5): mean 175, sd 9.4; 5 sd either side
    assert returned_old == 0
    swaps_copied, returned_old_copied = _run_original(350, random.Random(1811), _copied_fake_image_pool)
    assert swaps_copied == swaps and returned_old_copied == swaps


class PoolDraws:
    """Stands in for the `random` module in the original's function: random() and randint() return
    what HistoryPool draws for a query with `seed` (pool.py: the coin from `seed`, the slot from
    `seed + 1`), so the two make the same choices. random() gives 1 - u, which exceeds 0.5 exactly
    when the pool's u < 0.5."""

    def __init__(self, seed):
        self.seed = seed
        self.calls = []

    def random(self):
        self.calls.append("random")
        return 1.0 - float(tf.random.stateless_uniform((), self.seed))

    def randint(self, a, b):
        self.calls.append("randint")
        assert (a, b) == (0, POOL_SIZE - 1)
        return int(tf.random.stateless_uniform((), self.seed + 1, 0, POOL_SIZE, dtype=tf.int32))


def test_the_aliased_mode_is_the_original_query_for_query():
    pool = HistoryPool(POOL_SIZE, ORIGINAL_SHAPE[1:], "pool", mode=_from_config("aliased"))
    fake_pool = np.zeros((POOL_SIZE,) + ORIGINAL_SHAPE)
    swaps = 0
    for step in range(POOL_SIZE + 350):
        seed = tf.constant([42, step], tf.int32)
        draws = PoolDraws(seed)
        fake = _fake(step)
        expected = original_fake_image_pool(step, fake, fake_pool, draws)
        returned = pool.query(tf.constant(fake), seed).numpy()
        np.testing.assert_array_equal(returned, expected, err_msg=f"query {step}: the returned image")
        np.testing.assert_array_equal(pool.images.numpy(), fake_pool[:, 0], err_msg=f"query {step}: the pool")
        assert draws.calls in ([[]] if step < POOL_SIZE else (["random"], ["random", "randint"]))
        swaps += draws.calls == ["random", "randint"]
    assert int(pool.count) == POOL_SIZE
    assert 128 <= swaps <= 222  # the comparison covered both branches, each about half the time


def test_the_aliased_and_cyclegan_modes_store_alike_and_differ_in_what_they_return():
    aliased = HistoryPool(5, (2, 2, 1), "aliased", mode="aliased")
    cyclegan = HistoryPool(5, (2, 2, 1), "cyclegan", mode="cyclegan")
    returned_old = 0
    for i in range(200):
        seed = tf.constant([6, i])
        out_aliased = float(aliased.query(_image(i), seed)[0, 0, 0, 0])
        out_cyclegan = float(cyclegan.query(_image(i), seed)[0, 0, 0, 0])
        assert out_aliased == i
        returned_old += out_cyclegan != i
        np.testing.assert_array_equal(aliased.images.numpy(), cyclegan.images.numpy())
    assert 50 <= returned_old <= 150  # Binomial(195, 0.5): 7 sd either side


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="tfgan"):
        HistoryPool(5, (2, 2, 1), "pool", mode="fifo")


@pytest.mark.parametrize("mode", ["cyclegan", "aliased", "tfgan"])
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
from cyclegan.gan.pool import HistoryPool

pool = HistoryPool(4, (6, 6, 1), "pool", sys.argv[1])
query = tf.function(pool.query, jit_compile=True)
for step in range(24):
    query(tf.fill((1, 6, 6, 1), float(step)), tf.constant([7, step], tf.int32))
print(int(pool.count.numpy()))
"""


@pytest.mark.parametrize("mode", ["cyclegan", *(pytest.param(mode, marks=pytest.mark.slow)
                                                 for mode in ("aliased", "tfgan"))])
def test_a_pool_compiled_by_xla_compiles_once(mode, tmp_path):
    """XLA compiles one executable for every fill level and random index (an index used as a
    slice bound would be a compile-time constant: a new executable for each value). Every mode
    stores at a random slot through the same `_put`; the fast suite runs one."""
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
