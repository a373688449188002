"""History pool of generated images (Shrivastava et al.), held in TF variables.

The pool lives in graph state so a whole training step stays one compiled function and the
pool is saved in checkpoints. Under a distribution strategy each replica keeps its own pool
(sync-on-read variables); checkpoints hold the first replica's.
"""

from __future__ import annotations

import tensorflow as tf


class HistoryPool(tf.Module):
    """Up to `size` images of shape `image_shape` (H, W, C).

    `query(images, seed)`: until the pool is full, store each new image and return it; once
    full, with probability 0.5 return a random stored image and store the new one in its
    place, else return the new image. `size` 0 returns the inputs unchanged.
    """

    def __init__(self, size: int, image_shape: tuple[int, int, int], name: str):
        super().__init__(name=name)
        self.size = size
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
            self.images.scatter_nd_update([[self.count]], image[None])
            self.count.assign_add(1)
            return image

        def maybe_swap():
            swap = tf.random.stateless_uniform((), seed) > 0.5
            index = tf.random.stateless_uniform((), seed + 1, 0, self.size, dtype=tf.int32)

            def swap_out():
                old = tf.identity(self.images[index])
                with tf.control_dependencies([old]):
                    self.images.scatter_nd_update([[index]], image[None])
                return old

            return tf.cond(swap, swap_out, lambda: image)

        return tf.cond(self.count < self.size, store_new, maybe_swap)
