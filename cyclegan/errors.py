"""Errors the command line turns into exit codes (kept free of TensorFlow imports)."""


class NonFiniteLossError(RuntimeError):
    """A loss term or weight became NaN or Inf; the message names the term and the step."""
