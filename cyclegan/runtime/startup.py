"""Starting TensorFlow without its start-up notices on stderr.

Importing TensorFlow 2.21 and enumerating its devices prints absl and CUDA notices that no log
level hides (e.g. "All log messages before absl::InitializeLog() …", "cudart_stub … Could not find
cuda drivers", "failed call to cuInit: … UNKNOWN ERROR (303)" on a machine without a GPU). They say
nothing a user can act on, so the commands start TensorFlow with stderr captured and write back
every line that is not one of them.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

START_UP_NOISE = re.compile(
    r"absl::InitializeLog|oneDNN custom operations are on|cudart_stub|Could not find cuda drivers|"
    r"failed call to cuInit|Unable to register cu(DNN|FFT|BLAS) factory|TF-TRT Warning|"
    r"computation placer already registered|This TensorFlow binary is optimized")


def start_tensorflow_quietly() -> None:
    """Import TensorFlow and list its physical devices with file descriptor 2 captured; write the
    captured lines back to stderr, leaving out START_UP_NOISE."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not START_UP_NOISE.search(line)))
