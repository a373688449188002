"""Where a training step's time goes: TensorFlow profiler traces summed by op type.

`trace(directory, run)` records `run()` with the TensorFlow profiler (the trace TensorBoard's
Profile tab and Perfetto read, under directory/plugins/profile/<time>/*.xplane.pb);
`op_totals(directory)` reads the newest trace back and sums, per op type (Conv2DBackpropFilter,
FusedBatchNormV3, AddV2, ...), the time the TensorFlow executor threads spent in it and how many
times it ran; on a GPU, per kernel name instead. On a CPU several ops run at once, each on its own
executor thread, so the sum exceeds the wall time; the shares say where the work is.
"""

from __future__ import annotations

import collections
from pathlib import Path

import tensorflow as tf

EXECUTOR_THREADS = ("tf_Compute", "tf_inter_op")  # CPU executor thread names in the host plane
GPU_PLANE = "/device:GPU:"


def trace(directory: Path, run) -> None:
    """Record `run()` (e.g. a few training steps) with the TensorFlow profiler into `directory`."""
    tf.profiler.experimental.start(str(directory))
    try:
        run()
    finally:
        tf.profiler.experimental.stop()


def op_totals(directory: Path) -> dict[str, tuple[float, int]]:
    """Op type (kernel name on a GPU) -> (milliseconds spent in it, times it ran), from the newest
    trace under `directory`: the GPU planes where the trace has them, else the host's executor
    threads; most time first."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # TensorFlow's own trace format

    traces = sorted(Path(directory).glob("plugins/profile/*/*.xplane.pb"))
    if not traces:
        raise FileNotFoundError(f"no profiler trace (*.xplane.pb) under {directory}/plugins/profile")
    space = xplane_pb2.XSpace()
    space.ParseFromString(traces[-1].read_bytes())
    gpu_planes = [plane for plane in space.planes if plane.name.startswith(GPU_PLANE)]
    times: collections.Counter = collections.Counter()
    counts: collections.Counter = collections.Counter()
    for plane in gpu_planes or [plane for plane in space.planes if plane.name.startswith("/host:CPU")]:
        for line in plane.lines:
            if not gpu_planes and not line.name.startswith(EXECUTOR_THREADS):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if not gpu_planes and (":" not in name or "::" in name):
                    continue  # the executor's own events ("ExecutorState::Process"), not ops
                times[_op_type(name)] += event.duration_ps / 1e9
                counts[_op_type(name)] += 1
    return {op: (ms, counts[op]) for op, ms in times.most_common()}


def _op_type(name: str) -> str:
    """"scope/conv/Conv2D:_MklNativeConv2D" -> "Conv2D" (oneDNN's kernel prefixes dropped)."""
    op = name.rsplit(":", 1)[-1]
    for prefix in ("_MklNative", "_Mkl"):
        if op.startswith(prefix):
            return op[len(prefix):]
    return op
