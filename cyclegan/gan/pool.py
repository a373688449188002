"""History pools of generated images (Shrivastava et al.), held in TF variables.

The pool lives in graph state so a whole training step stays one compiled function and the
pool is saved in checkpoints. Under a distribution strategy each replica keeps its own pool
(sync-on-read variables); checkpoints hold the first replica's.

Three rules (`train.pool_mode`); all store and return each new image until the pool holds `size`:
- "cyclegan" (experiment 1's rule as written: `CycleGan.fake_image_pool`, lines 388-406 of
  models/breast_cycle_gan_graph.py in BreastGAN/experiment1): once full, with probability 0.5
  return a random stored image and store the new one in its place, else return the new image
  without storing it.
- "aliased" (experiment 1's pool as it ran, the same function): the original's pool is a NumPy
  array `np.zeros((pool_size, 1, 256, 256, 1))` (lines 269-272), one (1, 256, 256, 1) fake per row.
  Once full, with `random.random() > 0.5` it takes `random_id = random.randint(0, pool_size - 1)`,
  `temp = fake_pool[random_id]`, `fake_pool[random_id] = fake`, `return temp` (lines 399-404).
  `temp` is a view of that row, which the next line overwrites, so it already holds the new fake:
  the discriminators only ever judged the current step's fake. This rule stores exactly as the
  original did (with probability 0.5 the new image overwrites a uniformly random slot) and always
  returns the new image; it is named after that aliasing. Its draws are the "cyclegan" rule's:
  the two store at the same slots.
- "tfgan" (experiment 2, TF-GAN's `tensor_pool`): once full, every query takes a random stored
  image out and stores the new one in its place; it returns the one taken out with probability
  0.5, else the new one.
The original fills its pool at `num_fake_inputs`, which advances once a step after both domains'
pools are queried (lines 408-454); each pool here counts its own queries, one a step at batch 1.
TF-GAN pools a whole batch as one entry; these pools hold single images, which is the same at
the originals' batch size of 1.
"""

from __future__ import annotations

import tensorflow as tf

from cyclegan.config import CHOICES

POOL_MODES = CHOICES["train.pool_mode"]  # the rules query() branches on


class HistoryPool(tf.Module):
    """Up to `size` images of shape `image_shape` (H, W, C), queried by `mode`'s rule.

    `size` 0 returns the inputs unchanged.
    """

    def __init__(self, size: int, image_shape: tuple[int, int, int], name: str, mode: str = "cyclegan"):
        super().__init__(name=name)
        if mode not in POOL_MODES:
            raise ValueError(f"pool mode must be one of {', '.join(POOL_MODES)}; got {mode!r}")
        self.size = size
        self.mode = mode
        per_replica = dict(synchronization=tf.VariableSynchronization.ON_READ,
                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA, trainable=False)
        self.images = tf.Variable(tf.zeros((max(size, 1),) + tuple(image_shape)), name="images", **per_replica)
        self.count = tf.Variable(tf.constant(0, tf.int32), name="count", **per_replica)

    def query(self, images, seed):
        """images: (B, H, W, C) float; seed: int32 tensor of shape (2,) for stateless draws.

        Returns a (B, H, W, C) tensor of the images the discriminator should see.
        """
        if self.size == 0:
            return images
        images = tf.cast(images, self.images.dtype)
        chosen = []
        for i in range(images.shape[0]):
            draw_seed = seed + tf.constant([0, 7919], tf.int32) * i
            chosen.append(self._query_one(images[i], draw_seed))
        return tf.stack(chosen)

    def _query_one(self, image, seed):
        def store_new():
            self._put(self.count, image)
            self.count.assign_add(1)
            return image

        def replace_random():
            index = tf.random.stateless_uniform((), seed + 1, 0, self.size, dtype=tf.int32)
            old = tf.gather(self.images, index)  # not images[index]: XLA would compile a slice per index
            with tf.control_dependencies([old]):
                self._put(index, image)
            return old

        def store_at_random():
            self._put(tf.random.stateless_uniform((), seed + 1, 0, self.size, dtype=tf.int32), image)
            return image

        def full():
            coin = tf.random.stateless_uniform((), seed) < 0.5  # the original's random.random() > 0.5
            if self.mode == "cyclegan":
                return tf.cond(coin, replace_random, lambda: image)
            if self.mode == "aliased":
                return tf.cond(coin, store_at_random, lambda: image)
            old = replace_random()
            return tf.where(coin, old, image)

        return tf.cond(self.count < self.size, store_new, full)

    def _put(self, index, image):
        """Store `image` at `index`: a whole-variable assign, which sync-on-read variables support
        in a replica context (their scatter updates are not implemented there)."""
        self.images.assign(tf.tensor_scatter_nd_update(self.images, [[index]], image[None]))

