"""Errors the command line turns into exit codes (kept free of TensorFlow imports)."""

import errno
import os

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class ConfigError(ValueError):
    """A config file, plan or override that cannot be used; the message says why."""


class NonFiniteLossError(RuntimeError):
    """A loss term or weight became NaN or Inf; the message names the term and the step."""


class DatasetError(ValueError):
    """A prepared dataset that cannot be read; the message names the file."""


class RunInUseError(ValueError):
    """Another process trains into the run folder; the message names its PID and host."""


class DiskFullError(RuntimeError):
    """A checkpoint did not fit on the disk; the message names the step kept to resume from."""


def is_disk_full(error: Exception) -> bool:
    """Whether `error` says the disk (or the user's quota) is full: an OSError with that errno, or
    a TensorFlow error whose message carries the system's text for it."""
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    return any(os.strerror(code) in str(error) for code in DISK_FULL_ERRNOS)
