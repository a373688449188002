"""Adam with the bias-correction counter of TF1's `tf.train.AdamOptimizer` shared by several networks.

TF1's Adam keeps one beta1^t / beta2^t pair per optimizer instance and advances it after every
`apply_gradients` call, whichever variables that call updated. When one instance updates n
networks in turn, each with its own call, the network in turn i (0-based) sees
t = n * (k - 1) + i + 1 at its k-th update. Experiment 2's generator optimizer, for one, applies
h2c's update and then c2h's from the same gradients, so h2c sees t = 2k - 1 and c2h t = 2k.

`TurnTakingAdam` makes those n updates in one `apply` (so loss scaling and distribution
strategies see one update, computed from one set of gradients) and gives each variable the t of
its network's turn. With one turn it is Keras' Adam: t = `iterations` + 1. The update itself is
TF1's and Keras' (they agree):

    m <- m + (1 - beta_1) (g - m)        v <- v + (1 - beta_2) (g^2 - v)
    w <- w - lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)
"""

from __future__ import annotations

import keras
from keras import ops


class TurnTakingAdam(keras.optimizers.Adam):
    """Adam over networks that take turns within one `apply`; build it with `build_turns`."""

    def build_turns(self, turns: list[list]) -> None:
        """Build for the variables of `turns`: the variable lists one `apply` updates, in order."""
        self.turns = len(turns)
        self._turn_of_index = [turn for turn, variables in enumerate(turns) for _ in variables]
        self.build([variable for variables in turns for variable in variables])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = ops.cast(self.iterations * self.turns + self._turn_of_index[index] + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        rate = ops.cast(learning_rate, dtype) * ops.sqrt(1 - ops.power(beta_2, step)) / (1 - ops.power(beta_1, step))
        gradient = ops.cast(gradient, dtype)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, (gradient - m) * (1 - beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1 - beta_2))
        self.assign_sub(variable, rate * m / (ops.sqrt(v) + self.epsilon))
